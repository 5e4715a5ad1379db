/**
 * The arithmetic of the gradient all-reduce, shared by every transport so
 * that shared memory and message passing give the same bits.
 *
 * @module
 */

/**
 * Writes the weighted mean of the replicas' vectors over `[start, end)`:
 * `out[i] = fround(Σ_k weights[k] · parts[k][i])`, summed in float64 in
 * replica order. With the weights `rows_k / batch`, the replicas' mean-loss
 * gradients become the gradient of the whole batch's mean loss. A single
 * part with weight 1 is copied exactly.
 *
 * @param parts Each replica's vector, in replica order.
 * @param weights Each replica's weight.
 * @param out Where the mean goes; may be a shared buffer.
 * @param start First index to reduce.
 * @param end One past the last index.
 *
 * @example Two replicas, one with three rows and one with one
 * ```ts
 * import { allReduceMean } from "./all_reduce.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const out = new Float32Array(2);
 * allReduceMean([new Float32Array([1, 2]), new Float32Array([5, 6])], [0.75, 0.25], out, 0, 2);
 * deepEqual([...out], [2, 3]);
 * ```
 */
export function allReduceMean(
  parts: readonly Float32Array[],
  weights: readonly number[],
  out: Float32Array,
  start: number,
  end: number,
): void {
  if (parts.length === 2) {
    // The common case, without the inner loop.
    const [a, b] = parts;
    const [wa, wb] = weights;
    for (let i = start; i < end; i++) out[i] = wa * a[i] + wb * b[i];
    return;
  }
  for (let i = start; i < end; i++) {
    let sum = weights[0] * parts[0][i];
    for (let k = 1; k < parts.length; k++) sum += weights[k] * parts[k][i];
    out[i] = sum;
  }
}

/**
 * The part `[start, end)` of a vector of `length` that replica `index` of
 * `replicas` reduces in shared memory.
 *
 * @param length The vector's length.
 * @param index The replica.
 * @param replicas How many replicas share the work.
 * @returns `[start, end)`, contiguous, covering the vector once in total.
 *
 * @example Seven values for two replicas
 * ```ts
 * import { reduceRange } from "./all_reduce.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([reduceRange(7, 0, 2), reduceRange(7, 1, 2)], [[0, 3], [3, 7]]);
 * ```
 */
export function reduceRange(
  length: number,
  index: number,
  replicas: number,
): [number, number] {
  return [
    Math.floor((length * index) / replicas),
    Math.floor((length * (index + 1)) / replicas),
  ];
}
