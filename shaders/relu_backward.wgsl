// relu_backward: dx[i] = x[i] > 0 ? dy[i] : 0 (NaN and -0 in x give +0);
// dx may be dy (or x). Works on the float bits, so dy passes through exactly.
//
// Bindings (group 0):
//   0  uniform               params  Params { n }, 16 bytes
//   1  storage, read_write   x       array<vec4u>, the bits of n float32 then
//                                    padding (the host rounds buffers up to 16
//                                    bytes); read only, read_write so that dx
//                                    may be x
//   2  storage, read_write   dy      array<vec4u>, n elements then padding;
//                                    read only, read_write so that dx may be dy
//   3  storage, read_write   dx      array<vec4u>, n elements then padding,
//                                    which gets whatever the rule gives there
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
@group(0) @binding(2) var<storage, read_write> dy: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4u>;

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
  // Positive, nonzero and not NaN is the bit range [1, 0x7f800000].
  let positive = x[j] - vec4u(1u) < vec4u(0x7f800000u);
  dx[j] = select(vec4u(0u), dy[j], positive);
}
