/**
 * Image augmentation for training: random crop of the padded image and
 * random horizontal flip, each sample's draw a pure function of (seed, step,
 * the sample's index in the whole batch).
 *
 * @module
 */

import { checkInteger, checkSeed, describe } from "../_checks.ts";
import { hash32 } from "../random.ts";
import { checkAugmentOptions } from "./_check_augment.ts";
import type { AugmentOptions } from "./augment_options.ts";

/** Domain tag, so augmentation never shares a stream with masks or rates. */
const AUGMENT_DOMAIN = 0x6175676d; // "augm"

/** The fields of {@linkcode AugmentImagesOptions} besides {@linkcode AugmentOptions}'. */
const IMAGE_KEYS = [
  "channels",
  "height",
  "width",
  "seed",
  "step",
  "rowOffset",
] as const;

/** What {@linkcode augmentImages} needs: the images' shape, the key of the draws, and how to augment. */
export interface AugmentImagesOptions extends AugmentOptions {
  /** Channels of each image. */
  channels: number;
  /** Rows of each image. */
  height: number;
  /** Columns of each image. */
  width: number;
  /** Seed of the draws (unsigned 32-bit). */
  seed: number;
  /** The training step: each step draws afresh. */
  step: number;
  /**
   * The first image's index in the whole batch (default 0), so that a shard
   * of a batch gets the draws the whole batch would.
   */
  rowOffset?: number;
}

/**
 * Writes an augmented copy of a batch of images into `out`: each image,
 * padded with `padding` pixels of `fill` on every side, is cropped back to
 * height × width at an offset (dy, dx) uniform over `[-padding, padding]²`
 * and, when `flip` is on, mirrored left-right with probability 1/2. So
 * `out[c][i][j] = x[c][i + dy][j' + dx]` with `j' = width − 1 − j` when
 * mirrored, else `j`, and `fill` where that falls outside the image.
 *
 * Image `r` draws (dy, dx, mirrored) from
 * `hash32(key(seed, step) ^ (rowOffset + r))`: the same for a shard as for
 * the whole batch, whatever the split, and fresh at every step. Inputs are
 * expected standardised, so the default `fill` of 0 is the mean pixel.
 *
 * @param x The images, `N × channels × height × width` values, row-major.
 * @param out Where the augmented images go: as many values as `x`, not
 *   sharing memory with it (reuse one buffer between steps).
 * @param options The images' shape, the seed, step and row offset of the
 *   draws, and the padding, flip and fill.
 * @returns `out`.
 * @throws {TypeError | RangeError} When an argument is bad, naming it.
 *
 * @example Each image is itself or its mirror when there is no padding
 * ```ts
 * import { augmentImages } from "./augment.ts";
 * import { ok } from "node:assert/strict";
 *
 * const x = new Float32Array([1, 2, 3, 4, 5, 6]); // two 1 × 1 × 3 images
 * const out = augmentImages(x, new Float32Array(6), {
 *   channels: 1, height: 1, width: 3, padding: 0, seed: 7, step: 0,
 * });
 * const [a, b] = [[...out.subarray(0, 3)], [...out.subarray(3)]];
 * ok(a.join() === "1,2,3" || a.join() === "3,2,1");
 * ok(b.join() === "4,5,6" || b.join() === "6,5,4");
 * ```
 *
 * @example A shard with its row offset draws as the whole batch does
 * ```ts
 * import { augmentImages } from "./augment.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const shape = { channels: 1, height: 4, width: 4, seed: 1, step: 3 };
 * const x = Float32Array.from({ length: 3 * 16 }, (_, i) => i);
 * const whole = augmentImages(x, new Float32Array(48), shape);
 * const last = augmentImages(x.subarray(32), new Float32Array(16), { ...shape, rowOffset: 2 });
 * deepEqual(last, whole.subarray(32));
 * ```
 */
export function augmentImages(
  x: Float32Array,
  out: Float32Array,
  options: AugmentImagesOptions,
): Float32Array {
  const what = "augment images";
  if (!(x instanceof Float32Array)) {
    throw new TypeError(
      `Cannot ${what}: x must be a Float32Array, got ${describe(x)}`,
    );
  }
  if (!(out instanceof Float32Array)) {
    throw new TypeError(
      `Cannot ${what}: out must be a Float32Array, got ${describe(out)}`,
    );
  }
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `Cannot ${what}: options must be an object, got ${describe(options)}`,
    );
  }
  const { seed, step, rowOffset = 0 } = options;
  const channels = checkInteger(options.channels, 1, what, "channels");
  const height = checkInteger(options.height, 1, what, "height");
  const width = checkInteger(options.width, 1, what, "width");
  const { padding, flip, fill } = checkAugmentOptions(
    what,
    "",
    options as unknown as Record<string, unknown>,
    { height, width },
    IMAGE_KEYS,
  );
  checkSeed(what, seed);
  checkInteger(step, 0, what, "step");
  checkInteger(rowOffset, 0, what, "rowOffset");
  const size = channels * height * width;
  if (x.length % size !== 0) {
    throw new RangeError(
      `Cannot ${what}: x must hold a whole number of ${channels} × ${height} × ${width} images (${size} values each), got ${x.length} values`,
    );
  }
  if (out.length !== x.length) {
    throw new RangeError(
      `Cannot ${what}: out must have as many values as x (${x.length}), got ${out.length}`,
    );
  }
  if (
    x.length > 0 && out.buffer === x.buffer &&
    out.byteOffset < x.byteOffset + x.byteLength &&
    x.byteOffset < out.byteOffset + out.byteLength
  ) {
    throw new RangeError(
      `Cannot ${what}: out must not share memory with x, got overlapping views of one buffer`,
    );
  }
  const key = hash32(hash32(seed ^ AUGMENT_DOMAIN) ^ hash32(step + 0x9e3779b9));
  const span = 2 * padding + 1;
  const plane = height * width;
  const rows = x.length / size;
  for (let r = 0; r < rows; r++) {
    const h = hash32(key ^ (rowOffset + r));
    const dy = below(hash32(h ^ 1), span) - padding;
    const dx = below(hash32(h ^ 2), span) - padding;
    const mirrored = flip && hash32(h ^ 3) >= 0x80000000;
    // Output columns [lo, hi) come from inside the image; the rest is fill.
    const lo = mirrored ? Math.max(0, dx) : Math.max(0, -dx);
    const hi = mirrored
      ? Math.min(width, width + dx)
      : Math.min(width, width - dx);
    for (let c = 0; c < channels; c++) {
      const start = r * size + c * plane;
      for (let i = 0; i < height; i++) {
        const o = start + i * width;
        const sy = i + dy;
        if (sy < 0 || sy >= height || lo >= hi) {
          out.fill(fill, o, o + width);
          continue;
        }
        out.fill(fill, o, o + lo);
        out.fill(fill, o + hi, o + width);
        const s = start + sy * width;
        if (mirrored) {
          for (let j = lo; j < hi; j++) out[o + j] = x[s + width - 1 - j + dx];
        } else {
          for (let j = lo; j < hi; j++) out[o + j] = x[s + j + dx];
        }
      }
    }
  }
  return out;
}

/** An integer in [0, n) from an unsigned 32-bit hash (bias below n / 2^32). */
function below(h: number, n: number): number {
  return Math.floor((h * n) / 4294967296);
}
