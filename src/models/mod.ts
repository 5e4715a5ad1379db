/**
 * Model builders: the networks of the Jumpout paper as plain layer specs
 * (`LayerSpec[]`), for `modelFromSpec`, `DataParallel.create` and
 * checkpoints.
 *
 * @module
 */

export * from "./preact_resnet.ts";
export * from "./wide_resnet.ts";
export * from "./regularizer.ts";
