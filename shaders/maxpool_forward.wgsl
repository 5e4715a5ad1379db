// maxpool_forward: max pooling of `planes` images of height x width, windows
// kernel x kernel every stride, padding cells of -Inf around;
//   y[p, oy, ox] = the window's maximum,
//   argmax[p, oy, ox] = its index iy * width + ix in the plane: the first
//   in-bounds cell in row-major window order, replaced only by a strictly
//   greater value. A window wholly in the padding gives -Inf at index 0.
// Compares the float bits as IEEE does (NaN is never greater, -0 is not less
// than +0), since WGSL implementations may assume no NaN or infinity; y gets
// the winning cell's exact bits.
//
// Bindings (group 0):
//   0  uniform               params  Params { planes, height, width, kernel,
//                                    stride, padding, n = planes * out_h *
//                                    out_w, out_h, out_w }, 48 bytes
//   1  storage, read         x       array<u32>, the bits of
//                                    planes * height * width float32
//   2  storage, read_write   y       array<u32>, n float32 bits
//   3  storage, read_write   argmax  array<u32>, n elements
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
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

const SIGN = 0x80000000u;
const MAGNITUDE = 0x7fffffffu;
const INF = 0x7f800000u;
const NEG_INF = 0xff800000u;

// IEEE a > b on float bits: false when either is NaN or both are zeros.
fn greater(a: u32, b: u32) -> bool {
  if ((a & MAGNITUDE) > INF || (b & MAGNITUDE) > INF) {
    return false;
  }
  if (((a | b) & MAGNITUDE) == 0u) {
    return false;
  }
  // Map the bits to an unsigned order: negatives reversed below positives.
  let ka = select(a | SIGN, ~a, (a & SIGN) != 0u);
  let kb = select(b | SIGN, ~b, (b & SIGN) != 0u);
  return ka > kb;
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
  // Signed: padding puts the window's first cells before the image.
  let y0 = i32(oy * params.stride) - i32(params.padding);
  let x0 = i32(ox * params.stride) - i32(params.padding);
  var best = NEG_INF;
  var winner = 0u;
  var found = false;
  for (var ky = 0u; ky < params.kernel; ky++) {
    let iy = y0 + i32(ky);
    if (iy < 0 || iy >= i32(params.height)) {
      continue;
    }
    for (var kx = 0u; kx < params.kernel; kx++) {
      let ix = x0 + i32(kx);
      if (ix < 0 || ix >= i32(params.width)) {
        continue;
      }
      let cell = u32(iy) * params.width + u32(ix);
      let v = x[plane + cell];
      if (!found || greater(v, best)) {
        best = v;
        winner = cell;
        found = true;
      }
    }
  }
  y[o] = best;
  argmax[o] = winner;
}
