/**
 * A Jumpout layer's random stream, step by step: the step counter's check and
 * the rate each step draws. Every implementation of the layer draws its
 * rates here, so the same seed and step give the same rates everywhere.
 *
 * @module
 */

import { RATE_ONE } from "../backends/kernels.ts";
import { normal } from "../random.ts";
import type { ResolvedJumpoutOptions } from "./_jumpout_options.ts";

/**
 * The drop rate p that scope unit `unit` draws at `step`, in units of 2^-24:
 * min(pMin + |σ·z|, pMax) with z ~ N(0, 1) from (seed, step, unit), or the
 * fixed `rate` when `monotone` is false; rounded to nearest.
 *
 * @param options The layer's checked options.
 * @param step The training step (below 2^32).
 * @param unit The scope unit: 0 for the batch, else the whole-batch row.
 * @returns p as an integer in [0, 2^24).
 *
 * @example A fixed rate of 1/4
 * ```ts
 * import { drawRate } from "./_jumpout_stream.ts";
 * import { resolveJumpoutOptions } from "./_jumpout_options.ts";
 * import { equal, ok } from "node:assert/strict";
 *
 * const fixed = resolveJumpoutOptions({ monotone: false, rate: 0.25 }, "Jumpout");
 * equal(drawRate(fixed, 3, 0), 2 ** 22);
 * const drawn = resolveJumpoutOptions({ seed: 1 }, "Jumpout");
 * const p = drawRate(drawn, 3, 0) / 2 ** 24;
 * ok(p >= 0.01 && p <= 0.6);
 * ```
 */
export function drawRate(
  options: Readonly<ResolvedJumpoutOptions>,
  step: number,
  unit: number,
): number {
  const o = options;
  const p = o.monotone
    ? Math.min(o.pMin + Math.abs(o.sigma * normal(o.seed, step, unit)), o.pMax)
    : o.rate!;
  return Math.round(p * RATE_ONE);
}

/**
 * Checks a step counter: a safe integer >= 0.
 *
 * @param what What the caller is doing, e.g. `"set Jumpout step"`.
 * @param step The value given.
 * @returns `step`.
 * @throws {RangeError} When `step` is not a safe integer >= 0.
 *
 * @example A negative step is refused
 * ```ts
 * import { checkStep } from "./_jumpout_stream.ts";
 * import { equal, throws } from "node:assert/strict";
 *
 * equal(checkStep("set Jumpout step", 5), 5);
 * throws(() => checkStep("set Jumpout step", -1), /step must be a safe integer >= 0, got -1/);
 * ```
 */
export function checkStep(what: string, step: unknown): number {
  if (!Number.isSafeInteger(step) || (step as number) < 0) {
    throw new RangeError(
      `Cannot ${what}: step must be a safe integer >= 0, got ${String(step)}`,
    );
  }
  return step as number;
}
