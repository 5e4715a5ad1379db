/**
 * What `fit` returns: each epoch's loss and accuracy, as Keras's `History`.
 *
 * @module
 */

/**
 * Each epoch's figures, one entry per epoch. The validation figures are
 * there when `fit` had validation data, NaN for an epoch it did not
 * validate (see `validationFreq`).
 */
export interface HistoryValues {
  /** Mean training loss over the epoch's steps (with dropout on). */
  loss: number[];
  /** Training accuracy over the epoch's steps (with dropout on). */
  accuracy: number[];
  /** Loss on the validation rows, in evaluation mode. */
  valLoss?: number[];
  /** Accuracy on the validation rows, in evaluation mode. */
  valAccuracy?: number[];
}

/** A training run's record, as `fit` returns it. */
export interface History {
  /**
   * The epochs trained, counting from 1, those of the checkpoint a run
   * resumed from included.
   */
  epoch: number[];
  /** Each epoch's figures, in the order of `epoch`. */
  history: HistoryValues;
  /** The epoch after which early stopping ended the run, if it did. */
  stoppedEpoch?: number;
  /**
   * With early stopping: the epoch whose monitored figure was best (the
   * one `restoreBest` goes back to), if any.
   */
  bestEpoch?: number;
}
