// axpby: y[i] = alpha * x[i] + beta * y[i]; when beta is 0 the old y is not
// read, so y = alpha * x even where y held NaN or Inf. y may be x.
//
// Bindings (group 0):
//   0  uniform               params  Params { n, alpha, beta, beta_zero (1 when
//                                    beta is 0) }, 16 bytes
//   1  storage, read_write   x       array<vec4f>, n elements then padding (the
//                                    host rounds buffers up to 16 bytes); read
//                                    only, read_write so that y may be x
//   2  storage, read_write   y       array<vec4f>, n elements then padding,
//                                    which gets whatever the rule gives there
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), 4
//   consecutive elements (one vec4) each.
// Dispatch: ceil(n / (4 * WORKGROUP_SIZE)) workgroups folded into a 2-D grid
//   (the host's GRID_WIDTH per row); the vec4 index is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  n: u32,
  alpha: f32,
  beta: f32,
  beta_zero: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;

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
  let ax = params.alpha * x[j];
  if (params.beta_zero != 0u) {
    y[j] = ax;
  } else {
    y[j] = ax + params.beta * y[j];
  }
}
