// maxpool_backward: dx[p, i] = the sum of dy[p, w] over the windows w whose
// argmax is i, overwriting dx (geometry as in maxpool_forward.wgsl).
// A gather: each cell visits the windows that contain it, in row-major window
// order, plus (for cell 0, when padding >= kernel) the windows wholly in the
// padding, whose argmax maxpool_forward sets to 0. So argmax must be as
// maxpool_forward writes it: an index inside its window.
//
// Bindings (group 0):
//   0  uniform               params  Params { planes, height, width, kernel,
//                                    stride, padding, n = planes * height *
//                                    width, out_h, out_w }, 48 bytes
//   1  storage, read         dy      array<f32>, planes * out_h * out_w elements
//   2  storage, read         argmax  array<u32>, planes * out_h * out_w elements
//   3  storage, read_write   dx      array<f32>, n elements
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
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

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

// Whether window o along an axis of `size` cells lies wholly in the padding.
fn outside(o: u32, size: u32) -> bool {
  let start = o * params.stride; // in padded coordinates
  return start + params.kernel <= params.padding ||
    start >= params.padding + size;
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
  let ix = cell % params.width;
  let iy = cell / params.width;
  let out_plane = p * params.out_h * params.out_w;
  let rows = window_range(iy, params.out_h);
  let cols = window_range(ix, params.out_w);
  var sum = 0.0;
  if (cell == 0u && params.padding >= params.kernel) {
    // Every window in row-major order: those wholly in the padding (argmax
    // 0) as well as those that contain cell 0.
    for (var oy = 0u; oy < params.out_h; oy++) {
      for (var ox = 0u; ox < params.out_w; ox++) {
        let w = out_plane + oy * params.out_w + ox;
        let empty = outside(oy, params.height) || outside(ox, params.width);
        let contains = oy >= rows.x && oy < rows.y && ox >= cols.x &&
          ox < cols.y;
        if ((empty || contains) && argmax[w] == 0u) {
          sum += dy[w];
        }
      }
    }
  } else {
    for (var oy = rows.x; oy < rows.y; oy++) {
      for (var ox = cols.x; ox < cols.y; ox++) {
        let w = out_plane + oy * params.out_w + ox;
        if (argmax[w] == cell) {
          sum += dy[w];
        }
      }
    }
  }
  dx[i] = sum;
}
