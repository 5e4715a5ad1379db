// Optimiser steps, four parameters per lane group and float32 arithmetic; the
// scalar hyper-parameters arrive as float64 and are rounded once (combined in
// float64 first where that saves a rounding).

/**
 * `sgd_update`: SGD with momentum, PyTorch's convention:
 * `g = grad + weightDecay · param`, `velocity = momentum · velocity + g`,
 * `param -= lr · (nesterov ? g + momentum · velocity : velocity)`.
 *
 * @param param Byte offset of `n` float32 values, 4-byte aligned, updated in
 *   place.
 * @param grad Byte offset of `n` float32 gradients, 4-byte aligned.
 * @param velocity Byte offset of `n` float32 values, 4-byte aligned, updated
 *   in place. The three must not overlap.
 * @param n Number of parameters.
 * @param lr Learning rate.
 * @param momentum Momentum factor.
 * @param weightDecay L2 factor added to the gradient.
 * @param nesterov 1 for Nesterov momentum, 0 for plain momentum.
 */
export function sgd_update(
  param: usize,
  grad: usize,
  velocity: usize,
  n: u32,
  lr: f64,
  momentum: f64,
  weightDecay: f64,
  nesterov: u32,
): void {
  const lrf = lr as f32;
  const mo = momentum as f32;
  const wd = weightDecay as f32;
  const lrv = f32x4.splat(lrf);
  const mov = f32x4.splat(mo);
  const wdv = f32x4.splat(wd);
  const bytes = (n as usize) << 2;
  let i: usize = 0;
  for (const end = bytes & ~15; i < end; i += 16) {
    const p = v128.load(param + i);
    const g = f32x4.add(v128.load(grad + i), f32x4.mul(wdv, p));
    const v = f32x4.add(f32x4.mul(mov, v128.load(velocity + i)), g);
    v128.store(velocity + i, v);
    const u = nesterov ? f32x4.add(g, f32x4.mul(mov, v)) : v;
    v128.store(param + i, f32x4.sub(p, f32x4.mul(lrv, u)));
  }
  for (; i < bytes; i += 4) {
    const p = load<f32>(param + i);
    const g = load<f32>(grad + i) + wd * p;
    const v = mo * load<f32>(velocity + i) + g;
    store<f32>(velocity + i, v);
    store<f32>(param + i, p - lrf * (nesterov ? g + mo * v : v));
  }
}

/**
 * `adam_update`: Adam with L2 weight decay added to the gradient:
 * `g = grad + weightDecay · param`, `m = beta1 · m + (1 - beta1) · g`,
 * `v = beta2 · v + (1 - beta2) · g²`,
 * `param -= lr · (m / correction1) / (sqrt(v / correction2) + epsilon)`,
 * evaluated as `param -= (lr / correction1) · m / (sqrt(v) ·
 * (1 / sqrt(correction2)) + epsilon)` with both factors from float64.
 *
 * @param param Byte offset of `n` float32 values, 4-byte aligned, updated in
 *   place.
 * @param grad Byte offset of `n` float32 gradients, 4-byte aligned.
 * @param m Byte offset of `n` float32 first moments, 4-byte aligned, updated
 *   in place.
 * @param v Byte offset of `n` float32 second moments, 4-byte aligned, updated
 *   in place. The four must not overlap.
 * @param n Number of parameters.
 * @param lr Learning rate.
 * @param beta1 First-moment decay, in [0, 1).
 * @param beta2 Second-moment decay, in [0, 1).
 * @param epsilon Added to the denominator.
 * @param weightDecay L2 factor added to the gradient.
 * @param step The step, counted from 1; unused here, since the caller
 *   passes its corrections.
 * @param correction1 `1 - beta1^step`, computed by the caller in float64
 *   (`step` counts from 1, so it is > 0).
 * @param correction2 `1 - beta2^step`, likewise.
 */
export function adam_update(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  n: u32,
  lr: f64,
  beta1: f64,
  beta2: f64,
  epsilon: f64,
  weightDecay: f64,
  step: f64,
  correction1: f64,
  correction2: f64,
): void {
  const b1 = beta1 as f32;
  const c1 = (1 - beta1) as f32;
  const b2 = beta2 as f32;
  const c2 = (1 - beta2) as f32;
  const stepSize = (lr / correction1) as f32;
  const root = (1 / Math.sqrt(correction2)) as f32;
  const eps = epsilon as f32;
  const wd = weightDecay as f32;
  const b1v = f32x4.splat(b1);
  const c1v = f32x4.splat(c1);
  const b2v = f32x4.splat(b2);
  const c2v = f32x4.splat(c2);
  const sv = f32x4.splat(stepSize);
  const rv = f32x4.splat(root);
  const ev = f32x4.splat(eps);
  const wdv = f32x4.splat(wd);
  const bytes = (n as usize) << 2;
  let i: usize = 0;
  for (const end = bytes & ~15; i < end; i += 16) {
    const p = v128.load(param + i);
    const g = f32x4.add(v128.load(grad + i), f32x4.mul(wdv, p));
    const mi = f32x4.add(f32x4.mul(b1v, v128.load(m + i)), f32x4.mul(c1v, g));
    const vi = f32x4.add(
      f32x4.mul(b2v, v128.load(v + i)),
      f32x4.mul(c2v, f32x4.mul(g, g)),
    );
    v128.store(m + i, mi);
    v128.store(v + i, vi);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), rv), ev);
    v128.store(param + i, f32x4.sub(p, f32x4.div(f32x4.mul(sv, mi), denom)));
  }
  for (; i < bytes; i += 4) {
    const p = load<f32>(param + i);
    const g = load<f32>(grad + i) + wd * p;
    const mi = b1 * load<f32>(m + i) + c1 * g;
    const vi = b2 * load<f32>(v + i) + c2 * (g * g);
    store<f32>(m + i, mi);
    store<f32>(v + i, vi);
    store<f32>(param + i, p - (stepSize * mi) / (Mathf.sqrt(vi) * root + eps));
  }
}
