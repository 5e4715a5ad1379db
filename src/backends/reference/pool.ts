/**
 * Reference pooling: max and average pooling (forward, backward) and the
 * gradient of global average pooling (whose forward is `bias_grad` with `outer = 1`,
 * `channels = N·C`, `inner = H·W`, then a scale by `1 / (H·W)`).
 *
 * @module
 */

import type { KernelArgs } from "../../backend.ts";
import { outputSize } from "../kernels.ts";

/**
 * `maxpool_forward`: each window's maximum and where it is. The first
 * in-bounds cell (row-major) starts as the maximum and only a strictly greater
 * value replaces it, so ties go to the earliest cell.
 *
 * @param a The kernel's arguments.
 *
 * @example Pool a 2×4 plane with 2×2 windows; the tie goes to the first cell
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { maxpoolForward } from "./pool.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 5, 7, 7, 2, 3, 7, 0]), [8]);
 * const y = backend.allocate([2]);
 * const argmax = backend.allocate([2], "uint32");
 * const geometry = { planes: 1, height: 2, width: 4 };
 * maxpoolForward({ x, y, argmax, ...geometry, kernel: 2, stride: 2, padding: 0 });
 * deepEqual([...backend.readSync(y)], [5, 7]);
 * deepEqual([...backend.readSync(argmax)], [1, 2]);
 * ```
 */
export function maxpoolForward(a: KernelArgs["maxpool_forward"]): void {
  const x = a.x.storage as Float32Array;
  const y = a.y.storage as Float32Array;
  const argmax = a.argmax.storage as Uint32Array;
  const outH = outputSize(a.height, a.kernel, a.stride, a.padding);
  const outW = outputSize(a.width, a.kernel, a.stride, a.padding);
  const plane = a.height * a.width;
  let out = 0;
  for (let p = 0; p < a.planes; p++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        // A window lying wholly in the padding (padding >= kernel) keeps -∞ at 0.
        let best = -Infinity, where = -1;
        for (let ky = 0; ky < a.kernel; ky++) {
          const iy = oy * a.stride - a.padding + ky;
          if (iy < 0 || iy >= a.height) continue;
          for (let kx = 0; kx < a.kernel; kx++) {
            const ix = ox * a.stride - a.padding + kx;
            if (ix < 0 || ix >= a.width) continue;
            const v = x[p * plane + iy * a.width + ix];
            if (where < 0 || v > best) {
              best = v;
              where = iy * a.width + ix;
            }
          }
        }
        y[out] = best;
        argmax[out++] = Math.max(where, 0);
      }
    }
  }
}

/**
 * `maxpool_backward`: routes each window's gradient to its `argmax` cell,
 * summing where windows overlap on the same cell.
 *
 * @param a The kernel's arguments.
 *
 * @example Two overlapping 2×2 windows of a 2×3 plane whose maximum is the same cell
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { maxpoolBackward } from "./pool.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const dy = backend.tensor(new Float32Array([1, 10]), [2]);
 * const argmax = backend.allocate([2], "uint32");
 * backend.upload(argmax, new Uint32Array([1, 1]));
 * const dx = backend.allocate([6]);
 * const geometry = { planes: 1, height: 2, width: 3 };
 * maxpoolBackward({ dy, argmax, dx, ...geometry, kernel: 2, stride: 1, padding: 0 });
 * deepEqual([...backend.readSync(dx)], [0, 11, 0, 0, 0, 0]);
 * ```
 */
export function maxpoolBackward(a: KernelArgs["maxpool_backward"]): void {
  const dy = a.dy.storage as Float32Array;
  const argmax = a.argmax.storage as Uint32Array;
  const dx = a.dx.storage as Float32Array;
  const outPlane = outputSize(a.height, a.kernel, a.stride, a.padding) *
    outputSize(a.width, a.kernel, a.stride, a.padding);
  const plane = a.height * a.width;
  const sums = new Float64Array(dx.length);
  for (let p = 0; p < a.planes; p++) {
    for (let w = p * outPlane; w < (p + 1) * outPlane; w++) {
      sums[p * plane + argmax[w]] += dy[w];
    }
  }
  dx.set(sums);
}

