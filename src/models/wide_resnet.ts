/**
 * The Wide ResNet of Zagoruyko and Komodakis (2016).
 *
 * @module
 */

import type { LayerSpec } from "../io/model_spec.ts";
import { checkInteger } from "../_checks.ts";
import { regularizerSpecs, residualNetwork } from "./_blocks.ts";
import type { Regularizer } from "./regularizer.ts";

/** Options of {@linkcode wideResNet}. */
export interface WideResNetOptions {
  /** Layers with weights, `6n + 4` (n blocks per stage): 16, 22, 28, 40, …. */
  depth: number;
  /** The widening factor k: stages of 16k, 32k and 64k channels. */
  widen: number;
  /** Image channels. Default 3. */
  inChannels?: number;
  /** Classes. Default 10. */
  classes?: number;
  /**
   * What goes between each block's convolutions (WRN's dropout sits
   * there). Default `"none"`.
   */
  regularizer?: Regularizer;
}

/**
 * A Wide ResNet WRN-`depth`-`widen` (Zagoruyko and Komodakis, "Wide
 * Residual Networks", 2016) as plain layer specs: a 3×3 convolution to 16
 * channels, three stages of `n = (depth - 4) / 6` pre-activation blocks of
 * 16k, 32k and 64k channels (strides 1, 2, 2), then BN → ReLU → global
 * average pooling → dense. Blocks are BN → ReLU → Conv → BN → ReLU →
 * regulariser → Conv; where the shape changes, the shortcut is a strided
 * 1×1 convolution of the pre-activated input, as in the paper's code.
 *
 * @param options Depth, widening factor, channels, classes, regulariser.
 * @returns The network's layer specs.
 * @throws {RangeError} When `depth` is not 6n + 4, or a size is not a
 *   positive integer.
 * @throws {TypeError} When `regularizer` is not one of the choices.
 *
 * @example WRN-16-4 with dropout between the convolutions
 * ```ts
 * import { wideResNet } from "../../mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const specs = wideResNet({ depth: 16, widen: 4, regularizer: "dropout" });
 * equal(specs.filter((s) => s.type === "residual").length, 6);
 * ```
 */
export function wideResNet(options: WideResNetOptions): LayerSpec[] {
  const what = "build a Wide ResNet";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${what}: options must be an object with depth and widen, got ${options}`,
    );
  }
  const {
    depth,
    widen,
    inChannels = 3,
    classes = 10,
    regularizer = "none",
  } = options;
  checkInteger(depth, 10, what, "depth");
  if ((depth - 4) % 6 !== 0) {
    throw new RangeError(
      `Cannot ${what}: depth must be 6n + 4 (10, 16, 22, 28, 40, …), got ${depth}`,
    );
  }
  checkInteger(widen, 1, what, "widen");
  checkInteger(inChannels, 1, what, "inChannels");
  checkInteger(classes, 1, what, "classes");
  return residualNetwork(
    inChannels,
    [16, 16 * widen, 32 * widen, 64 * widen],
    (depth - 4) / 6,
    classes,
    regularizerSpecs(what, regularizer),
  );
}
