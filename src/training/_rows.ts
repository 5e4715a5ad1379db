/**
 * The one home of the checks on what `fit`, `evaluate` and `predict` read,
 * and of copying rows into a batch.
 *
 * @module
 */

import { describe } from "../_checks.ts";
import type { LabelledData } from "./labelled_data.ts";

/** Checked samples (and labels), row after row. */
export interface Rows {
  /** `count × sampleSize` values. */
  x: Float32Array;
  /** One label per row, each in `[0, classes)`. */
  y: Uint32Array;
  /** The number of rows. */
  count: number;
}

/**
 * Checks labelled data against the model's sample size and classes.
 *
 * @param what What the caller is doing, for messages (`fit`).
 * @param name How messages name the data (`data`, `validationData`).
 * @param data Arrays or a split.
 * @param sampleSize Values per sample.
 * @param classes Labels must be below it.
 * @returns The rows, the labels copied as uint32.
 */
export function checkLabelled(
  what: string,
  name: string,
  data: LabelledData,
  sampleSize: number,
  classes: number,
): Rows {
  if (data === null || typeof data !== "object") {
    throw new TypeError(
      `Cannot ${what}: ${name} must be { x, y } or a split { images, labels, count }, got ${
        describe(data)
      }`,
    );
  }
  const split = isSplit(data);
  const [xName, yName] = split
    ? [`${name}.images`, `${name}.labels`]
    : [`${name}.x`, `${name}.y`];
  const x: unknown = split ? data.images : (data as { x: unknown }).x;
  const y: unknown = split ? data.labels : (data as { y: unknown }).y;
  const samples = checkSamples(what, xName, x);
  if (
    y === null || typeof y !== "object" ||
    !Number.isSafeInteger((y as ArrayLike<number>).length)
  ) {
    throw new TypeError(
      `Cannot ${what}: ${yName} must be an array of integer labels, got ${
        describe(y)
      }`,
    );
  }
  const labels = y as ArrayLike<number>;
  const count = labels.length;
  if (split && data.count !== count) {
    throw new RangeError(
      `Cannot ${what}: ${name}.count must equal ${yName}.length (${count}), got ${data.count}`,
    );
  }
  if (samples.length !== count * sampleSize) {
    throw new RangeError(
      `Cannot ${what}: ${xName} must hold ${yName}.length × ${sampleSize} = ${
        count * sampleSize
      } values (${sampleSize} per sample), got ${samples.length}`,
    );
  }
  const ys = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const label = labels[i];
    if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
      throw new RangeError(
        `Cannot ${what}: ${yName}[${i}] must be an integer in [0, ${classes}), got ${label}`,
      );
    }
    ys[i] = label;
  }
  return { x: samples, y: ys, count };
}

/**
 * Checks samples without labels: a Float32Array, or the `x` or `images` of
 * labelled data.
 *
 * @param what What the caller is doing, for messages.
 * @param x The samples, or data holding them.
 * @param sampleSize Values per sample.
 * @returns The samples and their count.
 */
export function checkUnlabelled(
  what: string,
  x: Float32Array | LabelledData,
  sampleSize: number,
): { x: Float32Array; count: number } {
  let name = "x";
  let values: unknown = x;
  if (!(x instanceof Float32Array) && x !== null && typeof x === "object") {
    [name, values] = isSplit(x) ? ["x.images", x.images] : ["x.x", x.x];
  }
  const samples = checkSamples(what, name, values);
  if (samples.length % sampleSize !== 0) {
    throw new RangeError(
      `Cannot ${what}: ${name} must hold a whole number of samples of ${sampleSize} values, got ${samples.length}`,
    );
  }
  return { x: samples, count: samples.length / sampleSize };
}

/**
 * Copies rows into a batch.
 *
 * @param from The rows.
 * @param sampleSize Values per row.
 * @param indices Which rows, in batch order.
 * @param x The batch's samples.
 * @param y The batch's labels.
 */
export function gatherRows(
  from: Rows,
  sampleSize: number,
  indices: ArrayLike<number>,
  x: Float32Array,
  y: Uint32Array,
): void {
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    x.set(
      from.x.subarray(i * sampleSize, (i + 1) * sampleSize),
      r * sampleSize,
    );
    y[r] = from.y[i];
  }
}

/** Rows `[start, end)` of `rows`, sharing their storage. */
export function sliceRows(
  rows: Rows,
  sampleSize: number,
  start: number,
  end: number,
): Rows {
  return {
    x: rows.x.subarray(start * sampleSize, end * sampleSize),
    y: rows.y.subarray(start, end),
    count: end - start,
  };
}

/**
 * The batch size of `evaluate` or `predict`, checked.
 *
 * @param what What the caller is doing, for messages.
 * @param options Its options.
 * @returns The batch size.
 */
export function checkBatchSize(
  what: string,
  options: { batchSize?: number },
): number {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${what}: options must be an object, got ${describe(options)}`,
    );
  }
  const unknown = Object.keys(options).find((k) => k !== "batchSize");
  if (unknown !== undefined) {
    throw new TypeError(
      `Cannot ${what}: options.${unknown} is not an option of ${what}, got it beside batchSize`,
    );
  }
  const batchSize = options.batchSize ?? 256;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot ${what}: batchSize must be an integer >= 1, got ${batchSize}`,
    );
  }
  return batchSize;
}

function isSplit(
  data: unknown,
): data is { images: Float32Array; labels: ArrayLike<number>; count: number } {
  return data !== null && typeof data === "object" && "images" in data;
}

function checkSamples(what: string, name: string, x: unknown): Float32Array {
  if (!(x instanceof Float32Array)) {
    throw new TypeError(
      `Cannot ${what}: ${name} must be a Float32Array of samples, row after row, got ${
        describe(x)
      }`,
    );
  }
  return x;
}
