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
 * const model = tfl.sequential({
 *   layers: [
 *     tfl.layers.dense({ inputShape: [6], units: 16, activation: "relu" }),
 *     jumpout({ seed: 3 }), // was tfl.layers.dropout({ rate: 0.2 })
 *     tfl.layers.dense({ units: 3 }),
 *   ],
 * });
 * model.compile({ optimizer: "adam", loss: "meanSquaredError" });
 * const x = tf.randomNormal([32, 6], 0, 1, "float32", 1);
 * const y = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 3), "int32"), 3);
 * const history = await model.fit(x, y, { epochs: 5, verbose: 0 });
 * const losses = history.history.loss as number[];
 * ok(losses[4] < losses[0]);
 * ```
 *
 * @module
 */

export * from "./src/tfjs/mod.ts";
