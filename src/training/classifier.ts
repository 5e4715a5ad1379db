/**
 * The models `fit`, `evaluate` and `predict` take.
 *
 * @module
 */

import type { Sequential } from "../layers/sequential.ts";
import type { DataParallel } from "../parallel/data_parallel.ts";

/**
 * A classifier to train or run: a built `Sequential` on the calling thread,
 * or a `DataParallel` trainer on its workers. Its outputs are the logits of
 * `[N, classes]`.
 */
export type Classifier = Sequential | DataParallel;
