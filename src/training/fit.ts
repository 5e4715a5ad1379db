/**
 * Training a classifier epoch after epoch: shuffled batches, validation,
 * callbacks, early stopping, checkpoints, resuming and cancellation.
 *
 * @module
 */

import { writeFileAtomic } from "../io/write_file_atomic.ts";
import { EarlyStopping } from "./_early_stopping.ts";
import { evaluateRows } from "./_evaluate_rows.ts";
import { checkFitOptions, type FitPlan } from "./_check_fit_options.ts";
import { fitMetadata } from "./_fit_state.ts";
import { gatherRows } from "./_rows.ts";
import { type Trainee, traineeOf } from "./_trainee.ts";
import type { Classifier } from "./classifier.ts";
import type { EpochLogs, FitOptions } from "./fit_options.ts";
import type { History, HistoryValues } from "./history.ts";
import type { LabelledData } from "./labelled_data.ts";
import { permutation } from "./permutation.ts";

/**
 * Trains a classifier (softmax cross-entropy) for some epochs: a `Sequential`
 * on the calling thread with the optimiser given, or a `DataParallel`
 * trainer on its workers. Each epoch takes `floor(rows / batchSize)` steps
 * over the training rows, shuffled (seeded), then validates when asked to,
 * writes a checkpoint when asked to, and calls `onEpochEnd`.
 *
 * Everything is checked before the first step (the data's shapes and
 * labels, every option); errors name the option. A `fit` that fails or is
 * aborted (between two steps) leaves the model and the optimiser as the
 * last completed step left them, and the checkpoint file as the last
 * completed epoch wrote it.
 *
 * @param model A built `Sequential` (with `options.optimizer`) or a
 *   `DataParallel` trainer.
 * @param data The training rows: `{ x, y }`, or a split of a data set.
 * @param options Epochs, batch size and the rest (see {@linkcode FitOptions}).
 * @returns Each epoch's loss and accuracy (and validation figures).
 * @throws {TypeError | RangeError} When the data or an option is bad,
 *   before anything is trained.
 * @throws {unknown} The signal's reason when aborted.
 *
 * @example Train a small classifier and hold out a fifth for validation
 * ```ts
 * import { createBackend, Dense, fit, ReLU, SGD, Sequential } from "../../mod.ts";
 * import { equal, ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const model = new Sequential([new Dense(2, 8), new ReLU(), new Dense(8, 2)]);
 * model.build(backend, [2], { seed: 1 });
 * // Label 1 when the first value is the larger.
 * const x = new Float32Array(200).map((_, i) => Math.sin(i * 7.1));
 * const y = Array.from({ length: 100 }, (_, i) => x[2 * i] > x[2 * i + 1] ? 1 : 0);
 * const history = await fit(model, { x, y }, {
 *   optimizer: new SGD(model.parameters(), { lr: 0.5 }),
 *   epochs: 8,
 *   batchSize: 16,
 *   validationSplit: 0.2,
 *   seed: 1,
 * });
 * equal(history.epoch.length, 8);
 * ok(history.history.loss[7] < history.history.loss[0]);
 * ok(history.history.valAccuracy![7] > 0.8);
 * ```
 */
export async function fit(
  model: Classifier,
  data: LabelledData,
  options: FitOptions,
): Promise<History> {
  const what = "fit";
  const trainee = traineeOf(what, model, options?.optimizer, true);
  try {
    const plan = checkFitOptions(what, trainee, data, options);
    plan.signal?.throwIfAborted();
    return await train(trainee, plan);
  } finally {
    trainee.dispose();
  }
}

