/**
 * One training run on Fashion-MNIST: data split, the data-parallel trainer,
 * epochs of shuffled mini-batches, evaluation after each epoch.
 *
 * @module
 */

import {
  type BackendChoice,
  cosineSchedule,
  DataParallel,
  fit as fitModel,
  type OptimizerSpec,
  permutation,
  type QPlusScope,
} from "../mod.ts";
import type { FashionMnist, Split } from "../src/data/fashion_mnist.ts";
import type { ProgressState } from "../report/progress.ts";
import {
  inputShapeOf,
  isResidual,
  type NetworkName,
  networkSpecs,
  type Regularizer,
} from "./_models.ts";

/** Pixel mean and standard deviation of the Fashion-MNIST training set. */
const PIXEL_MEAN = 0.286;
const PIXEL_STD = 0.353;

/** Pixels outside an augmented image: black, standardised, as when padding the raw image. */
const PAD_FILL = (0 - PIXEL_MEAN) / PIXEL_STD;

/** The seed of the split into training subset and validation set, the same for every run. */
const SPLIT_SEED = 20171025;

/**
 * Rows per evaluation call: 2000, or one training batch for the residual
 * networks, whose convolutions' scratch grows with the rows of a call.
 */
function evalChunk(config: FitConfig): number {
  return isResidual(config.model) ? config.batch : 2000;
}

/** One run's settings. */
export interface FitConfig {
  /** The network. */
  model: NetworkName;
  /** What follows each hidden ReLU. */
  reg: Regularizer;
  /** Passes over the training images. */
  epochs: number;
  /** Rows per step. */
  batch: number;
  /** Peak learning rate of SGD (Nesterov momentum 0.9, cosine decay, one epoch of warmup). */
  lr: number;
  /** L2 weight decay. */
  weightDecay: number;
  /** The backend. */
  backend: BackendChoice;
  /** Workers (the trainer's default when absent; 0 on this thread). */
  workers?: number;
  /** Seed of the weights, masks and batch order. */
  seed: number;
  /** Training images used (all but the validation images when absent). */
  trainSize?: number;
  /**
   * Images held out of the training set (the first of a fixed shuffle,
   * never trained on): the validation set.
   */
  validation?: number;
  /** Evaluate on the test set (default) or the validation set (for tuning). */
  evaluateOn?: "test" | "validation";
  /** Jumpout's q+ per worker shard or over the batch. */
  qPlusScope?: QPlusScope;
  /**
   * Random crops (padding 4) and horizontal flips of the training images;
   * off when absent. Image networks only.
   */
  augment?: boolean;
  /** Record each Jumpout layer's q+ every this many steps (0: never). */
  recordActiveEvery?: number;
  /** Evaluate after every this many epochs (and after the last); default 1. */
  evalEvery?: number;
  /** `false`: the `cnn` without its BatchNorm layers. */
  batchNorm?: boolean;
  /** Who trains: this library (absent) or PyTorch (`torch`, for comparison). */
  impl?: "torch";
}

/** What one epoch measured. */
export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  trainLoss: number;
  /** Training accuracy over the epoch's steps (with dropout on). */
  trainAccuracy: number;
  /** Loss on the evaluation set (test, or validation when tuning); NaN when not evaluated. */
  evalLoss: number;
  /** Accuracy on the evaluation set. */
  evalAccuracy: number;
  /** Wall time of the epoch's training steps (s). */
  seconds: number;
  /** Training samples per second. */
  samplesPerSec: number;
}

/** A run's record. */
export interface FitResult {
  config: FitConfig;
  /** `test` or `validation`. */
  evaluatedOn: string;
  /** Training images used. */
  trainImages: number;
  epochs: EpochRecord[];
  /** Each Jumpout layer's q+ (its input's share of units > 0) over training. */
  active: { step: number; layers: number[] }[];
  /** Whether the run stopped early (interrupted). */
  interrupted: boolean;
}

/** Where a run stands after a step, as {@linkcode FitHooks.onStep} has it. */
export interface StepState {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  samplesPerSec: number;
  secondsLeft: number;
}

/**
 * A step's state for a progress display.
 *
 * @param s The step's state.
 * @param epochs Epochs of the run.
 * @returns The display's state.
 */
export function progressOf(s: StepState, epochs: number): ProgressState {
  return {
    epoch: s.epoch,
    epochs,
    step: s.step,
    steps: s.steps,
    loss: s.loss,
    samplesPerSecond: s.samplesPerSec,
    secondsLeft: s.secondsLeft,
  };
}

/** What the caller hears during a run, and where its checkpoint goes. */
export interface FitHooks {
  /** After each step. */
  onStep?(state: StepState): void;
  /**
   * After each epoch, once its checkpoint is written, with the trainer
   * (e.g. to measure it).
   */
  onEpoch?(record: EpochRecord, trainer: DataParallel): Promise<void> | void;
  /** Stops the run between steps. */
  signal?: AbortSignal;
  /** Write a checkpoint after every epoch, or resume from one. */
  checkpoint?: CheckpointPlan;
}

/** Where a run's checkpoint goes, and what it resumes from. */
export interface CheckpointPlan {
  /** Written atomically after every epoch. */
  path: string;
  /** A checkpoint of the same run to go on from. */
  resume?: Uint8Array;
  /** More string pairs the checkpoint carries. */
  metadata?: Record<string, string>;
}

/**
 * Trains one network and evaluates it after every epoch.
 *
 * @param config The run's settings.
 * @param data The data set.
 * @param hooks Progress, per-epoch work, checkpoints and cancellation.
 * @returns The run's record (of this call's epochs when resuming).
 */
