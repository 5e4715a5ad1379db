// row_mean: y[r] = the sum over c < cols of x[r * cols + c], divided by cols;
// 0 when cols is 0. One workgroup per row: each invocation adds up a strided
// share of the row, then a tree in workgroup memory adds the shares.
//
// Bindings (group 0):
//   0  uniform               params  Params { rows, cols }, 16 bytes
//   1  storage, read         x       array<f32>, rows * cols elements
//   2  storage, read_write   y       array<f32>, rows elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override, a power of
//   two).
// Dispatch: rows workgroups folded into a 2-D grid (the host's GRID_WIDTH per
//   row); the row is wid.y * num_workgroups.x + wid.x and the workgroups past
//   the end return. Not dispatched when rows is 0.

struct Params {
  rows: u32,
  cols: u32,
  _pad0: u32,
  _pad1: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let r = wid.y * groups.x + wid.x;
  if (r >= params.rows) {
    return; // The same for the whole workgroup, so the barriers stay uniform.
  }
  let start = r * params.cols;
  var sum = 0.0;
  for (var c = lid; c < params.cols; c += WORKGROUP_SIZE) {
    sum += x[start + c];
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
    var mean = 0.0;
    if (params.cols > 0u) {
      mean = partial[0] / f32(params.cols);
    }
    y[r] = mean;
  }
}
