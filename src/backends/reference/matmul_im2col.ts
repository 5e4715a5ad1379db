/**
 * Reference product with a convolution's unfolded input.
 *
 * @module
 */

import type { KernelArgs } from "../../backend.ts";
import { outputSize } from "../kernels.ts";
import { forEachTap } from "./conv.ts";

/**
 * `matmul_im2col`: `c = a · U` or, with `transCols`, `c = a · Uᵀ`, where `U`
 * is `im2col`'s matrix of `x` (its taps reversed with `flip`); each entry a
 * float64 sum (from `c`'s value when accumulating) rounded once to float32.
 *
 * @param a The kernel's arguments.
 *
 * @example A 2×2 kernel of ones over a 3×3 image sums each window
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { matmul_im2col } from "./matmul_im2col.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), [9]);
 * const w = backend.tensor(new Float32Array([1, 1, 1, 1]), [1, 4]);
 * const y = backend.allocate([4]);
 * const geometry = { batch: 1, channels: 1, height: 3, width: 3, kernelH: 2, kernelW: 2 };
 * matmul_im2col({
 *   a: w, x, c: y, m: 1, ...geometry, stride: 1, padding: 0,
 *   transCols: false, flip: false, accumulate: false,
 * });
 * deepEqual([...backend.readSync(y)], [12, 16, 24, 28]);
 * ```
 */
export function matmul_im2col(a: KernelArgs["matmul_im2col"]): void {
  const outH = outputSize(a.height, a.kernelH, a.stride, a.padding);
  const outW = outputSize(a.width, a.kernelW, a.stride, a.padding);
  const taps = a.kernelH * a.kernelW;
  const depth = a.channels * taps;
  const positions = a.batch * outH * outW;
  const x = a.x.storage as Float32Array;
  const unfolded = new Float32Array(depth * positions);
  forEachTap(a, (c, i) => {
    unfolded[c] = i < 0 ? 0 : x[i];
  });
  // Row d of U: im2col's row d, or its channel's taps in reverse.
  const row = (d: number) =>
    a.flip ? d - (d % taps) + taps - 1 - (d % taps) : d;
  const left = a.a.storage as Float32Array;
  const out = a.c.storage as Float32Array;
  const [n, k] = a.transCols ? [depth, positions] : [positions, depth];
  for (let i = 0; i < a.m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = a.accumulate ? out[i * n + j] : 0;
      for (let p = 0; p < k; p++) {
        const u = a.transCols
          ? unfolded[row(j) * positions + p]
          : unfolded[row(p) * positions + j];
        sum += left[i * k + p] * u;
      }
      out[i * n + j] = sum;
    }
  }
}
