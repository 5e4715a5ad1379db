/**
 * One training step of Jumpout worked out on the host: the rates drawn, the
 * applied rate and factor of each scope unit, and the mask, by the rules of
 * the reference kernels (`jumpout_params`, `mask_scale`). A layer that runs
 * its element-wise work elsewhere (TensorFlow.js) gets this library's masks.
 *
 * @module
 */

import { RATE_ONE } from "../backends/kernels.ts";
import {
  isKept,
  keepThreshold,
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
 * Works out step `step` for an input of `rows × cols` elements (one scope
 * unit per row), given how many elements of each row are > 0.
 *
 * @param options The layer's checked options.
 * @param step The training step (below 2^32).
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
  const o = options;
  const key = maskKey(o.seed, step);
  const maxDrop = Math.round(o.pMax * RATE_ONE);
  const stats: JumpoutStats[] = [];
  const scale = new Float32Array(rows);
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const rate = drawRate(o, step, r);
    const count = o.normalize ? counts![r] : 0;
    const keep = keepThreshold(count, rate, cols, maxDrop, o.normalize);
    scale[r] = rescaleFactor(keep, o.rescalePower);
    stats.push({
      p: rate / RATE_ONE,
      qPlus: o.normalize ? (cols === 0 ? 0 : count / cols) : NaN,
      rate: 1 - keep / RATE_ONE,
      scale: scale[r],
    });
    const end = (r + 1) * cols;
    for (let i = r * cols; i < end; i++) mask[i] = isKept(i, key, keep) ? 1 : 0;
  }
  return { stats, scale, mask };
}