export async function fit(
  config: FitConfig,
  data: FashionMnist,
  hooks: FitHooks = {},
): Promise<FitResult> {
  const validation = config.validation ?? 0;
  const order = permutation(data.train.count, SPLIT_SEED);
  const available = data.train.count - validation;
  const trainSize = Math.min(config.trainSize ?? available, available);
  if (trainSize < config.batch) {
    throw new RangeError(
      `Cannot train: the training images (${trainSize}) must fill at least one batch of ${config.batch}`,
    );
  }
  const onValidation = config.evaluateOn === "validation";
  if (onValidation && validation === 0) {
    throw new RangeError(
      "Cannot train: evaluateOn validation needs validation images, got validation 0",
    );
  }
  const train = gather(
    data.train,
    order.subarray(validation, validation + trainSize),
  );
  const evalSet = onValidation
    ? gather(data.train, order.subarray(0, validation))
    : gather(
      data.test,
      Uint32Array.from({ length: data.test.count }, (_, i) => i),
    );
  const steps = Math.floor(trainSize / config.batch);
  const trainer = await DataParallel.create({
    model: networkSpecs(config.model, config.reg, {
      batchNorm: config.batchNorm,
    }),
    inputShape: inputShapeOf(config.model),
    optimizer: optimizerSpec(config.weightDecay),
    schedule: cosineSchedule({
      lr: config.lr,
      totalSteps: steps * config.epochs,
      warmupSteps: Math.min(steps, Math.floor((steps * config.epochs) / 5)),
    }),
    backend: config.backend,
    workers: config.workers,
    seed: config.seed,
    qPlusScope: config.qPlusScope,
    augment: config.augment === true && { fill: PAD_FILL },
    // So that whoever loads a checkpoint can standardise inputs the same way.
    metadata: {
      ...hooks.checkpoint?.metadata,
      "input.mean": String(PIXEL_MEAN),
      "input.std": String(PIXEL_STD),
    },
  });
  const result: FitResult = {
    config,
    evaluatedOn: onValidation ? "validation" : "test",
    trainImages: trainSize,
    epochs: [],
    active: [],
    interrupted: false,
  };
  const started = performance.now();
  let done = 0;
  let lossSum = 0;
  let trainMs = 0;
  const every = config.recordActiveEvery ?? 0;
  try {
    await fitModel(trainer, { x: train.images, y: train.labels }, {
      epochs: config.epochs,
      batchSize: config.batch,
      seed: config.seed,
      validationData: { x: evalSet.images, y: evalSet.labels },
      validationBatchSize: evalChunk(config),
      validationFreq: config.evalEvery ?? 1,
      checkpoint: hooks.checkpoint?.path,
      resume: hooks.checkpoint?.resume,
      signal: hooks.signal,
      onBatchEnd: async (b) => {
        if (b.step === 1) [lossSum, trainMs] = [0, 0];
        lossSum += b.loss;
        trainMs += b.seconds * 1000;
        done++;
        const at = (b.epoch - 1) * steps + b.step - 1;
        if (every > 0 && at % every === 0) {
          const stats = await trainer.jumpoutStats();
          result.active.push({
            step: at,
            layers: stats.map((s) => s.stats[0].qPlus),
          });
        }
        const elapsed = (performance.now() - started) / 1000;
        const left = steps * config.epochs - at - 1;
        hooks.onStep?.({
          epoch: b.epoch,
          step: b.step,
          steps,
          loss: lossSum / b.step,
          samplesPerSec: (1000 * b.step * config.batch) / trainMs,
          secondsLeft: (elapsed / done) * left,
        });
      },
      onEpochEnd: async (e) => {
        const record: EpochRecord = {
          epoch: e.epoch,
          trainLoss: e.loss,
          trainAccuracy: e.accuracy,
          evalLoss: e.valLoss!,
          evalAccuracy: e.valAccuracy!,
          seconds: e.seconds,
          samplesPerSec: (steps * config.batch) / e.seconds,
        };
        result.epochs.push(record);
        await hooks.onEpoch?.(record, trainer);
      },
    });
    return result;
  } catch (error) {
    if (hooks.signal?.aborted && error === hooks.signal.reason) {
      result.interrupted = true;
      return result;
    }
    throw error;
  } finally {
    await trainer.dispose();
  }
}

/**
 * The optimiser of every run: SGD with Nesterov momentum 0.9 (its rate comes
 * from the schedule).
 *
 * @param weightDecay L2 weight decay.
 * @returns The spec; its `lr` is a placeholder the schedule replaces.
 */
export function optimizerSpec(weightDecay: number): OptimizerSpec {
  return { type: "sgd", lr: 1, momentum: 0.9, nesterov: true, weightDecay };
}

/**
 * The images and labels at `indices`, standardised with the training set's
 * pixel mean and deviation, as every run feeds them.
 *
 * @param split Images and labels.
 * @param indices Which ones, in order.
 * @returns The rows and their labels.
 */
export function gather(
  split: Split,
  indices: Uint32Array,
): { images: Float32Array; labels: number[] } {
  const images = new Float32Array(indices.length * 784);
  const labels: number[] = [];
  indices.forEach((i, r) => {
    standardize(split.images, i, images, r);
    labels.push(split.labels[i]);
  });
  return { images, labels };
}

/** Copies image `i` of `from` into row `r` of `to`, standardised. */
function standardize(
  from: Float32Array,
  i: number,
  to: Float32Array,
  r: number,
): void {
  const src = i * 784;
  const dst = r * 784;
  for (let k = 0; k < 784; k++) {
    to[dst + k] = (from[src + k] - PIXEL_MEAN) / PIXEL_STD;
  }
}
