/**
 * Counter-based randomness: every random number is a pure function of
 * (seed, step, index), so masks are reproducible, fresh at every step, equal on
 * every backend, and regenerated in backward instead of stored.
 *
 * @module
 */

/**
 * The 32-bit integer hash used for masks on every backend (Chris Wellons'
 * "lowbias32": two multiply-xorshift rounds, good avalanche).
 *
 * @param x Any unsigned 32-bit integer.
 * @returns Its hash, an unsigned 32-bit integer.
 *
 * @example Hash an index
 * ```ts
 * import { hash32 } from "./random.ts";
 * import { ok as assert } from "node:assert/strict";
 *
 * const h = hash32(12345);
 * assert(h >= 0 && h < 2 ** 32 && h !== hash32(12346));
 * ```
 */
export function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Domain tags so mask keys and rate draws never share a stream. */
const MASK_DOMAIN = 0x6d61736b; // "mask"
const RATE_DOMAIN = 0x72617465; // "rate"

/**
 * The per-step key that the mask kernels xor into element indices.
 *
 * @param seed The layer's seed (unsigned 32-bit).
 * @param step The layer's training step (0, 1, 2, …; below 2^32).
 * @returns An unsigned 32-bit key.
 *
 * @example Keys differ between steps
 * ```ts
 * import { maskKey } from "./random.ts";
 * import { ok as assert } from "node:assert/strict";
 *
 * assert(maskKey(7, 0) !== maskKey(7, 1));
 * ```
 */
export function maskKey(seed: number, step: number): number {
  return hash32(hash32(seed ^ MASK_DOMAIN) ^ hash32(step + 0x9e3779b9));
}

/**
 * A uniform number in (0, 1) from (seed, step, unit, draw).
 *
 * @param seed The layer's seed.
 * @param step The layer's training step.
 * @param unit The scope unit (0 for the batch, else the row).
 * @param draw Which of the unit's draws.
 * @returns A number strictly between 0 and 1 with 53 random bits.
 *
 * @example Uniform draws stay inside (0, 1)
 * ```ts
 * import { uniform } from "./random.ts";
 * import { ok as assert } from "node:assert/strict";
 *
 * const u = uniform(1, 2, 3, 0);
 * assert(u > 0 && u < 1);
 * ```
 */
export function uniform(
  seed: number,
  step: number,
  unit: number,
  draw: number,
): number {
  const base = hash32(hash32(hash32(seed ^ RATE_DOMAIN) ^ step) ^ unit);
  const hi = hash32(base ^ (2 * draw)) >>> 5; // 27 bits
  const lo = hash32(base ^ (2 * draw + 1)) >>> 6; // 26 bits
  return (hi * 67108864 + lo + 0.5) / 9007199254740992;
}

/**
 * A standard normal draw from (seed, step, unit), by Box–Muller.
 *
 * @param seed The layer's seed.
 * @param step The layer's training step.
 * @param unit The scope unit.
 * @returns A draw from N(0, 1).
 *
 * @example Same inputs, same draw
 * ```ts
 * import { normal } from "./random.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(normal(3, 4, 0), normal(3, 4, 0));
 * ```
 */
export function normal(seed: number, step: number, unit: number): number {
  const u1 = uniform(seed, step, unit, 0);
  const u2 = uniform(seed, step, unit, 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * A fresh random seed for layers made without one.
 *
 * @returns An unsigned 32-bit integer from the platform's secure source.
 *
 * @example Draw a seed
 * ```ts
 * import { randomSeed } from "./random.ts";
 * import { ok as assert } from "node:assert/strict";
 *
 * assert(Number.isInteger(randomSeed()));
 * ```
 */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
