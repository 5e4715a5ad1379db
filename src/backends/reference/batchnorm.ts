/**
 * Reference batch normalisation: per-channel statistics, the normalising
 * forward and its training-mode gradient. A channel `c`'s values are
 * `x[(o · channels + c) · inner + i]` for every `o < outer`, `i < inner`.
 *
 * @module
 */

import type { KernelArgs } from "../../backend.ts";

/** Calls `visit` with the index of every element of channel `c`. */
function forEachInChannel(
  a: { outer: number; channels: number; inner: number },
  c: number,
  visit: (index: number) => void,
): void {
  for (let o = 0; o < a.outer; o++) {
    const start = (o * a.channels + c) * a.inner;
    for (let i = start; i < start + a.inner; i++) visit(i);
  }
}

/**
 * `channel_stats`: per channel, the mean and the biased variance, in two
 * passes (mean first, then squared deviations) so that a large mean does not
 * cancel the variance away.
 *
 * @param a The kernel's arguments.
 *
 * @example Statistics of one channel holding 1, 2, 3, 6
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { channelStats } from "./batchnorm.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 2, 3, 6]), [4]);
 * const mean = backend.allocate([1]);
 * const variance = backend.allocate([1]);
 * channelStats({ x, mean, variance, outer: 2, channels: 1, inner: 2 });
 * deepEqual([...backend.readSync(mean)], [3]);
 * deepEqual([...backend.readSync(variance)], [3.5]); // (4 + 1 + 0 + 9) / 4
 * ```
 */
export function channelStats(a: KernelArgs["channel_stats"]): void {
  const x = a.x.storage as Float32Array;
  const mean = a.mean.storage as Float32Array;
  const variance = a.variance.storage as Float32Array;
  const count = a.outer * a.inner;
  for (let c = 0; c < a.channels; c++) {
    let sum = 0;
    forEachInChannel(a, c, (i) => sum += x[i]);
    const mu = count === 0 ? 0 : sum / count;
    let squares = 0;
    forEachInChannel(a, c, (i) => squares += (x[i] - mu) ** 2);
    mean[c] = mu;
    variance[c] = count === 0 ? 0 : squares / count;
  }
}

/**
 * `batchnorm_forward`: `y = (x - mean) / sqrt(variance + epsilon) · gamma +
 * beta` per channel.
 *
 * @param a The kernel's arguments.
 *
 * @example Normalise one channel to mean 0, variance 1, then shift by 1
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { batchnormForward } from "./batchnorm.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 3]), [2]);
 * const [mean, variance, gamma, beta] = [2, 1, 1, 1].map((v) =>
 *   backend.tensor(new Float32Array([v]), [1])
 * );
 * const y = backend.allocate([2]);
 * const geometry = { outer: 1, channels: 1, inner: 2, epsilon: 0 };
 * batchnormForward({ x, mean, variance, gamma, beta, y, ...geometry });
 * deepEqual([...backend.readSync(y)], [0, 2]);
 * ```
 */
export function batchnormForward(a: KernelArgs["batchnorm_forward"]): void {
  const x = a.x.storage as Float32Array;
  const y = a.y.storage as Float32Array;
  const mean = a.mean.storage as Float32Array;
  const variance = a.variance.storage as Float32Array;
  const gamma = a.gamma.storage as Float32Array;
  const beta = a.beta.storage as Float32Array;
  for (let c = 0; c < a.channels; c++) {
    const r = 1 / Math.sqrt(variance[c] + a.epsilon);
    forEachInChannel(a, c, (i) => {
      y[i] = (x[i] - mean[c]) * r * gamma[c] + beta[c];
    });
  }
}

/**
 * `batchnorm_backward`: the gradient of a training-mode `batchnorm_forward`
 * (statistics taken from `x` itself) with respect to `x`, `gamma` and `beta`.
 *
 * @param a The kernel's arguments.
 *
 * @example A gradient along the normalised input gives dgamma and no dx
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { batchnormBackward } from "./batchnorm.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 3]), [2]);
 * const dy = backend.tensor(new Float32Array([-1, 1]), [2]); // = xhat
 * const [mean, variance, gamma] = [2, 1, 1].map((v) =>
 *   backend.tensor(new Float32Array([v]), [1])
 * );
 * const [dx, dgamma, dbeta] = [2, 1, 1].map((n) => backend.allocate([n]));
 * const geometry = { outer: 1, channels: 1, inner: 2, epsilon: 0 };
 * batchnormBackward({ x, dy, mean, variance, gamma, dx, dgamma, dbeta, ...geometry });
 * deepEqual([...backend.readSync(dgamma)], [2]);
 * deepEqual([...backend.readSync(dbeta)], [0]);
 * deepEqual([...backend.readSync(dx)], [0, 0]);
 * ```
 */
export function batchnormBackward(a: KernelArgs["batchnorm_backward"]): void {
  const x = a.x.storage as Float32Array;
  const dy = a.dy.storage as Float32Array;
  const dx = a.dx.storage as Float32Array;
  const mean = a.mean.storage as Float32Array;
  const variance = a.variance.storage as Float32Array;
  const gamma = a.gamma.storage as Float32Array;
  const dgamma = a.dgamma.storage as Float32Array;
  const dbeta = a.dbeta.storage as Float32Array;
  const m = a.outer * a.inner;
  for (let c = 0; c < a.channels; c++) {
    const r = 1 / Math.sqrt(variance[c] + a.epsilon);
    let sumDy = 0, sumDyXhat = 0;
    forEachInChannel(a, c, (i) => {
      sumDy += dy[i];
      sumDyXhat += dy[i] * (x[i] - mean[c]) * r;
    });
    forEachInChannel(a, c, (i) => {
      const xhat = (x[i] - mean[c]) * r;
      dx[i] = gamma[c] * r * (dy[i] - sumDy / m - xhat * sumDyXhat / m);
    });
    dbeta[c] = sumDy;
    dgamma[c] = sumDyXhat;
  }
}
