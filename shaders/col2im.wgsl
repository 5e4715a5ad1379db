// col2im: the adjoint of im2col. Each x[b, ch, yy, xx] is overwritten with
// the sum of every cols entry that im2col reads from that position (see
// im2col.wgsl for the layout), gathered in (ky, kx) order: a gather needs no
// float atomics and gives the same sum on every run.
//
// Bindings (group 0):
//   0  uniform               params  Params { batch, channels, height, width,
//                                    kernel_h, kernel_w, stride, padding, n =
//                                    size of x, out_h, out_w }, 48 bytes
//   1  storage, read         cols    array<f32>,
//                                    channels * kernel_h * kernel_w * P
//                                    elements, P = batch * out_h * out_w
//   2  storage, read_write   x       array<f32>, n elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one element
//   of x each.
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
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

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
  let xx = i % params.width;
  let yy = (i / params.width) % params.height;
  let ch = (i / (params.width * params.height)) % params.channels;
  let b = i / (params.width * params.height * params.channels);
  let positions = params.batch * params.out_h * params.out_w; // P
  let stride = i32(params.stride);
  var sum = 0.0;
  for (var ky = 0u; ky < params.kernel_h; ky++) {
    // The window row oy reads yy through ky when oy * stride = yy + padding - ky.
    let ty = i32(yy + params.padding) - i32(ky);
    if (ty < 0) {
      break; // Only more negative from here.
    }
    if (ty % stride != 0 || u32(ty / stride) >= params.out_h) {
      continue;
    }
    let oy = u32(ty / stride);
    for (var kx = 0u; kx < params.kernel_w; kx++) {
      let tx = i32(xx + params.padding) - i32(kx);
      if (tx < 0) {
        break;
      }
      if (tx % stride != 0 || u32(tx / stride) >= params.out_w) {
        continue;
      }
      let ox = u32(tx / stride);
      let row = (ch * params.kernel_h + ky) * params.kernel_w + kx;
      sum += cols[row * positions + (b * params.out_h + oy) * params.out_w + ox];
    }
  }
  x[i] = sum;
}
