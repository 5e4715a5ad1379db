/**
 * Reference data movement for convolutions: `im2col`, its adjoint `col2im`,
 * and `transpose`.
 *
 * @module
 */

import type { ConvGeometry, KernelArgs } from "../../backend.ts";
import { outputSize } from "../kernels.ts";

/** Visits every (`cols` index, image index or -1 for padding) pair of `im2col`. */
export function forEachTap(
  g: ConvGeometry,
  visit: (colIndex: number, imageIndex: number) => void,
): void {
  const outH = outputSize(g.height, g.kernelH, g.stride, g.padding);
  const outW = outputSize(g.width, g.kernelW, g.stride, g.padding);
  const P = g.batch * outH * outW;
  for (let ch = 0; ch < g.channels; ch++) {
    for (let ky = 0; ky < g.kernelH; ky++) {
      for (let kx = 0; kx < g.kernelW; kx++) {
        const row = (ch * g.kernelH + ky) * g.kernelW + kx;
        for (let b = 0; b < g.batch; b++) {
          for (let oy = 0; oy < outH; oy++) {
            const iy = oy * g.stride - g.padding + ky;
            for (let ox = 0; ox < outW; ox++) {
              const ix = ox * g.stride - g.padding + kx;
              const inside = iy >= 0 && iy < g.height && ix >= 0 &&
                ix < g.width;
              visit(
                row * P + (b * outH + oy) * outW + ox,
                inside
                  ? ((b * g.channels + ch) * g.height + iy) * g.width + ix
                  : -1,
              );
            }
          }
        }
      }
    }
  }
}

/**
 * `im2col`: copies each convolution window of an NCHW image into a column of
 * a `[channels · kernelH · kernelW, batch · outH · outW]` matrix, 0 for
 * padding.
 *
 * @param a The kernel's arguments.
 *
 * @example Unfold a 3×3 image into its four 2×2 windows
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { im2col } from "./conv.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), [9]);
 * const cols = backend.allocate([16]);
 * const geometry = { batch: 1, channels: 1, height: 3, width: 3 };
 * im2col({ x, cols, ...geometry, kernelH: 2, kernelW: 2, stride: 1, padding: 0 });
 * deepEqual([...backend.readSync(cols)], [
 *   1, 2, 4, 5, // top-left tap of each window
 *   2, 3, 5, 6, // top-right
 *   4, 5, 7, 8, // bottom-left
 *   5, 6, 8, 9, // bottom-right
 * ]);
 * ```
 */
export function im2col(a: KernelArgs["im2col"]): void {
  const x = a.x.storage as Float32Array;
  const cols = a.cols.storage as Float32Array;
  forEachTap(a, (c, i) => {
    cols[c] = i < 0 ? 0 : x[i];
  });
}

/**
 * `col2im`: the adjoint of `im2col`: every image position receives the sum of
 * the `cols` entries copied from it.
 *
 * @param a The kernel's arguments.
 *
 * @example Fold four 2×2 windows of ones back: the centre is in all four
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { col2im } from "./conv.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const cols = backend.tensor(new Float32Array(16).fill(1), [16]);
 * const x = backend.allocate([9]);
 * const geometry = { batch: 1, channels: 1, height: 3, width: 3 };
 * col2im({ cols, x, ...geometry, kernelH: 2, kernelW: 2, stride: 1, padding: 0 });
 * deepEqual([...backend.readSync(x)], [1, 2, 1, 2, 4, 2, 1, 2, 1]);
 * ```
 */
export function col2im(a: KernelArgs["col2im"]): void {
  const cols = a.cols.storage as Float32Array;
  const x = a.x.storage as Float32Array;
  const sums = new Float64Array(x.length);
  forEachTap(a, (c, i) => {
    if (i >= 0) sums[i] += cols[c];
  });
  x.set(sums);
}

/**
 * `transpose`: swaps the outer two axes of a `[rows, cols, inner]` array.
 *
 * @param a The kernel's arguments.
 *
 * @example Transpose a 2×3 matrix of pairs
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { transpose } from "./conv.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]), [12]);
 * const y = backend.allocate([12]);
 * transpose({ x, y, rows: 2, cols: 3, inner: 2 });
 * deepEqual([...backend.readSync(y)], [1, 1, 4, 4, 2, 2, 5, 5, 3, 3, 6, 6]);
 * ```
 */
export function transpose(a: KernelArgs["transpose"]): void {
  const x = a.x.storage as Float32Array;
  const y = a.y.storage as Float32Array;
  const { rows, cols, inner } = a;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      for (let t = 0; t < inner; t++) {
        y[(j * rows + i) * inner + t] = x[(i * cols + j) * inner + t];
      }
    }
  }
}
