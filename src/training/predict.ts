/**
 * A classifier's class probabilities for samples.
 *
 * @module
 */

import { checkBatchSize, checkUnlabelled } from "./_rows.ts";
import { traineeOf } from "./_trainee.ts";
import type { Classifier } from "./classifier.ts";
import type { LabelledData } from "./labelled_data.ts";

/** Options of {@linkcode predict}. */
export interface PredictOptions {
  /** Rows per call. Default 256. */
  batchSize?: number;
}

/**
 * Class probabilities (the softmax of the model's outputs) of samples, in
 * evaluation mode; nothing changes in the model.
 *
 * @param model A built `Sequential` or a `DataParallel` trainer.
 * @param x The samples row after row, or data holding them (`{ x, y }` or
 *   a split; the labels are not read).
 * @param options The batch size.
 * @returns `rows × classes` probabilities, row after row.
 * @throws {TypeError | RangeError} When the samples or an option are bad.
 *
 * @example Each row's probabilities sum to one
 * ```ts
 * import { createBackend, Dense, predict, Sequential } from "../../mod.ts";
 * import { equal, ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const model = new Sequential([new Dense(2, 3)]);
 * model.build(backend, [2], { seed: 1 });
 * const p = await predict(model, new Float32Array([1, 2, -1, 0.5, 0, 0]), { batchSize: 2 });
 * equal(p.length, 9);
 * ok(Math.abs(p[3] + p[4] + p[5] - 1) < 1e-6);
 * ```
 */
export async function predict(
  model: Classifier,
  x: Float32Array | LabelledData,
  options: PredictOptions = {},
): Promise<Float32Array> {
  const what = "predict";
  const batchSize = checkBatchSize(what, options);
  const trainee = traineeOf(what, model, undefined, false);
  try {
    const { sampleSize, classes } = trainee;
    const samples = checkUnlabelled(what, x, sampleSize);
    const out = new Float32Array(samples.count * classes);
    for (let start = 0; start < samples.count; start += batchSize) {
      const end = Math.min(samples.count, start + batchSize);
      const part = samples.x.subarray(start * sampleSize, end * sampleSize);
      out.set(await trainee.predict(part), start * classes);
    }
    return out;
  } finally {
    trainee.dispose();
  }
}
