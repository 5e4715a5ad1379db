import { Jumpout, type JumpoutScope } from "./jumpout.ts";

/** Options of {@linkcode Dropout}. */
export interface DropoutOptions {
  /** Share of units dropped, in [0, 1). */
  rate: number;
  /** Seed of the masks; drawn at random when absent. */
  seed?: number;
  /** One mask stream per call (`batch`, default) or per row; the rate is the same. */
  scope?: JumpoutScope;
}

/**
 * Plain (inverted) dropout: each unit is dropped with probability `rate` and
 * kept units are scaled by 1 / (1 - rate). It is exactly Jumpout with
 * `monotone: false, normalize: false, rescalePower: 1`, so the two share
 * kernels, masks and every guarantee.
 *
 * @example Dropout drops about `rate` of the units
 * ```ts
 * import { createBackend, Dropout } from "../../mod.ts";
 * import { ok as assert } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.tensor(new Float32Array(10000).fill(1), [100, 100]);
 * const y = await backend.read(new Dropout({ rate: 0.2, seed: 7 }).forward(x, { training: true }));
 * const dropped = y.filter((v) => v === 0).length / y.length;
 * assert(Math.abs(dropped - 0.2) < 0.02);
 * assert(y.every((v) => v === 0 || v === Math.fround(1 / 0.8)));
 * ```
 */
export class Dropout extends Jumpout {
  /**
   * Makes a dropout layer.
   *
   * @param options `rate` (required), `seed`, `scope`.
   * @throws {RangeError} When `rate` is outside [0, 1) or `seed` is not a 32-bit unsigned integer.
   */
  constructor(options: DropoutOptions) {
    const { rate, seed, scope } = options ?? ({} as DropoutOptions);
    super({
      monotone: false,
      normalize: false,
      rescalePower: 1,
      rate,
      seed,
      scope,
    });
  }

  /** The name used in error messages. */
  protected override get layerName(): string {
    return "Dropout";
  }
}
