/**
 * One training step of Jumpout worked out on the host, by the rules of the
 * reference kernels (`jumpout_params`, `mask_scale`), so that a layer whose
 * element-wise work runs elsewhere (TensorFlow.js) gets this library's rates,
 * masks and factors: with the counts of active inputs in hand, the whole
 * step ({@linkcode planJumpoutStep}); without them, each element's least
 * count of active inputs for which it is kept ({@linkcode activeThresholds}),
 * which the counts are compared with where they are.
 *
 * @module
 */

import { RATE_ONE } from "../backends/kernels.ts";
import {
  isKept,
  keepThreshold,
  maskBits,
  rescaleFactor,
} from "../backends/reference/jumpout.ts";
import type { ResolvedJumpoutOptions } from "../layers/_jumpout_options.ts";
import { drawRate } from "../layers/_jumpout_stream.ts";
import type { JumpoutStats } from "../layers/jumpout.ts";
import { maskKey } from "../random.ts";

/** What one training step applies, per scope unit and per element. */
export interface JumpoutPlan {
  /** Per scope unit: p, q+, p' and s, as the library's layer reports them. */
  stats: JumpoutStats[];
  /** Per scope unit: the factor kept elements are multiplied by (float32). */
  scale: Float32Array;
  /** Per element: 1 when kept, 0 when dropped. */
  mask: Uint8Array;
}

/**
 * The rates p that the scope units draw at `step`, in units of 2^-24.
 *
 * @param options The layer's checked options.
 * @param step The training step.
 * @param rows Scope units: 1 with `scope: "batch"`, else the batch's rows.
 * @returns One rate per scope unit.
 *
 * @example A fixed rate for each of two rows
 * ```ts
 * import { drawRates } from "./_jumpout_plan.ts";
 * import { resolveJumpoutOptions } from "../layers/_jumpout_options.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const options = resolveJumpoutOptions({ monotone: false, rate: 0.5 }, "Jumpout");
 * deepEqual([...drawRates(options, 0, 2)], [2 ** 23, 2 ** 23]);
 * ```
 */
export function drawRates(
  options: Readonly<ResolvedJumpoutOptions>,
  step: number,
  rows: number,
): Uint32Array {
  return Uint32Array.from(
    { length: rows },
    (_, r) => drawRate(options, step, r),
  );
}

/**
 * The statistics of each scope unit given its rate and its count of active
 * inputs, as the library's layer reports them.
 *
 * @param options The layer's checked options.
 * @param rates Per scope unit, p in units of 2^-24 ({@linkcode drawRates}).
 * @param counts Per scope unit, the inputs > 0 (ignored without `normalize`).
 * @param cols Inputs per scope unit.
 * @returns One entry per scope unit.
 *
 * @example Half the inputs active doubles the rate
 * ```ts
 * import { unitStats } from "./_jumpout_plan.ts";
 * import { resolveJumpoutOptions } from "../layers/_jumpout_options.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const options = resolveJumpoutOptions({ monotone: false, rate: 0.25 }, "Jumpout");
 * const [s] = unitStats(options, new Uint32Array([2 ** 22]), [2], 4);
 * deepEqual([s.p, s.qPlus, s.rate], [0.25, 0.5, 0.5]);
 * ```
 */
export function unitStats(
  options: Readonly<ResolvedJumpoutOptions>,
  rates: Uint32Array,
  counts: ArrayLike<number> | undefined,
  cols: number,
): JumpoutStats[] {
  const o = options;
  const maxDrop = Math.round(o.pMax * RATE_ONE);
  return Array.from(rates, (rate, r) => {
    const count = o.normalize ? counts![r] : 0;
    const keep = keepThreshold(count, rate, cols, maxDrop, o.normalize);
    return {
      p: rate / RATE_ONE,
      qPlus: o.normalize ? (cols === 0 ? 0 : count / cols) : NaN,
      rate: 1 - keep / RATE_ONE,
      scale: rescaleFactor(keep, o.rescalePower),
    };
  });
}

