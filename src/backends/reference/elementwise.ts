/**
 * Reference element-wise kernels: biases, ReLU and `axpby`. Each result is
 * computed in float64 and rounded once to float32 on store.
 *
 * @module
 */

import type { KernelArgs } from "../../backend.ts";

/**
 * `bias_add`: adds `bias[c]` to every element of channel `c`, in place.
 *
 * @param a The kernel's arguments.
 *
 * @example Add a per-channel bias to two samples of two channels
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { biasAdd } from "./elementwise.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const y = backend.tensor(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), [8]);
 * const bias = backend.tensor(new Float32Array([10, 20]), [2]);
 * biasAdd({ y, bias, outer: 2, channels: 2, inner: 2 });
 * deepEqual([...backend.readSync(y)], [11, 12, 23, 24, 15, 16, 27, 28]);
 * ```
 */
export function biasAdd(a: KernelArgs["bias_add"]): void {
  const y = a.y.storage as Float32Array;
  const bias = a.bias.storage as Float32Array;
  for (let o = 0; o < a.outer; o++) {
    for (let c = 0; c < a.channels; c++) {
      const start = (o * a.channels + c) * a.inner;
      for (let i = start; i < start + a.inner; i++) y[i] = y[i] + bias[c];
    }
  }
}

/**
 * `bias_grad`: per channel, the sum of `dy` over samples and positions.
 *
 * @param a The kernel's arguments.
 *
 * @example Sum a gradient per channel
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { biasGrad } from "./elementwise.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const dy = backend.tensor(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), [8]);
 * const db = backend.allocate([2]);
 * biasGrad({ dy, db, outer: 2, channels: 2, inner: 2 });
 * deepEqual([...backend.readSync(db)], [1 + 2 + 5 + 6, 3 + 4 + 7 + 8]);
 * ```
 */
export function biasGrad(a: KernelArgs["bias_grad"]): void {
  const dy = a.dy.storage as Float32Array;
  const db = a.db.storage as Float32Array;
  for (let c = 0; c < a.channels; c++) {
    let sum = 0;
    for (let o = 0; o < a.outer; o++) {
      const start = (o * a.channels + c) * a.inner;
      for (let i = start; i < start + a.inner; i++) sum += dy[i];
    }
    db[c] = sum;
  }
}

/**
 * `relu`: keeps positive values, gives 0 for the rest (NaN and -0 included).
 *
 * @param a The kernel's arguments.
 *
 * @example Rectify a few values
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { relu } from "./elementwise.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([-1, 0, 2, NaN]), [4]);
 * relu({ x, y: x, n: 4 });
 * deepEqual([...backend.readSync(x)], [0, 0, 2, 0]);
 * ```
 */
export function relu(a: KernelArgs["relu"]): void {
  const x = a.x.storage as Float32Array;
  const y = a.y.storage as Float32Array;
  for (let i = 0; i < a.n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

/**
 * `relu_backward`: passes `dy` where the forward input was positive.
 *
 * @param a The kernel's arguments.
 *
 * @example Mask a gradient by the forward input
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { reluBackward } from "./elementwise.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([-1, 0, 2, 3]), [4]);
 * const dy = backend.tensor(new Float32Array([5, 6, 7, 8]), [4]);
 * reluBackward({ x, dy, dx: dy, n: 4 });
 * deepEqual([...backend.readSync(dy)], [0, 0, 7, 8]);
 * ```
 */
export function reluBackward(a: KernelArgs["relu_backward"]): void {
  const x = a.x.storage as Float32Array;
  const dy = a.dy.storage as Float32Array;
  const dx = a.dx.storage as Float32Array;
  for (let i = 0; i < a.n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}

/**
 * `axpby`: `y = alpha · x + beta · y`; with `beta` 0 the old `y` is not read,
 * so a NaN there does not survive.
 *
 * @param a The kernel's arguments.
 *
 * @example Overwrite a NaN-filled buffer with a scaled copy
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { axpby } from "./elementwise.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 2]), [2]);
 * const y = backend.tensor(new Float32Array([NaN, 10]), [2]);
 * axpby({ x, y, n: 2, alpha: 3, beta: 0 });
 * deepEqual([...backend.readSync(y)], [3, 6]);
 * axpby({ x, y, n: 2, alpha: 1, beta: 0.5 });
 * deepEqual([...backend.readSync(y)], [2.5, 5]);
 * ```
 */
export function axpby(a: KernelArgs["axpby"]): void {
  const x = a.x.storage as Float32Array;
  const y = a.y.storage as Float32Array;
  for (let i = 0; i < a.n; i++) {
    y[i] = a.beta === 0 ? a.alpha * x[i] : a.alpha * x[i] + a.beta * y[i];
  }
}
