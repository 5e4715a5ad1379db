/**
 * The networks the training benchmark times, defined once for this library
 * and once for TensorFlow.js with the same layers and sizes, plus the fixed
 * synthetic batch both sides train on.
 *
 * @module
 */

import * as tfl from "@tensorflow/tfjs-layers";
import { Dropout, Jumpout, layerFromSpec, preactResNet } from "../mod.ts";
import { jumpout } from "../tfjs.ts";
import type { Layer } from "../src/layers/layer.ts";
import { BatchNorm } from "../src/layers/batch_norm.ts";
import { Conv2d } from "../src/layers/conv2d.ts";
import { Dense } from "../src/layers/dense.ts";
import { Flatten } from "../src/layers/flatten.ts";
import { MaxPool2d } from "../src/layers/max_pool2d.ts";
import { ReLU } from "../src/layers/relu.ts";

/** The benchmarked networks. */
export const MODEL_IDS = ["mlp", "mlp-dropout", "cnn", "resnet20"] as const;

/** One of {@linkcode MODEL_IDS}. */
export type ModelId = typeof MODEL_IDS[number];

/**
 * The networks timed when none are named: `resnet20` is asked for by name,
 * since on a software WebGPU adapter (llvmpipe) one of its steps at batch 128
 * takes about 100 s.
 */
export const DEFAULT_MODEL_IDS: readonly ModelId[] = [
  "mlp",
  "mlp-dropout",
  "cnn",
];

/** Output classes of every network. */
export const CLASSES = 10;

/** Learning rate of the SGD optimiser on both sides (not `resnet20`'s). */
export const LEARNING_RATE = 0.01;

/** Momentum of the SGD optimiser on both sides. */
export const MOMENTUM = 0.9;