/**
 * `avgpool_forward`: each window's sum over its in-bounds cells, in float64,
 * divided by the whole window's `kernel²` cells (padding counts as zeros).
 *
 * @param a The kernel's arguments.
 *
 * @example Pool a 3×3 plane with 2×2 windows, stride 2, padding 1
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { avgpoolForward } from "./pool.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), [9]);
 * const y = backend.allocate([4]);
 * const geometry = { planes: 1, height: 3, width: 3 };
 * avgpoolForward({ x, y, ...geometry, kernel: 2, stride: 2, padding: 1 });
 * deepEqual([...backend.readSync(y)], [0.25, 1.25, 2.75, 7]);
 * ```
 */
export function avgpoolForward(a: KernelArgs["avgpool_forward"]): void {
  const x = a.x.storage as Float32Array;
  const y = a.y.storage as Float32Array;
  const outH = outputSize(a.height, a.kernel, a.stride, a.padding);
  const outW = outputSize(a.width, a.kernel, a.stride, a.padding);
  const plane = a.height * a.width;
  const area = a.kernel * a.kernel;
  let out = 0;
  for (let p = 0; p < a.planes; p++) {
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1] = clip(oy, a.kernel, a.stride, a.padding, a.height);
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1] = clip(ox, a.kernel, a.stride, a.padding, a.width);
        let sum = 0;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            sum += x[p * plane + iy * a.width + ix];
          }
        }
        y[out++] = sum / area;
      }
    }
  }
}

/**
 * `avgpool_backward`: spreads each window's `dy / kernel²` over its in-bounds
 * cells, summing in float64 where windows overlap.
 *
 * @param a The kernel's arguments.
 *
 * @example Two overlapping 2×2 windows of a 2×3 plane share its middle column
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { avgpoolBackward } from "./pool.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const dy = backend.tensor(new Float32Array([4, 8]), [2]);
 * const dx = backend.allocate([6]);
 * const geometry = { planes: 1, height: 2, width: 3 };
 * avgpoolBackward({ dy, dx, ...geometry, kernel: 2, stride: 1, padding: 0 });
 * deepEqual([...backend.readSync(dx)], [1, 3, 2, 1, 3, 2]);
 * ```
 */
export function avgpoolBackward(a: KernelArgs["avgpool_backward"]): void {
  const dy = a.dy.storage as Float32Array;
  const dx = a.dx.storage as Float32Array;
  const outH = outputSize(a.height, a.kernel, a.stride, a.padding);
  const outW = outputSize(a.width, a.kernel, a.stride, a.padding);
  const plane = a.height * a.width;
  const area = a.kernel * a.kernel;
  const sums = new Float64Array(dx.length);
  let w = 0;
  for (let p = 0; p < a.planes; p++) {
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1] = clip(oy, a.kernel, a.stride, a.padding, a.height);
      for (let ox = 0; ox < outW; ox++, w++) {
        const [x0, x1] = clip(ox, a.kernel, a.stride, a.padding, a.width);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            sums[p * plane + iy * a.width + ix] += dy[w];
          }
        }
      }
    }
  }
  for (let i = 0; i < dx.length; i++) dx[i] = sums[i] / area;
}

/**
 * The in-bounds cells `[first, end)` along an axis of `size` cells of window
 * `o` (which starts at `o · stride - padding`); empty when it has none.
 */
function clip(
  o: number,
  kernel: number,
  stride: number,
  padding: number,
  size: number,
): [number, number] {
  const start = o * stride - padding;
  const first = Math.max(start, 0);
  return [first, Math.max(Math.min(start + kernel, size), first)];
}

/**
 * `row_broadcast`: fills each row with `alpha` times its `dy` entry (the
 * gradient of a row mean when `alpha = 1 / cols`).
 *
 * @param a The kernel's arguments.
 *
 * @example Spread two row gradients over three columns
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { rowBroadcast } from "./pool.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const dy = backend.tensor(new Float32Array([3, -6]), [2]);
 * const dx = backend.allocate([6]);
 * rowBroadcast({ dy, dx, rows: 2, cols: 3, alpha: 1 / 3 });
 * deepEqual([...backend.readSync(dx)], [1, 1, 1, -2, -2, -2]);
 * ```
 */
export function rowBroadcast(a: KernelArgs["row_broadcast"]): void {
  const dy = a.dy.storage as Float32Array;
  const dx = a.dx.storage as Float32Array;
  for (let r = 0; r < a.rows; r++) {
    dx.fill(Math.fround(a.alpha * dy[r]), r * a.cols, (r + 1) * a.cols);
  }
}
