/**
 * Reference Jumpout kernels, and the per-row and per-element rules they are
 * made of: the applied rate as a keep threshold, the rescale factor, and
 * whether an element is kept. Code that applies Jumpout outside a backend
 * (the TensorFlow.js layer) uses the same rules, so its masks are these.
 *
 * @module
 */

import type { KernelArgs } from "../../backend.ts";
import { FLOAT32_MAX, RATE_ONE } from "../kernels.ts";
import { hash32 } from "../../random.ts";

/**
 * A row's keep threshold, `2^24 - p'`: with `normalize`, p' is
 * `min(floor(rate × cols / count), maxDrop)` (0 when `count` is 0);
 * without, p' is `rate`. Rates are integers in units of 2^-24.
 *
 * @param count The row's inputs > 0.
 * @param rate The drawn rate p, fixed point.
 * @param cols The inputs the row's q+ divides `count` by.
 * @param maxDrop pMax, fixed point: the cap of the normalised rate.
 * @param normalize Whether p is divided by q+.
 * @returns The threshold: an element is kept when its hash's top 24 bits are below it.
 *
 * @example Half the units active double the rate, up to pMax
 * ```ts
 * import { keepThreshold } from "./jumpout.ts";
 * import { equal } from "node:assert/strict";
 *
 * const one = 2 ** 24;
 * equal(keepThreshold(2, one / 4, 4, one / 2, true), one / 2);
 * equal(keepThreshold(1, one / 4, 4, one / 2, true), one / 2);
 * equal(keepThreshold(0, one / 4, 4, one / 2, true), one);
 * equal(keepThreshold(0, one / 4, 4, one / 2, false), (3 * one) / 4);
 * ```
 */
export function keepThreshold(
  count: number,
  rate: number,
  cols: number,
  maxDrop: number,
  normalize: boolean,
): number {
  let drop = rate;
  if (normalize) {
    drop = count === 0 ? 0 : Math.min(
      Number(BigInt(rate) * BigInt(cols) / BigInt(count)),
      maxDrop,
    );
  }
  return RATE_ONE - drop;
}

/**
 * The factor kept elements are multiplied by, `(keep / 2^24)^-power` in
 * float32; 0 when every element is dropped.
 *
 * @param keep The row's keep threshold (see {@linkcode keepThreshold}).
 * @param power The rescale power.
 * @returns The factor.
 *
 * @example Keeping half with power 1 doubles
 * ```ts
 * import { rescaleFactor } from "./jumpout.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(rescaleFactor(2 ** 23, 1), 2);
 * equal(rescaleFactor(0, 1), 0);
 * ```
 */
export function rescaleFactor(keep: number, power: number): number {
  return keep === 0 ? 0 : Math.fround((keep / RATE_ONE) ** -power);
}

/**
 * The 24 bits of the element at `index` under `key` that decide whether it is
 * kept: the top bits of `hash32(index ^ key)`.
 *
 * @param index The element's index, an unsigned 32-bit integer.
 * @param key The step's key ({@linkcode maskKey}).
 * @returns An integer in [0, 2^24).
 *
 * @example The bits of element 5
 * ```ts
 * import { maskBits } from "./jumpout.ts";
 * import { hash32 } from "../../random.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(maskBits(5, 9), hash32(5 ^ 9) >>> 8);
 * ```
 */
export function maskBits(index: number, key: number): number {
  return hash32((index ^ key) >>> 0) >>> 8;
}

/**
 * Whether the element at `index` is kept under `key`: its
 * {@linkcode maskBits} are below the row's threshold.
 *
 * @param index The element's index, an unsigned 32-bit integer.
 * @param key The step's key ({@linkcode maskKey}).
 * @param keep The row's keep threshold.
 * @returns True when the element is kept.
 *
 * @example A threshold of 2^24 keeps everything, 0 nothing
 * ```ts
 * import { isKept } from "./jumpout.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(isKept(5, 9, 2 ** 24), true);
 * equal(isKept(5, 9, 0), false);
 * ```
 */
