// im2col: unfolds NCHW images x [batch, channels, height, width] into
// cols [channels * kernel_h * kernel_w, P], P = batch * out_h * out_w:
//   cols[((ch * kernel_h + ky) * kernel_w + kx) * P + (b * out_h + oy) * out_w + ox]
//     = x[b, ch, oy * stride - padding + ky, ox * stride - padding + kx],
// 0 outside the image. Copies the float bits, so values move unchanged.
//
// Bindings (group 0):
//   0  uniform               params  Params { batch, channels, height, width,
//                                    kernel_h, kernel_w, stride, padding, n =
//                                    size of cols, out_h, out_w }, 48 bytes
//   1  storage, read         x       array<u32>, the bits of
//                                    batch * channels * height * width float32
//   2  storage, read_write   cols    array<u32>, n elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one element
//   of cols each (consecutive invocations write consecutive elements).
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups folded into a 2-D grid (the
//   host's GRID_WIDTH per row); the element is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  batch: u32,
  channels: u32,
  height: u32,
  width: u32,
  kernel_h: u32,
  kernel_w: u32,
  stride: u32,
  padding: u32,
  n: u32,
  out_h: u32,
  out_w: u32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> cols: array<u32>;

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
  let positions = params.batch * params.out_h * params.out_w; // P
  let row = o / positions;
  let p = o % positions;
  let kx = row % params.kernel_w;
  let ky = (row / params.kernel_w) % params.kernel_h;
  let ch = row / (params.kernel_w * params.kernel_h);
  let ox = p % params.out_w;
  let oy = (p / params.out_w) % params.out_h;
  let b = p / (params.out_w * params.out_h);
  // Signed: padding puts the window's first cells before the image.
  let iy = i32(oy * params.stride + ky) - i32(params.padding);
  let ix = i32(ox * params.stride + kx) - i32(params.padding);
  var value = 0u;
  if (iy >= 0 && iy < i32(params.height) && ix >= 0 && ix < i32(params.width)) {
    let plane = b * params.channels + ch;
    value = x[(plane * params.height + u32(iy)) * params.width + u32(ix)];
  }
  cols[o] = value;
}
