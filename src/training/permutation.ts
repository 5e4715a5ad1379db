/**
 * The order of rows in a shuffled epoch.
 *
 * @module
 */

/**
 * A permutation of `[0, n)` from a seed (xorshift32, Fisher–Yates): the same
 * on every runtime, so a shuffled run can be repeated and resumed.
 *
 * @param n How many.
 * @param seed Any integer (only its low 32 bits count).
 * @returns The permutation.
 *
 * @example Every index once
 * ```ts
 * import { permutation } from "./permutation.ts";
 * import { deepEqual, notDeepEqual } from "node:assert/strict";
 *
 * deepEqual([...permutation(5, 1)].sort(), [0, 1, 2, 3, 4]);
 * deepEqual(permutation(100, 7), permutation(100, 7));
 * notDeepEqual(permutation(100, 7), permutation(100, 8));
 * ```
 */
export function permutation(n: number, seed: number): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  let s = (Math.imul(seed | 0, 2654435761) >>> 0) || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