export function isKept(index: number, key: number, keep: number): boolean {
  return maskBits(index, key) < keep;
}

/**
 * `count_active`: per row, how many elements are > 0 (NaN is not).
 *
 * @param a The kernel's arguments.
 *
 * @example Count a row of four
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { countActive } from "./jumpout.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, -1, NaN, 2]), [4]);
 * const counts = backend.allocate([1], "uint32");
 * countActive({ x, counts, rows: 1, cols: 4 });
 * deepEqual([...backend.readSync(counts)], [2]);
 * ```
 */
export function countActive(a: KernelArgs["count_active"]): void {
  const x = a.x.storage as Float32Array;
  const counts = a.counts.storage as Uint32Array;
  for (let r = 0; r < a.rows; r++) {
    let c = 0;
    for (let i = r * a.cols; i < (r + 1) * a.cols; i++) if (x[i] > 0) c++;
    counts[r] = c;
  }
}

/**
 * `jumpout_params`: per row, the applied drop rate (as a keep threshold) and
 * the rescale factor.
 *
 * @param a The kernel's arguments.
 *
 * @example One active unit of two doubles the rate
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { jumpoutParams } from "./jumpout.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const counts = backend.allocate([1], "uint32");
 * const rate = backend.allocate([1], "uint32");
 * backend.upload(counts, new Uint32Array([1]));
 * backend.upload(rate, new Uint32Array([2 ** 22]));
 * const keep = backend.allocate([1], "uint32");
 * const scale = backend.allocate([1]);
 * jumpoutParams({ counts, rate, keep, scale, rows: 1, cols: 2, maxDrop: 2 ** 23, normalize: true, power: 1 });
 * deepEqual([backend.readSync(keep)[0], backend.readSync(scale)[0]], [2 ** 23, 2]);
 * ```
 */
export function jumpoutParams(a: KernelArgs["jumpout_params"]): void {
  const counts = a.counts.storage as Uint32Array;
  const rate = a.rate.storage as Uint32Array;
  const keep = a.keep.storage as Uint32Array;
  const scale = a.scale.storage as Float32Array;
  for (let r = 0; r < a.rows; r++) {
    keep[r] = keepThreshold(counts[r], rate[r], a.cols, a.maxDrop, a.normalize);
    scale[r] = rescaleFactor(keep[r], a.power);
  }
}

/**
 * `mask_scale`: keep each element when the hash of its index (counted from
 * `offset`) clears the row's threshold, scaled by the row's factor; drop it
 * to 0 otherwise.
 *
 * @param a The kernel's arguments.
 *
 * @example Keep everything at factor 2
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { maskScale } from "./jumpout.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 2, 3]), [3]);
 * const y = backend.allocate([3]);
 * const keep = backend.allocate([1], "uint32");
 * backend.upload(keep, new Uint32Array([2 ** 24])); // keep everything
 * const scale = backend.tensor(new Float32Array([2]), [1]);
 * maskScale({ x, keep, scale, y, rows: 1, cols: 3, key: 9, offset: 0 });
 * deepEqual([...backend.readSync(y)], [2, 4, 6]);
 * ```
 */
export function maskScale(a: KernelArgs["mask_scale"]): void {
  const x = a.x.storage as Float32Array;
  const y = a.y.storage as Float32Array;
  const keep = a.keep.storage as Uint32Array;
  const scale = a.scale.storage as Float32Array;
  for (let r = 0; r < a.rows; r++) {
    for (let i = r * a.cols; i < (r + 1) * a.cols; i++) {
      // The index wraps at 2^32.
      y[i] = isKept((i + a.offset) >>> 0, a.key, keep[r])
        ? saturatingProduct(x[i], scale[r])
        : 0;
    }
  }
}

/** `x * s` in float32, held at ±FLOAT32_MAX when a finite `x` would overflow. */
function saturatingProduct(x: number, s: number): number {
  const y = Math.fround(x * s);
  if (Number.isFinite(x) && !Number.isFinite(y) && !Number.isNaN(y)) {
    return Math.sign(y) * FLOAT32_MAX;
  }
  return y;
}
