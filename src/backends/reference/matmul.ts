/**
 * Reference matrix product.
 *
 * @module
 */

import type { KernelArgs } from "../../backend.ts";

/**
 * `matmul`: `c = op(a) · op(b)` (or `c += op(a) · op(b)` with `accumulate`),
 * each entry a float64 sum (starting from `c`'s value when accumulating)
 * rounded once to float32. Products of two float32 values are exact in
 * float64, so the only error before the final rounding is in the additions.
 *
 * @param a The kernel's arguments.
 *
 * @example Multiply a 2×3 matrix by the transpose of a 2×3 matrix
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { matmul } from "./matmul.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const a = backend.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * const b = backend.tensor(new Float32Array([1, 0, 1, 0, 1, 0]), [2, 3]);
 * const c = backend.allocate([2, 2]);
 * matmul({ a, b, c, m: 2, n: 2, k: 3, transA: false, transB: true, accumulate: false });
 * deepEqual([...backend.readSync(c)], [4, 2, 10, 5]);
 * matmul({ a, b, c, m: 2, n: 2, k: 3, transA: false, transB: true, accumulate: true });
 * deepEqual([...backend.readSync(c)], [8, 4, 20, 10]);
 * ```
 */
export function matmul(a: KernelArgs["matmul"]): void {
  const left = a.a.storage as Float32Array;
  const right = a.b.storage as Float32Array;
  const out = a.c.storage as Float32Array;
  const { m, n, k } = a;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = a.accumulate ? out[i * n + j] : 0;
      for (let p = 0; p < k; p++) {
        const l = a.transA ? left[p * m + i] : left[i * k + p];
        const r = a.transB ? right[j * k + p] : right[p * n + j];
        sum += l * r;
      }
      out[i * n + j] = sum;
    }
  }
}
