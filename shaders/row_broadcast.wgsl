// row_broadcast: dx[r * cols + c] = alpha * dy[r].
//
// Bindings (group 0):
//   0  uniform               params  Params { rows, cols, alpha, n = rows *
//                                    cols }, 16 bytes
//   1  storage, read         dy      array<f32>, rows elements
//   2  storage, read_write   dx      array<f32>, n elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one element
//   of dx each.
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups folded into a 2-D grid (the
//   host's GRID_WIDTH per row); the element is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  rows: u32,
  cols: u32,
  alpha: f32,
  n: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * groups.x + wid.x) * WORKGROUP_SIZE + lid;
  if (i >= params.n) {
    return;
  }
  dx[i] = params.alpha * dy[i / params.cols];
}
