/**
 * The data `fit`, `evaluate` and `predict` take: arrays, or a split of one
 * of the library's data sets.
 *
 * @module
 */

import type { Split } from "../data/fashion_mnist.ts";

/**
 * Samples and their labels as arrays: `x` holds the samples row after row
 * (each of the model's input shape, flattened), `y` one class index per row.
 */
export interface LabelledArrays {
  /** `rows × sample size` values, row after row. */
  x: Float32Array;
  /** One integer label in `[0, classes)` per row. */
  y: ArrayLike<number>;
}

/**
 * What `fit` and `evaluate` read: arrays (`{ x, y }`), or a split of a data
 * set as the library's loaders give it (`{ images, labels, count }`, e.g.
 * `(await loadFashionMnist()).train`).
 */
export type LabelledData = LabelledArrays | Split;
