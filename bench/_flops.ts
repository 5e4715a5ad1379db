/**
 * Nominal floating-point work of a training step, so a network's throughput
 * can be set against the matrix product's GFLOP/s.
 *
 * @module
 */

import { Conv2d, Dense, Residual } from "../mod.ts";
import type { Layer } from "../src/layers/layer.ts";

/** How {@linkcode nominalTrainingFlops} counts, for the rows that use it. */
export const FLOP_CONVENTION =
  "conv and dense multiply-adds x2 (forward) x3 (forward + backward); other layers not counted";

/**
 * The nominal training FLOPs per sample of a network: the multiply-adds of
 * its convolutions and dense layers in the forward pass, times 2 (a
 * multiply-add is two FLOPs), times 3 (the backward pass computes the input
 * and the weight gradients, each as much work as the forward). Normalisation,
 * activations, pooling, dropout and the optimiser are left out, as is the
 * saving of the first layer's input gradient, which a backward need not form.
 *
 * @param layers The network's layers, entering residual blocks' branches.
 * @param sampleShape One sample's shape, without the batch.
 * @returns FLOPs per sample.
 *
 * @example A 784-1024-10 perceptron: (784·1024 + 1024·10) · 2 · 3
 * ```ts
 * import { Dense, ReLU } from "../mod.ts";
 * import { nominalTrainingFlops } from "./_flops.ts";
 * import { equal } from "node:assert/strict";
 *
 * const layers = [new Dense(784, 1024), new ReLU(), new Dense(1024, 10)];
 * equal(nominalTrainingFlops(layers, [784]), (784 * 1024 + 1024 * 10) * 6);
 * ```
 *
 * @example ResNet-20 at 1×28×28: 31.0M multiply-adds, 186.1 MFLOP
 * ```ts
 * import { layerFromSpec, preactResNet } from "../mod.ts";
 * import { nominalTrainingFlops } from "./_flops.ts";
 * import { equal } from "node:assert/strict";
 *
 * const layers = preactResNet().map(layerFromSpec);
 * equal(nominalTrainingFlops(layers, [1, 28, 28]), 186_131_712);
 * ```
 */
export function nominalTrainingFlops(
  layers: readonly Layer[],
  sampleShape: readonly number[],
): number {
  return 6 * forwardMultiplyAdds(layers, [1, ...sampleShape]);
}

/** Multiply-adds of the forward of layers taking `inputShape`. */
function forwardMultiplyAdds(
  layers: readonly Layer[],
  inputShape: readonly number[],
): number {
  let shape = [...inputShape];
  let macs = 0;
  for (const layer of layers) {
    const out = layer.outputShape(shape);
    if (layer instanceof Conv2d) {
      const k = layer.kernelSize;
      macs += size(out) * layer.inChannels * k * k;
    } else if (layer instanceof Dense) {
      macs += layer.inFeatures * layer.outFeatures;
    } else if (layer instanceof Residual) {
      macs += forwardMultiplyAdds(layer.body.layers, shape) +
        forwardMultiplyAdds(layer.shortcut?.layers ?? [], shape);
    }
    shape = out;
  }
  return macs;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
