/**
 * The network the demo trains: the multilayer perceptron of the paper's
 * Fashion-MNIST runs, with Jumpout (the paper's defaults) after each hidden
 * ReLU, and the optimiser the command-line trainer uses.
 *
 * @module
 */

import type { LayerSpec, OptimizerSpec } from "../mod.ts";

/**
 * 784-512-512-10: Dense → ReLU → Jumpout, twice, then Dense to the ten
 * classes. Jumpout's options are left to their defaults, the paper's
 * (sigma 0.1, pMin 0.01, pMax 0.6, rescale power 0.75, one rate per batch).
 *
 * @example Two Jumpout layers, 669,706 weights
 * ```ts
 * import { MLP_LAYERS } from "./model.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(MLP_LAYERS.filter((l) => l.type === "jumpout").length, 2);
 * const weights = MLP_LAYERS.reduce(
 *   (sum, l) => l.type === "dense" ? sum + (l.inFeatures + 1) * l.outFeatures : sum,
 *   0,
 * );
 * equal(weights, 669_706);
 * ```
 */
export const MLP_LAYERS: readonly LayerSpec[] = Object.freeze([
  { type: "dense", inFeatures: 784, outFeatures: 512 },
  { type: "relu" },
  { type: "jumpout" },
  { type: "dense", inFeatures: 512, outFeatures: 512 },
  { type: "relu" },
  { type: "jumpout" },
  { type: "dense", inFeatures: 512, outFeatures: 10 },
]);

/** One image, flattened: 28 × 28 pixels. */
export const MLP_INPUT_SHAPE: readonly number[] = Object.freeze([784]);

/**
 * SGD with Nesterov momentum 0.9 at the command-line trainer's learning
 * rate, 0.05.
 *
 * @example The optimiser as plain data
 * ```ts
 * import { MLP_OPTIMIZER } from "./model.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(MLP_OPTIMIZER.type, "sgd");
 * equal(MLP_OPTIMIZER.lr, 0.05);
 * ```
 */
export const MLP_OPTIMIZER: OptimizerSpec = Object.freeze({
  type: "sgd",
  lr: 0.05,
  momentum: 0.9,
  nesterov: true,
});
