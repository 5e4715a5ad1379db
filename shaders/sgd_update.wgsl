// sgd_update: SGD with momentum, PyTorch's convention, per element:
//   g = grad + weight_decay * param
//   velocity = momentum * velocity + g
//   param -= lr * (nesterov ? g + momentum * velocity : velocity)
//
// Bindings (group 0):
//   0  uniform               params    Params { n, lr, momentum, weight_decay,
//                                      nesterov (0 or 1) }, 32 bytes
//   1  storage, read_write   param     array<vec4f>, n elements then padding (the
//                                      host rounds buffers up to 16 bytes)
//   2  storage, read         grad      array<vec4f>, n elements then padding
//   3  storage, read_write   velocity  array<vec4f>, n elements then padding
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), 4
//   consecutive elements (one vec4) each.
// Dispatch: ceil(n / (4 * WORKGROUP_SIZE)) workgroups folded into a 2-D grid
//   (the host's GRID_WIDTH per row); the vec4 index is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  n: u32,
  lr: f32,
  momentum: f32,
  weight_decay: f32,
  nesterov: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<vec4f>;
@group(0) @binding(2) var<storage, read> grad: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> velocity: array<vec4f>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let j = (wid.y * groups.x + wid.x) * WORKGROUP_SIZE + lid;
  if (4u * j >= params.n) {
    return;
  }
  let p = param[j];
  let g = grad[j] + params.weight_decay * p;
  let v = params.momentum * velocity[j] + g;
  velocity[j] = v;
  var step = v;
  if (params.nesterov != 0u) {
    step = g + params.momentum * v;
  }
  param[j] = p - params.lr * step;
}
