/**
 * Reference optimiser steps: SGD with momentum and Adam, both with L2 weight
 * decay folded into the gradient. Each element's update is carried in float64
 * and its new state stored in float32.
 *
 * @module
 */

import type { KernelArgs } from "../../backend.ts";

/**
 * `sgd_update`: one step of SGD with momentum (PyTorch's convention, optional
 * Nesterov), updating `param` and `velocity` in place.
 *
 * @param a The kernel's arguments.
 *
 * @example One step from zero velocity, then a second with momentum
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { sgdUpdate } from "./optim.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const param = backend.tensor(new Float32Array([1]), [1]);
 * const grad = backend.tensor(new Float32Array([2]), [1]);
 * const velocity = backend.allocate([1]);
 * const options = { n: 1, lr: 0.5, momentum: 0.5, weightDecay: 0, nesterov: false };
 * sgdUpdate({ param, grad, velocity, ...options });
 * deepEqual([...backend.readSync(velocity)], [2]);
 * deepEqual([...backend.readSync(param)], [0]); // 1 - 0.5 · 2
 * sgdUpdate({ param, grad, velocity, ...options });
 * deepEqual([...backend.readSync(velocity)], [3]); // 0.5 · 2 + 2
 * deepEqual([...backend.readSync(param)], [-1.5]);
 * ```
 */
export function sgdUpdate(a: KernelArgs["sgd_update"]): void {
  const param = a.param.storage as Float32Array;
  const grad = a.grad.storage as Float32Array;
  const velocity = a.velocity.storage as Float32Array;
  for (let i = 0; i < a.n; i++) {
    const g = grad[i] + a.weightDecay * param[i];
    const v = a.momentum * velocity[i] + g;
    velocity[i] = v;
    param[i] = param[i] - a.lr * (a.nesterov ? g + a.momentum * v : v);
  }
}

/**
 * `adam_update`: one Adam step with bias correction (`step` counts from 1),
 * updating `param`, `m` and `v` in place.
 *
 * @param a The kernel's arguments.
 *
 * @example The first step moves each parameter by about `lr` against its gradient
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { adamUpdate } from "./optim.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const param = backend.tensor(new Float32Array([1, 1]), [2]);
 * const grad = backend.tensor(new Float32Array([4, -0.25]), [2]);
 * const [m, v] = [backend.allocate([2]), backend.allocate([2])];
 * const options = { lr: 0.5, beta1: 0.5, beta2: 0.75, epsilon: 0, weightDecay: 0 };
 * adamUpdate({ param, grad, m, v, n: 2, step: 1, ...options });
 * deepEqual([...backend.readSync(m)], [2, -0.125]); // (1 - beta1) · g
 * deepEqual([...backend.readSync(v)], [4, 0.015625]); // (1 - beta2) · g²
 * deepEqual([...backend.readSync(param)], [0.5, 1.5]); // 1 ∓ lr
 * ```
 */
export function adamUpdate(a: KernelArgs["adam_update"]): void {
  const param = a.param.storage as Float32Array;
  const grad = a.grad.storage as Float32Array;
  const m = a.m.storage as Float32Array;
  const v = a.v.storage as Float32Array;
  const correction1 = 1 - a.beta1 ** a.step;
  const correction2 = 1 - a.beta2 ** a.step;
  for (let i = 0; i < a.n; i++) {
    const g = grad[i] + a.weightDecay * param[i];
    const mi = a.beta1 * m[i] + (1 - a.beta1) * g;
    const vi = a.beta2 * v[i] + (1 - a.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const step = (mi / correction1) / (Math.sqrt(vi / correction2) + a.epsilon);
    param[i] = param[i] - a.lr * step;
  }
}
