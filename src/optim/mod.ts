/**
 * Optimisation: optimisers (SGD, Adam), learning-rate schedules, optimiser
 * specs as plain data, and one training step.
 *
 * @module
 */

export * from "./optimizer.ts";
export * from "./sgd.ts";
export * from "./adam.ts";
export * from "./schedules.ts";
export * from "./optimizer_spec.ts";
export * from "./train_step.ts";
