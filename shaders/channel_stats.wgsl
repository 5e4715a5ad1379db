// channel_stats: per channel c, over its count = outer * inner values
// (indexing as in bias_add): mean[c] and the biased variance[c] =
// sum((x - mean)^2) / count, both 0 when count is 0. Two passes over the
// channel (the mean first), which keeps the variance accurate when the values
// sit far from 0. One workgroup per channel: each invocation adds up a strided
// share, then a tree in workgroup memory adds the shares.
//
// Bindings (group 0):
//   0  uniform               params    Params { channels, inner, count },
//                                      16 bytes
//   1  storage, read         x         array<f32>, outer * channels * inner
//                                      elements
//   2  storage, read_write   mean      array<f32>, channels elements
//   3  storage, read_write   variance  array<f32>, channels elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override, a power of
//   two).
// Dispatch: channels workgroups folded into a 2-D grid (the host's GRID_WIDTH
//   per row); the channel is wid.y * num_workgroups.x + wid.x and the
//   workgroups past the end return. Not dispatched when channels is 0.

struct Params {
  channels: u32,
  inner: u32,
  count: u32,
  _pad: u32,
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

// The sum of every invocation's `value`, returned to all of them.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  // Nobody may overwrite partial[0] before everyone has read it.
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let c = wid.y * groups.x + wid.x;
  if (c >= params.channels) {
    return; // The same for the whole workgroup, so the barriers stay uniform.
  }
  if (params.count == 0u) {
    if (lid == 0u) {
      mean[c] = 0.0;
      variance[c] = 0.0;
    }
    return;
  }
  let n = f32(params.count);
  var sum = 0.0;
  for (var j = lid; j < params.count; j += WORKGROUP_SIZE) {
    sum += x[at(c, j)];
  }
  let mu = workgroup_sum(lid, sum) / n;
  var squares = 0.0;
  for (var j = lid; j < params.count; j += WORKGROUP_SIZE) {
    let d = x[at(c, j)] - mu;
    squares += d * d;
  }
  let var_c = workgroup_sum(lid, squares) / n;
  if (lid == 0u) {
    mean[c] = mu;
    variance[c] = var_c;
  }
}