/**
 * Works out step `step` for an input of `rows × cols` elements (one scope
 * unit per row), given how many elements of each row are > 0.
 *
 * @param options The layer's checked options.
 * @param step The training step.
 * @param rows Scope units: 1 with `scope: "batch"`, else the batch's rows.
 * @param cols Elements per scope unit.
 * @param counts Per row, the elements > 0; ignored (may be undefined) when
 *   the options do not normalise.
 * @returns The step's statistics, factors and mask.
 *
 * @example Two rows, the second all inactive, so nothing is dropped there
 * ```ts
 * import { planJumpoutStep } from "./_jumpout_plan.ts";
 * import { resolveJumpoutOptions } from "../layers/_jumpout_options.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const options = resolveJumpoutOptions({ seed: 3, scope: "sample" }, "Jumpout");
 * const plan = planJumpoutStep(options, 0, 2, 4, [2, 0]);
 * equal(plan.stats[0].qPlus, 0.5);
 * deepEqual([plan.stats[1].rate, plan.scale[1]], [0, 1]);
 * deepEqual([...plan.mask.subarray(4)], [1, 1, 1, 1]);
 * ```
 */
export function planJumpoutStep(
  options: Readonly<ResolvedJumpoutOptions>,
  step: number,
  rows: number,
  cols: number,
  counts: ArrayLike<number> | undefined,
): JumpoutPlan {
  const key = maskKey(options.seed, step);
  const stats = unitStats(
    options,
    drawRates(options, step, rows),
    counts,
    cols,
  );
  const scale = Float32Array.from(stats, (s) => s.scale);
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    // The threshold back from p' = 1 - keep / 2^24 (exact in float64).
    const keep = RATE_ONE - Math.round(stats[r].rate * RATE_ONE);
    const end = (r + 1) * cols;
    for (let i = r * cols; i < end; i++) mask[i] = isKept(i, key, keep) ? 1 : 0;
  }
  return { stats, scale, mask };
}

/**
 * For each element, the least count of active inputs in its scope unit for
 * which the element is kept at step `step` (with `normalize`): a unit with
 * count c > 0 is kept exactly when c is at least its threshold, and every
 * unit of a scope unit with count 0 is kept. Thresholds are integers up to
 * `cols + 1`; they are exact while `rate × cols` stays below 2^53.
 *
 * The rule, from the library's: kept ⇔ h < 2^24 - min(⌊p·cols / c⌋, pMax)
 * with h the element's 24 hash bits, i.e. with m = 2^24 - 1 - h,
 * pMax ≤ m (threshold 0) or ⌊p·cols / c⌋ ≤ m ⇔ c ≥ ⌊p·cols / (m + 1)⌋ + 1.
 *
 * @param options The layer's checked options.
 * @param step The training step.
 * @param rows Scope units: 1 with `scope: "batch"`, else the batch's rows.
 * @param cols Elements per scope unit.
 * @param rates Per scope unit, p in units of 2^-24 ({@linkcode drawRates}).
 * @returns One threshold per element, in float32.
 *
 * @example Thresholds agree with the masks worked out from the counts
 * ```ts
 * import { activeThresholds, drawRates, planJumpoutStep } from "./_jumpout_plan.ts";
 * import { resolveJumpoutOptions } from "../layers/_jumpout_options.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const options = resolveJumpoutOptions({ seed: 5, sigma: 0.4 }, "Jumpout");
 * const thresholds = activeThresholds(options, 2, 1, 64, drawRates(options, 2, 1));
 * for (const count of [1, 20, 40, 64]) {
 *   const { mask } = planJumpoutStep(options, 2, 1, 64, [count]);
 *   deepEqual([...mask], [...thresholds].map((t) => count >= t ? 1 : 0));
 * }
 * ```
 */
export function activeThresholds(
  options: Readonly<ResolvedJumpoutOptions>,
  step: number,
  rows: number,
  cols: number,
  rates: Uint32Array,
): Float32Array {
  const key = maskKey(options.seed, step);
  const maxDrop = Math.round(options.pMax * RATE_ONE);
  const thresholds = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const total = rates[r] * cols;
    const end = (r + 1) * cols;
    for (let i = r * cols; i < end; i++) {
      const m = RATE_ONE - 1 - maskBits(i, key);
      thresholds[i] = maxDrop <= m ? 0 : Math.floor(total / (m + 1)) + 1;
    }
  }
  return thresholds;
}
