// relu: y[i] = x[i] > 0 ? x[i] : 0, where NaN and -0 give +0; y may be x.
// Works on the float bits, so positive values (subnormals included) pass
// through unchanged whatever the GPU does with denormals in arithmetic.
//
// Bindings (group 0):
//   0  uniform               params  Params { n }, 16 bytes
//   1  storage, read_write   x       array<vec4u>, the bits of n float32 then
//                                    padding (the host rounds buffers up to 16
//                                    bytes); read only, read_write so that y
//                                    may be x
//   2  storage, read_write   y       array<vec4u>, n elements then padding,
//                                    which gets the relu of x's padding
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), 4
//   consecutive elements (one vec4) each.
// Dispatch: ceil(n / (4 * WORKGROUP_SIZE)) workgroups folded into a 2-D grid
//   (the host's GRID_WIDTH per row); the vec4 index is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<vec4u>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4u>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let j = (wid.y * groups.x + wid.x) * WORKGROUP_SIZE + lid;
  if (4u * j >= params.n) {
    return;
  }
  let bits = x[j];
  // Positive, nonzero and not NaN is the bit range [1, 0x7f800000].
  let positive = bits - vec4u(1u) < vec4u(0x7f800000u);
  y[j] = select(vec4u(0u), bits, positive);
}
