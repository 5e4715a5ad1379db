// avgpool_forward: average pooling of `planes` images of height x width,
// windows kernel x kernel every stride, padding cells of 0 around;
//   y[p, oy, ox] = inv_area * the sum of the window's cells in the image,
// with inv_area = 1 / kernel^2 (padding cells count in the divisor). A window
// wholly in the padding gives 0.
//
// Bindings (group 0):
//   0  uniform               params  Params { planes, height, width, kernel,
//                                    stride, padding, n = planes * out_h *
//                                    out_w, out_h, out_w, inv_area }, 48 bytes
//   1  storage, read         x       array<f32>, planes * height * width
//                                    elements
//   2  storage, read_write   y       array<f32>, n elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one window
//   (output element) each.
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups folded into a 2-D grid (the
//   host's GRID_WIDTH per row); the output element is
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
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// The cells [first, end) of window o along an axis of `size` cells, clipped to
// the image (empty when it lies in the padding). Signed: padding puts the
// window's first cells before the image; the host keeps the padded image
// below 2^31 cells, so a window of a dispatched output fits.
fn clip(o: u32, size: u32) -> vec2i {
  let start = i32(o * params.stride) - i32(params.padding);
  let first = max(start, 0);
  return vec2i(first, max(min(start + i32(params.kernel), i32(size)), first));
}

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
  let ox = o % params.out_w;
  let oy = (o / params.out_w) % params.out_h;
  let p = o / (params.out_w * params.out_h);
  let plane = p * params.height * params.width;
  let rows = clip(oy, params.height);
  let cols = clip(ox, params.width);
  var sum = 0.0;
  for (var iy = rows.x; iy < rows.y; iy++) {
    let start = plane + u32(iy) * params.width;
    for (var ix = cols.x; ix < cols.y; ix++) {
      sum += x[start + u32(ix)];
    }
  }
  y[o] = sum * params.inv_area;
}
