/**
 * What the kernel benchmarks share: the four timed kernels as ready-to-run
 * cases on any backend, their ReLU-like input, and a median timer.
 *
 * @module
 */

import { type Backend, Dropout, Jumpout, type Tensor } from "../mod.ts";

/** The kernels the benchmarks time: each layer's training forward and backward. */
export const KERNELS = [
  "jumpout_forward",
  "jumpout_backward",
  "dropout_forward",
  "dropout_backward",
] as const;

/** One of {@linkcode KERNELS}. */
export type KernelId = typeof KERNELS[number];

/** The rate of the Dropout cases (and of TensorFlow.js's dropout). */
export const DROPOUT_RATE = 0.2;

/** A kernel ready to time: queue calls, wait for them, free the inputs. */
export interface KernelCase {
  /** Queues one call; its output is released at once. */
  run(): void;
  /** Resolves once every queued call has run. */
  sync(): Promise<void>;
  /** Frees the inputs and the layer. */
  dispose(): void;
}

/**
 * ReLU-like activations: about half positive, a quarter zero, a quarter
 * negative, from a fixed linear congruential stream.
 *
 * @param n Element count.
 * @param seed Stream seed; the same seed gives the same data.
 * @returns `n` float32 values in (-1, 1).
 *
 * @example Half of the values are positive
 * ```ts
 * import { reluLike } from "./_kernels.ts";
 * import { ok as assert } from "node:assert/strict";
 *
 * const x = reluLike(10000);
 * assert(Math.abs(x.filter((v) => v > 0).length / x.length - 0.5) < 0.02);
 * ```
 */
export function reluLike(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 31 - 1;
    out[i] = u > 0 || u < -0.5 ? u : 0;
  }
  return out;
}

/**
 * Prepares one kernel on a backend: a layer and an input of `n` elements; for
 * a backward kernel, one training forward first and a `dy` of the same shape.
 * `sync` reads a one-element tensor, which waits for all queued work (GPU
 * included) without timing a large copy.
 *
 * @param backend Where the tensors live and the kernels run.
 * @param kernel Which kernel `run` calls.
 * @param n Element count of the input.
 * @returns The case; call `dispose` when done.
 *
 * @example Time one Jumpout forward on the reference backend
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { prepareKernel } from "./_kernels.ts";
 *
 * const backend = await createBackend("reference");
 * const c = prepareKernel(backend, "jumpout_forward", 1024);
 * c.run();
 * await c.sync();
 * c.dispose();
 * ```
 */
export function prepareKernel(
  backend: Backend,
  kernel: KernelId,
  n: number,
): KernelCase {
  const layer = kernel.startsWith("jumpout")
    ? new Jumpout({ sigma: 0.1, seed: 7 })
    : new Dropout({ rate: DROPOUT_RATE, seed: 7 });
  const x = backend.tensor(reluLike(n), [n]);
  const fence = backend.allocate([1]);
  const owned: Tensor[] = [x, fence];
  let call = () => layer.forward(x, { training: true });
  if (kernel.endsWith("backward")) {
    backend.release(layer.forward(x, { training: true }));
    const dy = backend.tensor(reluLike(n, 2), [n]);
    owned.push(dy);
    call = () => layer.backward(dy);
  }
  return {
    run: () => backend.release(call()),
    sync: async () => {
      await backend.read(fence);
    },
    dispose: () => {
      for (const t of owned) backend.release(t);
      layer.dispose();
    },
  };
}

/**
 * Times cases side by side: each round takes one sample of every case in
 * turn, so slow spells of a shared machine hit them alike. A sample runs `reps`
 * calls, waits for them and counts the elapsed time divided by `reps`; the
 * first `warmup` rounds are dropped.
 *
 * @param cases The cases to time.
 * @param options `reps` calls per sample, `samples` rounds kept, `warmup` dropped.
 * @returns The median time of one call of each case, in milliseconds.
 *
 * @example Medians of two no-ops
 * ```ts
 * import { medianTimes } from "./_kernels.ts";
 * import { ok as assert } from "node:assert/strict";
 *
 * const noop = { run() {}, sync: () => Promise.resolve(), dispose() {} };
 * const ms = await medianTimes([noop, noop], { reps: 2, samples: 3, warmup: 1 });
 * assert(ms.length === 2 && ms.every((t) => t >= 0));
 * ```
 */
export async function medianTimes(
  cases: readonly KernelCase[],
  options: { reps: number; samples: number; warmup: number },
): Promise<number[]> {
  const { reps, samples, warmup } = options;
  const times = cases.map((): number[] => []);
  for (let s = -warmup; s < samples; s++) {
    for (const [i, c] of cases.entries()) {
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) c.run();
      await c.sync();
      if (s >= 0) times[i].push((performance.now() - t0) / reps);
    }
  }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    const mid = t.length >> 1;
    return t.length % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2;
  });
}
