// transpose: swaps the two outer axes, x [rows, cols, inner] to
// y [cols, rows, inner]:
//   y[(j * rows + i) * inner + t] = x[(i * cols + j) * inner + t].
// Copies the float bits, so every value (NaN payloads too) moves unchanged.
//
// Bindings (group 0):
//   0  uniform               params  Params { rows, cols, inner, n = rows *
//                                    cols * inner }, 16 bytes
//   1  storage, read         x       array<u32>, the bits of n float32
//   2  storage, read_write   y       array<u32>, n elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one element
//   of y each (consecutive invocations write consecutive elements).
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups folded into a 2-D grid (the
//   host's GRID_WIDTH per row); the element is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  rows: u32,
  cols: u32,
  inner: u32,
  n: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let o = (wid.y * groups.x + wid.x) * WORKGROUP_SIZE + lid;
  if (o >= params.n) {
    return;
  }
  let t = o % params.inner;
  let q = o / params.inner; // j * rows + i
  let i = q % params.rows;
  let j = q / params.rows;
  y[o] = x[(i * params.cols + j) * params.inner + t];
}