async function train(trainee: Trainee, plan: FitPlan): Promise<History> {
  const { batchSize, stepsPerEpoch: steps, train, validation } = plan;
  const size = trainee.sampleSize;
  const history: HistoryValues = validation
    ? { loss: [], accuracy: [], valLoss: [], valAccuracy: [] }
    : { loss: [], accuracy: [] };
  let first = 1;
  if (plan.resume !== undefined) {
    await trainee.restore(plan.resume.bytes);
    Object.assign(history, plan.resume.state.history);
    first = plan.resume.state.epoch + 1;
  }
  const done = first - 1;
  const early = plan.earlyStopping && new EarlyStopping(plan.earlyStopping);
  // The best state before a resume is the resumed one only if that epoch was best.
  let best: Uint8Array | undefined;
  let stoppedEpoch: number | undefined;
  if (early) {
    for (let e = 1; e <= done; e++) {
      const verdict = early.update(e, figure(history, early, e));
      if (verdict === "stop") stoppedEpoch = e;
    }
    if (early.bestEpoch === done) best = plan.resume?.bytes;
  }
  const x = new Float32Array(batchSize * size);
  const y = new Uint32Array(batchSize);
  // A run that stopped early stays stopped.
  let epoch = stoppedEpoch ?? first;
  for (; stoppedEpoch === undefined && epoch <= plan.epochs; epoch++) {
    const order = plan.shuffleSeed === null
      ? undefined
      : permutation(train.count, plan.shuffleSeed * 7919 + epoch);
    let lossSum = 0;
    let correct = 0;
    let ms = 0;
    for (let step = 0; step < steps; step++) {
      plan.signal?.throwIfAborted();
      const rows = order?.subarray(step * batchSize, (step + 1) * batchSize) ??
        Uint32Array.from({ length: batchSize }, (_, r) => step * batchSize + r);
      gatherRows(train, size, rows, x, y);
      const t = performance.now();
      const r = await trainee.trainStep(x, y);
      const stepMs = performance.now() - t;
      ms += stepMs;
      lossSum += r.loss;
      correct += r.accuracy * batchSize;
      await plan.onBatchEnd?.({
        epoch,
        step: step + 1,
        steps,
        loss: r.loss,
        accuracy: r.accuracy,
        seconds: stepMs / 1000,
      });
    }
    const logs: EpochLogs = {
      epoch,
      loss: lossSum / steps,
      accuracy: correct / (steps * batchSize),
      seconds: ms / 1000,
    };
    history.loss.push(logs.loss);
    history.accuracy.push(logs.accuracy);
    if (validation) {
      const due = epoch % plan.validationFreq === 0 || epoch === plan.epochs;
      const v = due
        ? await evaluateRows(trainee, validation, plan.validationBatchSize)
        : { loss: NaN, accuracy: NaN };
      logs.valLoss = v.loss;
      logs.valAccuracy = v.accuracy;
      history.valLoss!.push(v.loss);
      history.valAccuracy!.push(v.accuracy);
    }
    const verdict = early?.update(epoch, figure(history, early, epoch));
    const metadata = fitMetadata({
      epoch,
      stepsPerEpoch: steps,
      shuffleSeed: plan.shuffleSeed,
      history,
    });
    const bytes = plan.checkpoint !== undefined ||
        (verdict === "improved" && early!.rule.restoreBest)
      ? await trainee.save(metadata)
      : undefined;
    if (verdict === "improved") best = bytes;
    if (plan.checkpoint !== undefined) {
      await writeFileAtomic(plan.checkpoint, bytes!);
    }
    await plan.onEpochEnd?.(logs);
    if (verdict === "stop") {
      stoppedEpoch = epoch;
      break;
    }
  }
  const last = Math.min(epoch, plan.epochs);
  if (early?.rule.restoreBest && best && early.bestEpoch !== last) {
    await trainee.restore(best);
  }
  return {
    epoch: history.loss.map((_, i) => i + 1),
    history,
    ...(stoppedEpoch !== undefined && { stoppedEpoch }),
    ...(early?.bestEpoch !== undefined && { bestEpoch: early.bestEpoch }),
  };
}

/** The monitored figure of epoch `e` (counting from 1). */
function figure(
  history: HistoryValues,
  early: EarlyStopping,
  e: number,
): number {
  return history[early.rule.monitor]![e - 1];
}
