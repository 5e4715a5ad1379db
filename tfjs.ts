/**
 * Jumpout for TensorFlow.js (`@jumpout/jumpout/tfjs`): {@linkcode jumpout}
 * returns a `tf.layers.Layer`, a drop-in for `tf.layers.dropout`, with the
 * options, semantics and masks of this library's `Jumpout`. TensorFlow.js
 * (`@tensorflow/tfjs-core` and `@tensorflow/tfjs-layers` 4.22 or later, or
 * `@tensorflow/tfjs`) is the caller's: this entry imports it and the main
 * entry does not.
 *
 * @example Jumpout where the model had dropout
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { jumpout } from "./tfjs.ts";
 * import { ok } from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const init = (seed: number) => tfl.initializers.heNormal({ seed });
 * const model = tfl.sequential({
 *   layers: [
 *     tfl.layers.dense({
 *       inputShape: [6],
 *       units: 16,
 *       activation: "relu",
 *       kernelInitializer: init(1),
 *     }),
 *     jumpout({ seed: 3 }), // was tfl.layers.dropout({ rate: 0.2 })
 *     tfl.layers.dense({ units: 3, kernelInitializer: init(2) }),
 *   ],
 * });
 * model.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
 * const x = tf.randomNormal([32, 6], 0, 1, "float32", 1);
 * const labels = Int32Array.from({ length: 32 }, (_, i) => i % 3);
 * const y = tf.oneHot(tf.tensor1d(labels, "int32"), 3);
 * const fitted = await model.fit(x, y, { epochs: 20, shuffle: false, verbose: 0 });
 * const losses = fitted.history.loss as number[];
 * ok(losses[19] < 0.8 * losses[0]); // the same numbers every run: all seeded
 * ```
 *
 * @module
 */

export * from "./src/tfjs/mod.ts";
