/**
 * The pre-activation ResNet of He et al. (2016b), for small images.
 *
 * @module
 */

import type { LayerSpec } from "../io/model_spec.ts";
import { checkInteger } from "../_checks.ts";
import { regularizerSpecs, residualNetwork } from "./_blocks.ts";
import type { Regularizer } from "./regularizer.ts";

/** Options of {@linkcode preactResNet}. */
export interface PreactResNetOptions {
  /** Layers with weights, `6n + 2` (n blocks per stage). Default 20. */
  depth?: number;
  /** Channels of the first stage; the others have 2× and 4×. Default 16. */
  width?: number;
  /** Image channels. Default 1. */
  inChannels?: number;
  /** Classes. Default 10. */
  classes?: number;
  /** What goes between each block's convolutions. Default `"none"`. */
  regularizer?: Regularizer;
}

/**
 * A pre-activation ResNet (He, Zhang, Ren and Sun, "Identity Mappings in
 * Deep Residual Networks", 2016) for 28×28 or 32×32 images, as plain layer
 * specs: a 3×3 convolution, three stages of `n = (depth - 2) / 6` blocks
 * with `width`, 2·`width` and 4·`width` channels (the second and third
 * start with stride 2), then BN → ReLU → global average pooling → dense.
 * Each block is BN → ReLU → Conv → BN → ReLU → regulariser → Conv plus
 * its input; where the shape changes the shortcut is a strided 1×1
 * convolution of the pre-activated input (the paper's projection, "option
 * B", which adds 1% to ResNet-20's parameters).
 *
 * @param options Depth, width, channels, classes and regulariser.
 * @returns The network's layer specs, for `modelFromSpec`,
 *   `DataParallel.create` or a checkpoint.
 * @throws {RangeError} When `depth` is not 6n + 2, or a size is not a
 *   positive integer.
 * @throws {TypeError} When `regularizer` is not one of the choices.
 *
 * @example ResNet-20 with Jumpout has 0.27M parameters
 * ```ts
 * import { createBackend, modelFromSpec, preactResNet } from "../../mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const model = modelFromSpec(preactResNet({ inChannels: 3, regularizer: "jumpout" }));
 * model.build(await createBackend("reference"), [3, 32, 32], { seed: 1 });
 * const count = model.parameters().reduce((n, p) => n + p.value.size, 0);
 * equal(Math.round(count / 1e4) / 100, 0.27);
 * ```
 */
export function preactResNet(options: PreactResNetOptions = {}): LayerSpec[] {
  const what = "build a pre-activation ResNet";
  const {
    depth = 20,
    width = 16,
    inChannels = 1,
    classes = 10,
    regularizer = "none",
  } = options;
  checkInteger(depth, 8, what, "depth");
  if ((depth - 2) % 6 !== 0) {
    throw new RangeError(
      `Cannot ${what}: depth must be 6n + 2 (8, 14, 20, 32, 44, 56, 110, …), got ${depth}`,
    );
  }
  checkInteger(width, 1, what, "width");
  checkInteger(inChannels, 1, what, "inChannels");
  checkInteger(classes, 1, what, "classes");
  return residualNetwork(
    inChannels,
    [width, width, 2 * width, 4 * width],
    (depth - 2) / 6,
    classes,
    regularizerSpecs(what, regularizer),
  );
}
