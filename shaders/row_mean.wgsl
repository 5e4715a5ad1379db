// row_mean: y[r] = the sum over c < cols of x[r * cols + c], divided by cols;
// 0 when cols is 0. Each row gets `lanes` invocations (a power of two chosen
// by the host from cols, so that each adds up a few values): each adds up a
// strided share, then a tree in workgroup memory adds the shares. A workgroup
// thus handles WORKGROUP_SIZE / lanes rows.
//
// Bindings (group 0):
//   0  uniform               params  Params { rows, cols, lanes }, 16 bytes
//   1  storage, read         x       array<f32>, rows * cols elements
//   2  storage, read_write   y       array<f32>, rows elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override, a power of
//   two); invocation lid works on the workgroup's row lid / lanes.
// Dispatch: ceil(rows / (WORKGROUP_SIZE / lanes)) workgroups folded into a 2-D
//   grid (the host's GRID_WIDTH per row); workgroup
//   g = wid.y * num_workgroups.x + wid.x starts at row g * WORKGROUP_SIZE /
//   lanes, and those past the end return. Not dispatched when rows is 0.

struct Params {
  rows: u32,
  cols: u32,
  lanes: u32,
  _pad: u32,
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
  let lanes = params.lanes;
  let first = (wid.y * groups.x + wid.x) * (WORKGROUP_SIZE / lanes);
  if (first >= params.rows) {
    return; // The same for the whole workgroup, so the barriers stay uniform.
  }
  let lane = lid % lanes;
  let r = first + lid / lanes;
  var sum = 0.0;
  if (r < params.rows) {
    let start = r * params.cols;
    for (var c = lane; c < params.cols; c += lanes) {
      sum += x[start + c];
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
  if (lane == 0u && r < params.rows) {
    var mean = 0.0;
    if (params.cols > 0u) {
      mean = partial[lid] / f32(params.cols);
    }
    y[r] = mean;
  }
}
