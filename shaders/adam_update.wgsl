// adam_update: Adam with L2 weight decay added to the gradient, per element:
//   g = grad + weight_decay * param
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   param -= lr * (m / correction1) / (sqrt(v / correction2) + epsilon)
// with correction1 = 1 - beta1^step and correction2 = 1 - beta2^step, which
// the host computes in float64 (as it does 1 - beta1 and 1 - beta2): in
// float32, beta^step loses the small differences from 1 that early steps need.
//
// Bindings (group 0):
//   0  uniform               params  Params { n, lr, beta1, beta2, epsilon,
//                                    weight_decay, step (unused: the
//                                    corrections carry it), correction1,
//                                    correction2, one_minus_beta1,
//                                    one_minus_beta2 }, 48 bytes
//   1  storage, read_write   param   array<vec4f>, n elements then padding (the
//                                    host rounds buffers up to 16 bytes)
//   2  storage, read         grad    array<vec4f>, n elements then padding
//   3  storage, read_write   m       array<vec4f>, n elements then padding
//   4  storage, read_write   v       array<vec4f>, n elements then padding
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), 4
//   consecutive elements (one vec4) each.
// Dispatch: ceil(n / (4 * WORKGROUP_SIZE)) workgroups folded into a 2-D grid
//   (the host's GRID_WIDTH per row); the vec4 index is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  epsilon: f32,
  weight_decay: f32,
  step: u32,
  correction1: f32,
  correction2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<vec4f>;
@group(0) @binding(2) var<storage, read> grad: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4f>;

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
  let m1 = params.beta1 * m[j] + params.one_minus_beta1 * g;
  let v1 = params.beta2 * v[j] + params.one_minus_beta2 * g * g;
  m[j] = m1;
  v[j] = v1;
  let m_hat = m1 / params.correction1;
  let v_hat = v1 / params.correction2;
  param[j] = p - params.lr * m_hat / (sqrt(v_hat) + params.epsilon);
}
