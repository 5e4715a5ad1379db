// matmul_im2col: a matrix product with im2col's matrix U [depth, positions]
// of the NCHW images x, without forming U (depth = channels * kernel_h *
// kernel_w, positions = batch * out_h * out_w; see im2col.wgsl):
//   c = a * U   (a [m, depth], c [m, positions]), or with trans_cols
//   c = a * U^T (a [m, positions], c [m, depth]),
// overwriting c, or with accumulate adding to c's old value. Row
// (ch * kernel_h + ky) * kernel_w + kx of U is im2col's row of the same
// number, or with flip its row (ch * kernel_h + kernel_h - 1 - ky) * kernel_w
// + kernel_w - 1 - kx (each channel's taps reversed). Padding cells are 0,
// multiplied rather than skipped, as in a product with the formed U.
// Correct, not fast: the conv layer uses this kernel on the CPU backends only.
//
// Bindings (group 0):
//   0  uniform               params  Params { m, batch, channels, height,
//                                    width, kernel_h, kernel_w, stride,
//                                    padding, trans_cols, flip, accumulate
//                                    (0 or 1 each), n = size of c, out_h,
//                                    out_w, depth, positions }, 80 bytes
//   1  storage, read         a       array<f32>, m * depth elements, or
//                                    m * positions with trans_cols
//   2  storage, read         x       array<f32>,
//                                    batch * channels * height * width
//                                    elements
//   3  storage, read_write   c       array<f32>, n elements: m * positions,
//                                    or m * depth with trans_cols
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one element
//   of c each (consecutive invocations write consecutive elements), summing
//   over the shared dimension in order.
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups folded into a 2-D grid (the
//   host's GRID_WIDTH per row); the element is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  m: u32,
  batch: u32,
  channels: u32,
  height: u32,
  width: u32,
  kernel_h: u32,
  kernel_w: u32,
  stride: u32,
  padding: u32,
  trans_cols: u32,
  flip: u32,
  accumulate: u32,
  n: u32,
  out_h: u32,
  out_w: u32,
  depth: u32,
  positions: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// U[row, p]: im2col's element, of its row with the taps reversed under flip.
fn unfolded(row: u32, p: u32) -> f32 {
  var kx = row % params.kernel_w;
  var ky = (row / params.kernel_w) % params.kernel_h;
  let ch = row / (params.kernel_w * params.kernel_h);
  if (params.flip != 0u) {
    kx = params.kernel_w - 1u - kx;
    ky = params.kernel_h - 1u - ky;
  }
  let ox = p % params.out_w;
  let oy = (p / params.out_w) % params.out_h;
  let b = p / (params.out_w * params.out_h);
  // Signed: padding puts the window's first cells before the image.
  let iy = i32(oy * params.stride + ky) - i32(params.padding);
  let ix = i32(ox * params.stride + kx) - i32(params.padding);
  if (iy < 0 || iy >= i32(params.height) || ix < 0 || ix >= i32(params.width)) {
    return 0.0;
  }
  let plane = b * params.channels + ch;
  return x[(plane * params.height + u32(iy)) * params.width + u32(ix)];
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
  var sum = 0.0;
  if (params.accumulate != 0u) {
    sum = c[o];
  }
  if (params.trans_cols != 0u) {
    // c [m, depth]: row i of a times row d of U, over the positions.
    let i = o / params.depth;
    let d = o % params.depth;
    for (var p = 0u; p < params.positions; p++) {
      sum += a[i * params.positions + p] * unfolded(d, p);
    }
  } else {
    // c [m, positions]: row i of a times column j of U, over the depth.
    let i = o / params.positions;
    let j = o % params.positions;
    for (var d = 0u; d < params.depth; d++) {
      sum += a[i * params.depth + d] * unfolded(d, j);
    }
  }
  c[o] = sum;
}
