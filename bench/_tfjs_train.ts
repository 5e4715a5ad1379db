/**
 * Training steps of the benchmark networks in TensorFlow.js, on its
 * single-threaded wasm backend: the point of comparison for this library's
 * training throughput.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initTfjsWasm } from "./_tfjs.ts";
import {
  CLASSES,
  LEARNING_RATE,
  type ModelId,
  MOMENTUM,
  syntheticBatch,
  tfjsModel,
  type TrainCase,
} from "./_train_models.ts";

/**
 * Compiles a network with SGD momentum (TensorFlow.js's momentum optimiser has
 * PyTorch's convention: `v = momentum · v + g`, `w -= lr · v`) and softmax
 * cross-entropy on logits, and trains it on one fixed batch with
 * `trainOnBatch`, which reads the loss and accuracy back at every step as this
 * library's `trainStep` does.
 *
 * @param id The network.
 * @param batch Samples per step.
 * @param withJumpout Use this library's Jumpout layer for TensorFlow.js
 *   where the network has Jumpout, instead of TensorFlow.js's dropout.
 * @returns The case; call `dispose` when done.
 * @throws {Error} When the wasm backend cannot start.
 *
 * @example Train the CNN for one step on a batch of 4
 * ```ts
 * import { prepareTfjsTraining } from "./_tfjs_train.ts";
 *
 * const c = await prepareTfjsTraining("cnn", 4);
 * await c.step();
 * c.dispose();
 * ```
 */
export async function prepareTfjsTraining(
  id: ModelId,
  batch: number,
  withJumpout = false,
): Promise<TrainCase> {
  await initTfjsWasm();
  if (id === "cnn") fillConv2dFilterGradient();
  const model = tfjsModel(id, withJumpout);
  const optimizer = tf.train.momentum(LEARNING_RATE, MOMENTUM);
  model.compile({
    optimizer,
    loss: (labels, logits) => tf.losses.softmaxCrossEntropy(labels, logits),
    metrics: [tfl.metrics.categoricalAccuracy],
  });
  const data = syntheticBatch(id, batch);
  const [x, y] = tf.tidy(() => [
    // The CNN's NHWC input has the same bytes as NCHW with one channel.
    tf.tensor(data.x, [batch, ...(model.inputs[0].shape.slice(1) as number[])]),
    tf.cast(
      tf.oneHot(tf.tensor1d(Int32Array.from(data.labels), "int32"), CLASSES),
      "float32",
    ),
  ]);
  return {
    step: async () => {
      await model.trainOnBatch(x, y);
    },
    dispose: () => {
      x.dispose();
      y.dispose();
      model.dispose();
      optimizer.dispose();
    },
  };
}

/**
 * TensorFlow.js's wasm backend (4.22) has no `Conv2DBackpropFilter` kernel, so
 * a convolution's weights cannot train on it. This registers one made of the
 * backend's own kernels: for stride 1, the filter gradient is a convolution of
 * the input, batch and channel axes swapped, with the output gradient as the
 * filter. Other strides and dilations are refused.
 */
function fillConv2dFilterGradient(): void {
  if (tf.getKernel("Conv2DBackpropFilter", "wasm")) return;
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs }) => {
      const { strides, pad, dataFormat, filterShape } = attrs as unknown as {
        strides: number | [number, number];
        pad: "same" | "valid" | number;
        dataFormat: string;
        filterShape: [number, number, number, number];
      };
      const [kh, kw] = filterShape;
      if (![strides].flat().every((s) => s === 1) || dataFormat !== "NHWC") {
        throw new Error(
          `Cannot compute a filter gradient: strides must be 1 and dataFormat NHWC, got ${strides} and ${dataFormat}`,
        );
      }
      const padding = (k: number): [number, number] =>
        pad === "same"
          ? [(k - 1) >> 1, k - 1 - ((k - 1) >> 1)]
          : pad === "valid"
          ? [0, 0]
          : typeof pad === "number"
          ? [pad, pad]
          : fail(`pad must be "same", "valid" or a number, got ${pad}`);
      // Returning a Tensor (not a TensorInfo) is what the engine expects from
      // kernels built of other ops; the tidy frees the intermediates.
      return tf.tidy(() => {
        const x = inputs.x as tf.Tensor4D; // [B, H, W, Ci]
        const dy = inputs.dy as tf.Tensor4D; // [B, Ho, Wo, Co]
        const dw = tf.conv2d(
          tf.transpose(x, [3, 1, 2, 0]), // [Ci, H, W, B]
          tf.transpose(dy, [1, 2, 0, 3]), // [Ho, Wo, B, Co]
          1,
          [[0, 0], padding(kh), padding(kw), [0, 0]],
        ); // [Ci, kh, kw, Co]
        return tf.transpose(dw, [1, 2, 0, 3]);
      });
    },
  });
}

function fail(message: string): never {
  throw new Error(`Cannot compute a filter gradient: ${message}`);
}

/**
 * Whether TensorFlow.js's wasm binary runs with SIMD, for the report.
 *
 * @returns True when the SIMD binary is in use.
 *
 * @example Ask after the backend has started
 * ```ts
 * import { initTfjsWasm } from "./_tfjs.ts";
 * import { tfjsWasmSimd } from "./_tfjs_train.ts";
 * import { equal } from "node:assert/strict";
 *
 * await initTfjsWasm();
 * equal(typeof tfjsWasmSimd(), "boolean");
 * ```
 */
export function tfjsWasmSimd(): boolean {
  return tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
}
