// bias_grad: db[c] = the sum over o < outer, i < inner of
// dy[(o * channels + c) * inner + i], overwriting db (0 when outer * inner is 0).
// Each channel gets `lanes` invocations (a power of two chosen by the host from
// the channel's count = outer * inner, so that each adds up a few values): each
// adds up a strided share, then a tree in workgroup memory adds the shares. A
// workgroup thus sums WORKGROUP_SIZE / lanes channels, and small channels do
// not leave most of a workgroup idle.
//
// Bindings (group 0):
//   0  uniform               params  Params { outer, channels, inner, count =
//                                    outer * inner, lanes (invocations per
//                                    channel) }, 32 bytes
//   1  storage, read         dy      array<f32>, outer * channels * inner elements
//   2  storage, read_write   db      array<f32>, channels elements
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
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

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
  var sum = 0.0;
  if (c < params.channels) {
    for (var j = lane; j < params.count; j += lanes) {
      let o = j / params.inner;
      let i = j % params.inner;
      sum += dy[(o * params.channels + c) * params.inner + i];
    }
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var half = lanes / 2u; half > 0u; half >>= 1u) {
    if (lane < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (lane == 0u && c < params.channels) {
    db[c] = partial[lid];
  }
}
