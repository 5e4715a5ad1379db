// avgpool_backward: dx[p, i] = inv_area * the sum of dy[p, w] over the windows
// w that contain cell i (0 for a cell in none), overwriting dx (geometry as in
// avgpool_forward.wgsl, inv_area = 1 / kernel^2). A gather: each cell visits
// the windows that contain it, in row-major window order.
//
// Bindings (group 0):
//   0  uniform               params  Params { planes, height, width, kernel,
//                                    stride, padding, n = planes * height *
//                                    width, out_h, out_w, inv_area }, 48 bytes
//   1  storage, read         dy      array<f32>, planes * out_h * out_w elements
//   2  storage, read_write   dx      array<f32>, n elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one cell of
//   dx each.
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups folded into a 2-D grid (the
//   host's GRID_WIDTH per row); the cell is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
  kernel: u32,
  stride: u32,
  padding: u32,
  n: u32,
  out_h: u32,
  out_w: u32,
  inv_area: f32,
  _pad0: u32,
  _pad1: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

// The windows along one axis that contain input position i: those o with
// o * stride - padding <= i < o * stride - padding + kernel, as [first, last)
// clipped to [0, out).
fn window_range(i: u32, out: u32) -> vec2u {
  let reach = i + params.padding; // o * stride <= reach
  var first = 0u;
  if (reach >= params.kernel) {
    first = (reach - params.kernel) / params.stride + 1u;
  }
  let last = min(reach / params.stride + 1u, out);
  return vec2u(first, max(first, last));
}

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
  let cell = i % (params.height * params.width);
  let p = i / (params.height * params.width);
  let out_plane = p * params.out_h * params.out_w;
  let rows = window_range(cell / params.width, params.out_h);
  let cols = window_range(cell % params.width, params.out_w);
  var sum = 0.0;
  for (var oy = rows.x; oy < rows.y; oy++) {
    let start = out_plane + oy * params.out_w;
    for (var ox = cols.x; ox < cols.y; ox++) {
      sum += dy[start + ox];
    }
  }
  dx[i] = sum * params.inv_area;
}
