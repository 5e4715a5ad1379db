// batchnorm_forward: per element of channel c (indexing as in bias_add),
//   y = (x - mean[c]) / sqrt(variance[c] + epsilon) * gamma[c] + beta[c];
// y may be x.
//
// Bindings (group 0):
//   0  uniform               params    Params { outer, channels, inner,
//                                      epsilon, n = outer * channels * inner },
//                                      32 bytes
//   1  storage, read_write   x         array<f32>, n elements; read only,
//                                      read_write so that y may be x
//   2  storage, read         mean      array<f32>, channels elements
//   3  storage, read         variance  array<f32>, channels elements
//   4  storage, read         gamma     array<f32>, channels elements
//   5  storage, read         beta      array<f32>, channels elements
//   6  storage, read_write   y         array<f32>, n elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one element
//   each.
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups folded into a 2-D grid (the
//   host's GRID_WIDTH per row); the element is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  outer: u32,
  channels: u32,
  inner: u32,
  epsilon: f32,
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

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
  let c = (i / params.inner) % params.channels;
  let deviation = sqrt(variance[c] + params.epsilon);
  y[i] = (x[i] - mean[c]) / deviation * gamma[c] + beta[c];
}