/** The settings of a network's SGD optimiser. */
export interface SgdSettings {
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/**
 * The SGD settings a network trains with: plain momentum at
 * {@linkcode LEARNING_RATE} for the small networks, and for `resnet20` the
 * residual networks' usual Nesterov momentum 0.9, rate 0.1 and weight decay
 * 5e-4 (the same in `torch_resnet.py`).
 *
 * @param id The network.
 * @returns Its optimiser settings.
 *
 * @example ResNet-20 trains with Nesterov momentum
 * ```ts
 * import { sgdSettings } from "./_train_models.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(sgdSettings("resnet20"), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
 * ```
 */
export function sgdSettings(id: ModelId): SgdSettings {
  return id === "resnet20"
    ? { lr: 0.1, momentum: MOMENTUM, nesterov: true, weightDecay: 5e-4 }
    : {
      lr: LEARNING_RATE,
      momentum: MOMENTUM,
      nesterov: false,
      weightDecay: 0,
    };
}

/** Rate of the Dropout layers of `mlp-dropout`. */
export const DROPOUT_RATE = 0.1;

/**
 * Rate of the dropout that stands in for Jumpout in TensorFlow.js, which has
 * no Jumpout layer: the rate of `mlp-dropout`. The rate does not change the
 * work a dropout layer does (every unit gets a random draw), so it stands in
 * for Jumpout's cost as well as any.
 */
export const TFJS_JUMPOUT_STANDIN_RATE = 0.1;

/**
 * What the PyTorch rows of `resnet20` say about the layer PyTorch lacks: the
 * same stand-in as TensorFlow.js's (`torch_resnet.py`).
 */
export const TORCH_NOTE =
  `PyTorch has no Jumpout: nn.Dropout(${TFJS_JUMPOUT_STANDIN_RATE}) stands in`;

/** What the rows of TensorFlow.js with this library's Jumpout layer say. */
export const TFJS_JUMPOUT_NOTE =
  "TensorFlow.js with this library's jumpout() layer (@jumpout/jumpout/tfjs) where the others have Jumpout";

/** What the TensorFlow.js rows say about layers it lacks, per network. */
export const TFJS_NOTES: Partial<Record<ModelId, string>> = {
  mlp:
    `TensorFlow.js has no Jumpout: dropout(rate ${TFJS_JUMPOUT_STANDIN_RATE}) stands in`,
  cnn:
    `TensorFlow.js has no Jumpout: dropout(rate ${TFJS_JUMPOUT_STANDIN_RATE}) stands in; NHWC layout; ` +
    "its wasm backend lacks Conv2DBackpropFilter, filled in with its own conv2d",
};

/**
 * The shape of one sample: a flat 784-vector for the perceptrons, a 1×28×28
 * image (NCHW) for the convolutional networks.
 *
 * @param id The network.
 * @returns The sample's dimensions, without the batch.
 *
 * @example The CNN takes one-channel 28×28 images
 * ```ts
 * import { sampleShape } from "./_train_models.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(sampleShape("cnn"), [1, 28, 28]);
 * ```
 */
export function sampleShape(id: ModelId): number[] {
  return id === "cnn" || id === "resnet20" ? [1, 28, 28] : [784];
}

/**
 * This library's layers for a network, with fixed seeds.
 *
 * - `mlp`: 784-1024-1024-10, Dense → ReLU → Jumpout after each hidden layer;
 * - `mlp-dropout`: the same with Dropout(0.1) in place of Jumpout;
 * - `cnn`: Conv(1→16, 3, pad 1) → BatchNorm → ReLU → MaxPool(2) →
 *   Conv(16→32, 3, pad 1) → BatchNorm → ReLU → MaxPool(2) → Flatten →
 *   Dense(1568→128) → ReLU → Jumpout → Dense(128→10);
 * - `resnet20`: `preactResNet({ regularizer: "jumpout" })`, the
 *   pre-activation ResNet-20 for one-channel images, Jumpout between each
 *   block's convolutions (seeded by the model's build).
 *
 * @param id The network.
 * @returns Layers for a `Sequential`, not yet built.
 *
 * @example The perceptron's first layer
 * ```ts
 * import { ourLayers } from "./_train_models.ts";
 * import { equal } from "node:assert/strict";
 *
 * const layers = ourLayers("mlp");
 * equal(layers.length, 7);
 * equal(layers[0].name, "Dense(784 → 1024)");
 * ```
 */
export function ourLayers(id: ModelId): Layer[] {
  const drop = (seed: number): Layer =>
    id === "mlp-dropout"
      ? new Dropout({ rate: DROPOUT_RATE, seed })
      : new Jumpout({ seed });
  if (id === "resnet20") {
    return preactResNet({ regularizer: "jumpout" }).map(layerFromSpec);
  }
  if (id === "cnn") {
    return [
      new Conv2d(1, 16, 3, { stride: 1, padding: 1 }),
      new BatchNorm(16),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(16, 32, 3, { stride: 1, padding: 1 }),
      new BatchNorm(32),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Dense(32 * 7 * 7, 128),
      new ReLU(),
      drop(1),
      new Dense(128, CLASSES),
    ];
  }
  return [
    new Dense(784, 1024),
    new ReLU(),
    drop(1),
    new Dense(1024, 1024),
    new ReLU(),
    drop(2),
    new Dense(1024, CLASSES),
  ];
}

/**
 * The same network in TensorFlow.js layers, ending in logits. Jumpout is
 * `dropout(TFJS_JUMPOUT_STANDIN_RATE)`, or with `withJumpout` this library's
 * TensorFlow.js layer (`jumpout()` of `tfjs.ts`, with the seeds of
 * `ourLayers`); the CNN takes NHWC images, TensorFlow.js's native layout
 * (identical bytes for one channel).
 *
 * @param id The network (not `resnet20`, which TensorFlow.js's wasm backend
 *   cannot train: it has no filter gradient for strided convolutions).
 * @param withJumpout Use this library's Jumpout layer where the network has
 *   Jumpout (not in `mlp-dropout`).
 * @returns An uncompiled model.
 * @throws {Error} For `resnet20`.
 *
 * @example The TensorFlow.js CNN ends in 10 logits
 * ```ts
 * import { initTfjsWasm } from "./_tfjs.ts";
 * import { tfjsModel } from "./_train_models.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * await initTfjsWasm();
 * const model = tfjsModel("cnn");
 * deepEqual(model.outputs[0].shape, [null, 10]);
 * model.dispose();
 * ```
 */
export function tfjsModel(id: ModelId, withJumpout = false): tfl.Sequential {
  const L = tfl.layers;
  const rate = id === "mlp-dropout" ? DROPOUT_RATE : TFJS_JUMPOUT_STANDIN_RATE;
  const drop = (seed: number) =>
    withJumpout && id !== "mlp-dropout"
      ? jumpout({ seed })
      : L.dropout({ rate, seed });
  if (id === "resnet20") {
    throw new Error(
      "Cannot build the TensorFlow.js network: resnet20 has none (its wasm backend cannot train strided convolutions)",
    );
  }
  if (id === "cnn") {
    return tfl.sequential({
      layers: [
        L.conv2d({
          inputShape: [28, 28, 1],
          filters: 16,
          kernelSize: 3,
          padding: "same",
        }),
        L.batchNormalization({ axis: -1 }),
        L.reLU(),
        L.maxPooling2d({ poolSize: 2 }),
        L.conv2d({ filters: 32, kernelSize: 3, padding: "same" }),
        L.batchNormalization({ axis: -1 }),
        L.reLU(),
        L.maxPooling2d({ poolSize: 2 }),
        L.flatten(),
        L.dense({ units: 128, activation: "relu" }),
        drop(1),
        L.dense({ units: CLASSES }),
      ],
    });
  }
  return tfl.sequential({
    layers: [
      L.dense({ inputShape: [784], units: 1024, activation: "relu" }),
      drop(1),
      L.dense({ units: 1024, activation: "relu" }),
      drop(2),
      L.dense({ units: CLASSES }),
    ],
  });
}

/** One side's training of one network, ready to time. */
export interface TrainCase {
  /** Runs one training step and resolves once its loss has been read back. */
  step(): Promise<void>;
  /** Frees the model, the optimiser state and the batch. */
  dispose(): void;
}

/** A fixed batch of inputs and class labels. */
export interface SyntheticBatch {
  /** `batch × sampleShape` values in [0, 1), row-major. */
  x: Float32Array;
  /** `batch` labels in [0, CLASSES). */
  labels: Uint32Array;
}

/**
 * Random but fixed inputs and labels, from a linear congruential stream: the
 * benchmark measures throughput, so the data only has to be the same on
 * every side and in every run.
 *
 * @param id The network (for the sample size).
 * @param batch Samples in the batch.
 * @param seed Stream seed.
 * @returns The batch.
 *
 * @example A batch of 4 for the perceptron, the same at every call
 * ```ts
 * import { syntheticBatch } from "./_train_models.ts";
 * import { deepEqual, equal, ok } from "node:assert/strict";
 *
 * const { x, labels } = syntheticBatch("mlp", 4);
 * equal(x.length, 4 * 784);
 * ok(labels.every((l) => l < 10));
 * deepEqual(syntheticBatch("mlp", 4).x, x);
 * ```
 */
export function syntheticBatch(
  id: ModelId,
  batch: number,
  seed = 1,
): SyntheticBatch {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const size = sampleShape(id).reduce((a, b) => a * b, 1);
  const x = new Float32Array(batch * size);
  for (let i = 0; i < x.length; i++) x[i] = next();
  const labels = new Uint32Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = Math.floor(next() * CLASSES);
  return { x, labels };
}
