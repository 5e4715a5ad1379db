import { FLOAT32_MAX, RATE_ONE } from "../backends/kernels.ts";
import { randomSeed } from "../random.ts";

/** Whether one rate and one q+ serve the whole forward call, or one per sample. */
export type JumpoutScope = "batch" | "sample";

/** Options of {@linkcode Jumpout}; every field has the paper's default. */
export interface JumpoutOptions {
  /** Standard deviation of the half-normal the rate is drawn from. Default 0.1. */
  sigma?: number;
  /** Lower bound added to the half-normal draw. Default 0.01. */
  pMin?: number;
  /** Upper bound of the drawn rate and of the normalised rate. Default 0.6. */
  pMax?: number;
  /** Kept units are scaled by (1 - p')^-rescalePower. Default 0.75. */
  rescalePower?: number;
  /** One rate and q+ per forward call (`batch`, default) or per row / image (`sample`). */
  scope?: JumpoutScope;
  /** Seed of every random choice; drawn at random when absent. */
  seed?: number;
  /** Draw the rate from the truncated half-normal (default); false uses `rate`. */
  monotone?: boolean;
  /** Divide the rate by q+, the share of active units (default); false uses it as is. */
  normalize?: boolean;
  /** The fixed rate used when `monotone` is false. */
  rate?: number;
}

/** Every option, for lists the compiler checks against {@linkcode JumpoutOptions}. */
const OPTION_FIELDS: Record<keyof Required<JumpoutOptions>, true> = {
  sigma: true,
  pMin: true,
  pMax: true,
  rescalePower: true,
  scope: true,
  seed: true,
  monotone: true,
  normalize: true,
  rate: true,
};

/** The names of {@linkcode JumpoutOptions}' fields, in the order messages list them. */
export const JUMPOUT_OPTION_KEYS: readonly (keyof JumpoutOptions)[] = Object
  .keys(OPTION_FIELDS) as (keyof JumpoutOptions)[];

/** Options with every default filled in and every value checked. */
export type ResolvedJumpoutOptions = Required<Omit<JumpoutOptions, "rate">> & {
  rate: number | undefined;
};

/**
 * Fills in defaults and checks every option, naming the bad one.
 *
 * @param options What the user passed.
 * @param layer The layer's name for messages (`Jumpout`, `Dropout`).
 * @returns The complete, checked options.
 */
export function resolveJumpoutOptions(
  options: JumpoutOptions,
  layer: string,
): ResolvedJumpoutOptions {
  const fail = (Err: typeof RangeError, detail: string): never => {
    throw new Err(`Cannot create ${layer}: ${detail}`);
  };
  if (options === null || typeof options !== "object") {
    fail(TypeError, `options must be an object, got ${String(options)}`);
  }
  const o = {
    sigma: 0.1,
    pMin: 0.01,
    pMax: 0.6,
    rescalePower: 0.75,
    scope: "batch" as JumpoutScope,
    monotone: true,
    normalize: true,
    // An option given as undefined takes its default.
    ...Object.fromEntries(
      Object.entries(options).filter(([, v]) => v !== undefined),
    ) as JumpoutOptions,
  };
  const finite = (v: unknown): v is number =>
    typeof v === "number" && Number.isFinite(v);
  const unitInterval = (v: unknown): boolean => finite(v) && v >= 0 && v < 1;
  if (!finite(o.sigma) || o.sigma < 0) {
    fail(RangeError, `sigma must be a finite number >= 0, got ${o.sigma}`);
  }
  if (!unitInterval(o.pMin)) {
    fail(RangeError, `pMin must be in [0, 1), got ${o.pMin}`);
  }
  if (!unitInterval(o.pMax)) {
    fail(RangeError, `pMax must be in [0, 1), got ${o.pMax}`);
  }
  if (o.pMin > o.pMax) {
    fail(
      RangeError,
      `pMin must not exceed pMax, got pMin ${o.pMin} > pMax ${o.pMax}`,
    );
  }
  if (!finite(o.rescalePower) || o.rescalePower < 0) {
    fail(
      RangeError,
      `rescalePower must be a finite number >= 0, got ${o.rescalePower}`,
    );
  }
  if (o.scope !== "batch" && o.scope !== "sample") {
    fail(
      TypeError,
      `scope must be "batch" or "sample", got ${JSON.stringify(o.scope)}`,
    );
  }
  for (const flag of ["monotone", "normalize"] as const) {
    if (typeof o[flag] !== "boolean") {
      fail(TypeError, `${flag} must be a boolean, got ${String(o[flag])}`);
    }
  }
  if (o.monotone && o.rate !== undefined) {
    fail(
      TypeError,
      `rate needs monotone: false, got rate ${o.rate} with monotone: true`,
    );
  }
  if (!o.monotone && !unitInterval(o.rate)) {
    fail(RangeError, `rate must be in [0, 1), got ${o.rate}`);
  }
  // The largest factor, at the highest rate short of dropping every unit,
  // must stay a finite float32, or a kept 0 would become 0 × ∞ = NaN.
  const maxRate = o.normalize || o.monotone ? o.pMax : o.rate!;
  const minKeep = Math.max(1, RATE_ONE - Math.round(maxRate * RATE_ONE));
  const maxScale = (minKeep / RATE_ONE) ** -o.rescalePower;
  if (Math.fround(maxScale) > FLOAT32_MAX) {
    fail(
      RangeError,
      `rescalePower must keep (1 - p')^-rescalePower finite in float32 for p' up to ${maxRate}, got ${o.rescalePower}`,
    );
  }
  const seed = o.seed ?? randomSeed();
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    fail(RangeError, `seed must be an integer in [0, 2^32), got ${seed}`);
  }
  return { ...o, seed, rate: o.rate };
}

/**
 * The options that make a layer equal to one with `options`: every field,
 * `rate` only when set, `seed` only when given.
 *
 * @param options Checked options.
 * @param seed The seed to write, or undefined to leave it out.
 * @returns Options for a constructor or a spec.
 *
 * @example The defaults, with a seed
 * ```ts
 * import { jumpoutOptionsOf, resolveJumpoutOptions } from "./_jumpout_options.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const resolved = resolveJumpoutOptions({ seed: 4 }, "Jumpout");
 * deepEqual(jumpoutOptionsOf(resolved, 4), {
 *   sigma: 0.1, pMin: 0.01, pMax: 0.6, rescalePower: 0.75, scope: "batch",
 *   monotone: true, normalize: true, seed: 4,
 * });
 * ```
 */
export function jumpoutOptionsOf(
  options: Readonly<ResolvedJumpoutOptions>,
  seed: number | undefined,
): JumpoutOptions {
  const o = options;
  const out: JumpoutOptions = {
    sigma: o.sigma,
    pMin: o.pMin,
    pMax: o.pMax,
    rescalePower: o.rescalePower,
    scope: o.scope,
    monotone: o.monotone,
    normalize: o.normalize,
  };
  if (o.rate !== undefined) out.rate = o.rate;
  if (seed !== undefined) out.seed = seed;
  return out;
}
