import { JumpoutLayer, type JumpoutLayerArgs } from "./jumpout_layer.ts";

/**
 * Makes a Jumpout layer for TensorFlow.js: where a model has
 * `tf.layers.dropout({ rate })`, put `jumpout()` (see
 * {@linkcode JumpoutLayer} for what it does).
 *
 * @param args Jumpout's options (`sigma`, `pMin`, `pMax`, `rescalePower`,
 *   `scope`, `seed`, `monotone`, `normalize`, `rate`), `step`, and
 *   TensorFlow.js's layer arguments (`name`, `inputShape`, …).
 * @returns The layer.
 * @throws {RangeError | TypeError} When an option is out of range or of the
 *   wrong type, naming it, with the messages of this library's `Jumpout`.
 *
 * @example A perceptron with Jumpout after its hidden layer
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { jumpout } from "./jumpout.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const model = tfl.sequential({
 *   layers: [
 *     tfl.layers.dense({ inputShape: [4], units: 8, activation: "relu" }),
 *     jumpout({ seed: 1 }),
 *     tfl.layers.dense({ units: 2 }),
 *   ],
 * });
 * deepEqual(model.outputs[0].shape, [null, 2]);
 * ```
 */
export function jumpout(args?: JumpoutLayerArgs): JumpoutLayer {
  return new JumpoutLayer(args);
}
