/**
 * Every option of `fit` checked, before anything is trained.
 *
 * @module
 */

import { checkInteger, describe } from "../_checks.ts";
import { randomSeed } from "../random.ts";
import {
  checkEarlyStopping,
  type EarlyStoppingRule,
} from "./_early_stopping.ts";
import { type FitState, readFitState } from "./_fit_state.ts";
import { checkLabelled, type Rows, sliceRows } from "./_rows.ts";
import type { Trainee } from "./_trainee.ts";
import type { FitOptions } from "./fit_options.ts";
import type { LabelledData } from "./labelled_data.ts";

/** How a `fit` runs, checked. */
export interface FitPlan {
  epochs: number;
  batchSize: number;
  stepsPerEpoch: number;
  /** Null: the rows in order. */
  shuffleSeed: number | null;
  train: Rows;
  validation: Rows | undefined;
  validationBatchSize: number;
  validationFreq: number;
  earlyStopping: EarlyStoppingRule | undefined;
  checkpoint: string | undefined;
  resume: { bytes: Uint8Array; state: FitState } | undefined;
  signal: AbortSignal | undefined;
  onBatchEnd: FitOptions["onBatchEnd"];
  onEpochEnd: FitOptions["onEpochEnd"];
}

const KNOWN = [
  "epochs",
  "batchSize",
  "optimizer",
  "shuffle",
  "seed",
  "validationSplit",
  "validationData",
  "validationBatchSize",
  "validationFreq",
  "earlyStopping",
  "checkpoint",
  "resume",
  "signal",
  "onBatchEnd",
  "onEpochEnd",
];

/**
 * Checks `fit`'s data and options against the model.
 *
 * @param what `fit`.
 * @param trainee The model.
 * @param data The training rows.
 * @param options As given.
 * @returns The plan.
 */
export function checkFitOptions(
  what: string,
  trainee: Trainee,
  data: LabelledData,
  options: FitOptions,
): FitPlan {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${what}: options must be an object with at least epochs, got ${
        describe(options)
      }`,
    );
  }
  const unknown = Object.keys(options).find((k) => !KNOWN.includes(k));
  if (unknown !== undefined) {
    throw new TypeError(
      `Cannot ${what}: options.${unknown} is not an option of fit, got it among ${
        Object.keys(options).join(", ")
      }`,
    );
  }
  const o = options;
  const integer = (name: string, value: unknown, min: number) =>
    checkInteger(value, min, what, name);
  const epochs = integer("epochs", o.epochs, 1);
  const batchSize = integer("batchSize", o.batchSize ?? 32, 1);
  const all = checkLabelled(
    what,
    "data",
    data,
    trainee.sampleSize,
    trainee.classes,
  );
  let train = all;
  let validation: Rows | undefined;
  if (o.validationSplit !== undefined) {
    const split = o.validationSplit;
    if (!(typeof split === "number" && split > 0 && split < 1)) {
      throw new RangeError(
        `Cannot ${what}: validationSplit must be in (0, 1), got ${
          String(split)
        }`,
      );
    }
    if (o.validationData !== undefined) {
      throw new TypeError(
        `Cannot ${what}: validationSplit and validationData must not both be given, got both`,
      );
    }
    const at = Math.floor(all.count * (1 - split));
    if (at === all.count) {
      throw new RangeError(
        `Cannot ${what}: validationSplit ${split} of ${all.count} rows must leave at least one validation row, got none`,
      );
    }
    train = sliceRows(all, trainee.sampleSize, 0, at);
    validation = sliceRows(all, trainee.sampleSize, at, all.count);
  } else if (o.validationData !== undefined) {
    validation = checkLabelled(
      what,
      "validationData",
      o.validationData,
      trainee.sampleSize,
      trainee.classes,
    );
  }
  if (batchSize > train.count) {
    throw new RangeError(
      `Cannot ${what}: batchSize must be at most the training rows (${train.count}), got ${batchSize}`,
    );
  }
  if (batchSize < trainee.minBatch) {
    throw new RangeError(
      `Cannot ${what}: batchSize must be at least the trainer's workers (${trainee.minBatch}), got ${batchSize}`,
    );
  }
  const validationBatchSize = integer(
    "validationBatchSize",
    o.validationBatchSize ?? batchSize,
    1,
  );
  const validationFreq = integer("validationFreq", o.validationFreq ?? 1, 1);
  const shuffle = o.shuffle ?? true;
  if (typeof shuffle !== "boolean") {
    throw new TypeError(
      `Cannot ${what}: shuffle must be a boolean, got ${String(shuffle)}`,
    );
  }
  if (o.seed !== undefined) integer("seed", o.seed, 0);
  const earlyStopping = o.earlyStopping === undefined
    ? undefined
    : checkEarlyStopping(what, o.earlyStopping, validation !== undefined);
  if (
    o.checkpoint !== undefined &&
    (typeof o.checkpoint !== "string" || o.checkpoint === "")
  ) {
    throw new TypeError(
      `Cannot ${what}: checkpoint must be a file path, got ${
        JSON.stringify(o.checkpoint) ?? describe(o.checkpoint)
      }`,
    );
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${what}: signal must be an AbortSignal, got ${
        describe(o.signal)
      }`,
    );
  }
  for (const name of ["onBatchEnd", "onEpochEnd"] as const) {
    if (o[name] !== undefined && typeof o[name] !== "function") {
      throw new TypeError(
        `Cannot ${what}: ${name} must be a function, got ${describe(o[name])}`,
      );
    }
  }
  const stepsPerEpoch = Math.floor(train.count / batchSize);
  let shuffleSeed = shuffle ? o.seed ?? trainee.seed ?? randomSeed() : null;
  let resume: FitPlan["resume"];
  if (o.resume !== undefined) {
    const state = readFitState(what, o.resume);
    if (state.stepsPerEpoch !== stepsPerEpoch) {
      throw new RangeError(
        `Cannot ${what}: resume needs the checkpoint's data and batchSize (${state.stepsPerEpoch} steps per epoch), got ${stepsPerEpoch} steps per epoch`,
      );
    }
    if ((state.shuffleSeed === null) !== !shuffle) {
      throw new RangeError(
        `Cannot ${what}: resume needs shuffle ${
          state.shuffleSeed !== null
        } as in the checkpoint, got ${shuffle}`,
      );
    }
    if (o.seed !== undefined && o.seed !== state.shuffleSeed) {
      throw new RangeError(
        `Cannot ${what}: seed must be the checkpoint's (${state.shuffleSeed}) or left out, got ${o.seed}`,
      );
    }
    if ((state.history.valLoss !== undefined) !== (validation !== undefined)) {
      throw new RangeError(
        `Cannot ${what}: resume needs validation ${
          state.history.valLoss ? "rows, as" : "left out, as"
        } in the checkpoint, got ${validation ? "some" : "none"}`,
      );
    }
    shuffleSeed = state.shuffleSeed;
    resume = { bytes: o.resume, state };
  }
  return {
    epochs,
    batchSize,
    stepsPerEpoch,
    shuffleSeed,
    train,
    validation,
    validationBatchSize,
    validationFreq,
    earlyStopping,
    checkpoint: o.checkpoint,
    resume,
    signal: o.signal,
    onBatchEnd: o.onBatchEnd,
    onEpochEnd: o.onEpochEnd,
  };
}
