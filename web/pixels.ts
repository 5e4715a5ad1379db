/**
 * Turning the model's inputs and outputs into what the page shows: an image
 * row as canvas pixels, class probabilities as predicted labels.
 *
 * @module
 */

/** Side of a Fashion-MNIST image in pixels. */
export const IMAGE_SIDE = 28;

/**
 * One 28 × 28 image as RGBA bytes for `ImageData`, dark garment on a light
 * ground (the data set stores ink as 1).
 *
 * @param images Images of 784 values in [0, 1], row after row.
 * @param index Which image.
 * @returns 28 × 28 × 4 bytes.
 * @throws {RangeError} When there is no such image.
 *
 * @example Ink is dark, the ground is white, alpha is opaque
 * ```ts
 * import { imageRgba } from "./pixels.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const images = new Float32Array(784 * 2);
 * images[784] = 1;
 * const rgba = imageRgba(images, 1);
 * equal(rgba.length, 784 * 4);
 * deepEqual([...rgba.slice(0, 8)], [0, 0, 0, 255, 255, 255, 255, 255]);
 * ```
 */
export function imageRgba(
  images: Float32Array,
  index: number,
): Uint8ClampedArray<ArrayBuffer> {
  const size = IMAGE_SIDE * IMAGE_SIDE;
  const count = Math.floor(images.length / size);
  if (!(Number.isSafeInteger(index) && index >= 0 && index < count)) {
    throw new RangeError(
      `Cannot draw an image: index must be an integer in [0, ${count}), got ${index}`,
    );
  }
  const rgba = new Uint8ClampedArray(size * 4);
  for (let i = 0; i < size; i++) {
    const shade = 255 * (1 - images[index * size + i]);
    rgba[4 * i] = shade;
    rgba[4 * i + 1] = shade;
    rgba[4 * i + 2] = shade;
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

/**
 * The most probable class of each row, with its probability.
 *
 * @param probabilities `rows × classes` values, row after row.
 * @param classes Values per row.
 * @returns One `{ label, probability }` per row; ties go to the lower label.
 * @throws {RangeError} When the values do not fill whole rows.
 *
 * @example Two rows of three classes
 * ```ts
 * import { predictedLabels } from "./pixels.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const p = new Float32Array([0.25, 0.5, 0.25, 0.75, 0.125, 0.125]);
 * deepEqual(predictedLabels(p, 3), [
 *   { label: 1, probability: 0.5 },
 *   { label: 0, probability: 0.75 },
 * ]);
 * ```
 */
export function predictedLabels(
  probabilities: Float32Array,
  classes: number,
): { label: number; probability: number }[] {
  if (
    !(Number.isSafeInteger(classes) && classes >= 1 &&
      probabilities.length % classes === 0)
  ) {
    throw new RangeError(
      `Cannot read predictions: classes must be an integer >= 1 that divides ${probabilities.length}, got ${classes}`,
    );
  }
  const out = [];
  for (let r = 0; r < probabilities.length / classes; r++) {
    let label = 0;
    for (let c = 1; c < classes; c++) {
      if (probabilities[r * classes + c] > probabilities[r * classes + label]) {
        label = c;
      }
    }
    out.push({ label, probability: probabilities[r * classes + label] });
  }
  return out;
}
