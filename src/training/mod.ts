/**
 * Training loops: `fit` a classifier epoch after epoch (validation,
 * callbacks, early stopping, checkpoints, resuming), `evaluate` it and
 * `predict` with it, on the calling thread or on a `DataParallel`'s workers.
 *
 * @module
 */

export * from "./fit.ts";
export * from "./fit_options.ts";
export * from "./history.ts";
export * from "./checkpoint_history.ts";
export * from "./evaluate.ts";
export * from "./predict.ts";
export * from "./labelled_data.ts";
export * from "./classifier.ts";
export * from "./permutation.ts";
