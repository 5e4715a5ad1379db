/**
 * The options of `fit`, and what its callbacks hear.
 *
 * @module
 */

import type { Optimizer } from "../optim/optimizer.ts";
import type { LabelledData } from "./labelled_data.ts";

/** What `onBatchEnd` hears after each training step. */
export interface BatchLogs {
  /** The epoch, counting from 1. */
  epoch: number;
  /** The step within the epoch, counting from 1. */
  step: number;
  /** Steps per epoch. */
  steps: number;
  /** The batch's mean loss, before the step's update. */
  loss: number;
  /** The batch's accuracy, before the step's update. */
  accuracy: number;
  /** Wall time of the step (s). */
  seconds: number;
}

/** What `onEpochEnd` hears after each epoch. */
export interface EpochLogs {
  /** The epoch, counting from 1. */
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Training accuracy over the epoch's steps. */
  accuracy: number;
  /** Validation loss; NaN when this epoch was not validated; absent without validation. */
  valLoss?: number;
  /** Validation accuracy; as `valLoss`. */
  valAccuracy?: number;
  /** Wall time of the epoch's training steps (s). */
  seconds: number;
}

/** A figure early stopping can watch. */
export type Monitor = "loss" | "accuracy" | "valLoss" | "valAccuracy";

/** When to stop before the last epoch. */
export interface EarlyStoppingOptions {
  /**
   * The figure to watch: losses should fall, accuracies rise. Default
   * `valLoss` with validation, else `loss`.
   */
  monitor?: Monitor;
  /**
   * Epochs without improvement after which the run stops (0 counts as 1,
   * as in Keras). Default 0.
   */
  patience?: number;
  /** The least change that counts as an improvement. Default 0. */
  minDelta?: number;
  /**
   * At the end, put the model (and the optimiser, the step and the mask
   * streams) back to the best epoch's state. Default false.
   */
  restoreBest?: boolean;
}

/** Options of `fit`. */
export interface FitOptions {
  /** Passes over the training rows. Required. */
  epochs: number;
  /**
   * Rows per step. Default 32. Each epoch takes `floor(rows / batchSize)`
   * steps; the rows left over (different ones each epoch when shuffled)
   * wait for the next epoch.
   */
  batchSize?: number;
  /**
   * The optimiser of a `Sequential` (built on its parameters); left out
   * with a `DataParallel` trainer, which has its own.
   */
  optimizer?: Optimizer;
  /** Shuffle the training rows every epoch. Default true. */
  shuffle?: boolean;
  /**
   * Seed of the shuffle: epoch `e`'s order is
   * `permutation(rows, seed * 7919 + e)`. Default: a `DataParallel`'s
   * own seed, else drawn at random (and kept in checkpoints).
   */
  seed?: number;
  /**
   * Hold out this share of the rows, in (0, 1), for validation: the last
   * ones, before any shuffling (as Keras does).
   */
  validationSplit?: number;
  /** Rows to validate on instead of a split. */
  validationData?: LabelledData;
  /** Rows per validation call. Default `batchSize`. */
  validationBatchSize?: number;
  /** Validate after every this many epochs, and after the last. Default 1. */
  validationFreq?: number;
  /** Stop when a figure no longer improves. */
  earlyStopping?: EarlyStoppingOptions;
  /**
   * Write a checkpoint to this path after every epoch, atomically (needs
   * Deno's file system): a crash leaves the last complete epoch's file.
   * `resume` goes on from it.
   */
  checkpoint?: string;
  /**
   * A checkpoint `fit` wrote: training goes on from the end of its epoch
   * (weights, optimiser, step, mask streams, shuffle and history), as if
   * never stopped. Same data, `batchSize`, validation and shuffle needed.
   */
  resume?: Uint8Array;
  /** Stops training between two steps; `fit` then rejects with its reason. */
  signal?: AbortSignal;
  /** After each step (awaited). */
  onBatchEnd?: (logs: BatchLogs) => void | Promise<void>;
  /** After each epoch, once its checkpoint is written (awaited). */
  onEpochEnd?: (logs: EpochLogs) => void | Promise<void>;
}
