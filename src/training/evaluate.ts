/**
 * A classifier's loss and accuracy on labelled rows.
 *
 * @module
 */

import type { LossResult } from "../layers/loss.ts";
import { evaluateRows } from "./_evaluate_rows.ts";
import { checkBatchSize, checkLabelled } from "./_rows.ts";
import { traineeOf } from "./_trainee.ts";
import type { Classifier } from "./classifier.ts";
import type { LabelledData } from "./labelled_data.ts";

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** Rows per call. Default 256. */
  batchSize?: number;
}

/**
 * The mean softmax cross-entropy and the accuracy of a model on labelled
 * rows, in evaluation mode (no dropout, BatchNorm's running statistics);
 * nothing changes in the model.
 *
 * @param model A built `Sequential` or a `DataParallel` trainer.
 * @param data `{ x, y }`, or a split of a data set.
 * @param options The batch size.
 * @returns The loss and accuracy (NaN and 0 for no rows).
 * @throws {TypeError | RangeError} When the data or an option is bad.
 *
 * @example A model that has not learned scores about chance
 * ```ts
 * import { createBackend, Dense, evaluate, Sequential } from "../../mod.ts";
 * import { ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const model = new Sequential([new Dense(4, 3)]);
 * model.build(backend, [4], { seed: 1 });
 * const x = new Float32Array(40).map((_, i) => Math.cos(i));
 * const y = Array.from({ length: 10 }, (_, i) => i % 3);
 * const { loss, accuracy } = await evaluate(model, { x, y }, { batchSize: 4 });
 * ok(loss > 0 && accuracy >= 0 && accuracy <= 1);
 * ```
 */
export async function evaluate(
  model: Classifier,
  data: LabelledData,
  options: EvaluateOptions = {},
): Promise<LossResult> {
  const what = "evaluate";
  const batchSize = checkBatchSize(what, options);
  const trainee = traineeOf(what, model, undefined, false);
  try {
    const rows = checkLabelled(
      what,
      "data",
      data,
      trainee.sampleSize,
      trainee.classes,
    );
    return await evaluateRows(trainee, rows, batchSize);
  } finally {
    trainee.dispose();
  }
}
