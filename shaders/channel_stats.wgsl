// channel_stats: per channel c, over its count = outer * inner values
// (indexing as in bias_add): mean[c] and the biased variance[c] =
// sum((x - mean)^2) / count, both 0 when count is 0. Two passes over the
// channel (the mean first), which keeps the variance accurate when the values
// sit far from 0. Each channel gets `lanes` invocations (a power of two chosen
// by the host from count, so that each adds up a few values): each adds up a
// strided share, then a tree in workgroup memory adds the shares. A workgroup
// thus handles WORKGROUP_SIZE / lanes channels.
//
// Bindings (group 0):
//   0  uniform               params    Params { outer, channels, inner, count =
//                                      outer * inner, lanes (invocations per
//                                      channel) }, 32 bytes
//   1  storage, read         x         array<f32>, outer * channels * inner
//                                      elements
//   2  storage, read_write   mean      array<f32>, channels elements
//   3  storage, read_write   variance  array<f32>, channels elements
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
  count: u32,
  lanes: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> variance: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// Index of the j-th value of channel c.
fn at(c: u32, j: u32) -> u32 {
  return ((j / params.inner) * params.channels + c) * params.inner +
    j % params.inner;
}

// The sum of `value` over the lanes of invocation lid's channel, returned to
// all of them.
fn channel_sum(lid: u32, lane: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var half = params.lanes / 2u; half > 0u; half >>= 1u) {
    if (lane < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  let total = partial[lid - lane];
  // Nobody may overwrite the total before every lane has read it.
  workgroupBarrier();
  return total;
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
  // Lanes past the last channel add nothing but still meet the barriers.
  let count = select(0u, params.count, c < params.channels);
  var sum = 0.0;
  for (var j = lane; j < count; j += lanes) {
    sum += x[at(c, j)];
  }
  let n = f32(params.count);
  let mu = channel_sum(lid, lane, sum) / n;
  var squares = 0.0;
  for (var j = lane; j < count; j += lanes) {
    let d = x[at(c, j)] - mu;
    squares += d * d;
  }
  let spread = channel_sum(lid, lane, squares) / n;
  if (lane == 0u && c < params.channels) {
    if (params.count == 0u) {
      mean[c] = 0.0;
      variance[c] = 0.0;
    } else {
      mean[c] = mu;
      variance[c] = spread;
    }
  }
}
