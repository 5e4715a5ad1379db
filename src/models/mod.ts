/**
 * Model builders: the networks of the Jumpout paper as plain layer specs
 * (`LayerSpec[]`), for `modelFromSpec`, `DataParallel.create` and
 * checkpoints; and `summary`, a model or its specs as a table.
 *
 * @module
 */

export * from "./preact_resnet.ts";
export * from "./wide_resnet.ts";
export * from "./regularizer.ts";
export * from "./summary.ts";
