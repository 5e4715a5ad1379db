// bias_grad: db[c] = the sum over o < outer, i < inner of
// dy[(o * channels + c) * inner + i], overwriting db (0 when outer * inner is 0).
// One workgroup per channel: each invocation adds up a strided share of the
// channel's count = outer * inner values, then a tree in workgroup memory adds
// the shares.
//
// Bindings (group 0):
//   0  uniform               params  Params { channels, inner, count }, 16 bytes
//   1  storage, read         dy      array<f32>, outer * channels * inner elements
//   2  storage, read_write   db      array<f32>, channels elements
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
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

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
  var sum = 0.0;
  for (var j = lid; j < params.count; j += WORKGROUP_SIZE) {
    let o = j / params.inner;
    let i = j % params.inner;
    sum += dy[(o * params.channels + c) * params.inner + i];
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    db[c] = partial[0];
  }
}
