// batchnorm_backward: the gradient of a training-mode batchnorm_forward whose
// mean and variance were channel_stats of x. Per channel c, with
// m = outer * inner, r = 1 / sqrt(variance[c] + epsilon) and
// xhat = (x - mean[c]) * r:
//   dbeta[c] = sum(dy), dgamma[c] = sum(dy * xhat),
//   dx = gamma[c] * r * (dy - dbeta[c] / m - xhat * dgamma[c] / m).
// Each channel gets `lanes` invocations (a power of two chosen by the host from
// m, so that each adds up a few values), and a workgroup WORKGROUP_SIZE / lanes
// channels: the two sums (strided shares, then a tree in workgroup memory),
// then dx. Each invocation writes dx only where it alone has read x and dy,
// after the sums, so dx may be dy or x.
//
// Bindings (group 0):
//   0  uniform               params    Params { outer, channels, inner,
//                                      epsilon, count = m = outer * inner,
//                                      lanes (invocations per channel) }, 32
//                                      bytes
//   1  storage, read_write   x         array<f32>, outer * channels * inner
//                                      elements; read only, read_write so that
//                                      dx may be x
//   2  storage, read_write   dy        array<f32>, as x; read only, read_write
//                                      so that dx may be dy
//   3  storage, read         mean      array<f32>, channels elements
//   4  storage, read         variance  array<f32>, channels elements
//   5  storage, read         gamma     array<f32>, channels elements
//   6  storage, read_write   dx        array<f32>, as x
//   7  storage, read_write   dgamma    array<f32>, channels elements
//   8  storage, read_write   dbeta     array<f32>, channels elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override, a power of
//   two); invocation lid works on the workgroup's channel lid / lanes.
// Dispatch: ceil(channels / (WORKGROUP_SIZE / lanes)) workgroups folded into a
//   2-D grid (the host's GRID_WIDTH per row); workgroup
//   g = wid.y * num_workgroups.x + wid.x starts at channel
//   g * WORKGROUP_SIZE / lanes, and those past the end return. Not dispatched
//   when channels is 0.

struct Params {
  outer: u32,
  channels: u32,
  inner: u32,
  epsilon: f32,
  count: u32,
  lanes: u32,
  _pad0: u32,
  _pad1: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dy: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> variance: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(8) var<storage, read_write> dbeta: array<f32>;

// (sum of dy, sum of dy * xhat) shares.
var<workgroup> partial: array<vec2f, WORKGROUP_SIZE>;

// Index of the j-th value of channel c.
fn at(c: u32, j: u32) -> u32 {
  return ((j / params.inner) * params.channels + c) * params.inner +
    j % params.inner;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let lanes = params.lanes;
  let first = (wid.y * groups.x + wid.x) * (WORKGROUP_SIZE / lanes);
  if (first >= params.channels) {
    return; // The same for the whole workgroup, so the barriers stay uniform.
  }
  let lane = lid % lanes;
  let c = first + lid / lanes;
  let inside = c < params.channels;
  // Lanes past the last channel add nothing but still meet the barriers.
  let count = select(0u, params.count, inside);
  let ch = min(c, params.channels - 1u);
  let mu = mean[ch];
  let r = 1.0 / sqrt(variance[ch] + params.epsilon);
  var sums = vec2f();
  for (var j = lane; j < count; j += lanes) {
    let i = at(c, j);
    let g = dy[i];
    sums += vec2f(g, g * ((x[i] - mu) * r));
  }
  partial[lid] = sums;
  workgroupBarrier();
  for (var half = lanes / 2u; half > 0u; half >>= 1u) {
    if (lane < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  let total = partial[lid - lane];
  if (!inside) {
    return; // After the last barrier.
  }
  if (lane == 0u) {
    dbeta[c] = total.x;
    dgamma[c] = total.y;
  }
  let m = f32(count);
  let mean_dy = total.x / m;
  let mean_dy_xhat = total.y / m;
  let scale = gamma[c] * r;
  for (var j = lane; j < count; j += lanes) {
    let i = at(c, j);
    let xhat = (x[i] - mu) * r;
    dx[i] = scale * (dy[i] - mean_dy - xhat * mean_dy_xhat);
  }
}
