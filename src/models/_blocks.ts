/**
 * The pre-activation residual block both residual builders stack.
 *
 * @module
 */

import type { LayerSpec } from "../io/model_spec.ts";
import { showValue } from "../_checks.ts";
import { DEFAULT_DROPOUT_RATE } from "./regularizer.ts";

/** A 3×3 convolution with padding 1 and no bias (a BatchNorm follows). */
export function conv3x3(
  inChannels: number,
  outChannels: number,
  stride = 1,
): LayerSpec {
  return {
    type: "conv2d",
    inChannels,
    outChannels,
    kernelSize: 3,
    options: { stride, padding: 1, bias: false },
  };
}

/** BatchNorm then ReLU over `channels`. */
export function preActivation(channels: number): LayerSpec[] {
  return [{ type: "batch_norm", channels }, { type: "relu" }];
}

/**
 * One pre-activation block: BN → ReLU → Conv3×3(stride) → BN → ReLU →
 * regulariser → Conv3×3, added to its input. When the shape changes
 * (`stride > 1` or other channels) the shortcut is a 1×1 convolution of
 * that stride, applied, as in the original code of both papers, to the
 * pre-activated input: the block's first BN → ReLU then runs before the
 * residual and feeds both branches.
 *
 * @param inChannels The block's input channels.
 * @param outChannels Its output channels.
 * @param stride The first convolution's stride (and the shortcut's).
 * @param regularizer Specs between the two convolutions.
 * @returns The block's layer specs.
 */
export function preActBlock(
  inChannels: number,
  outChannels: number,
  stride: number,
  regularizer: readonly LayerSpec[],
): LayerSpec[] {
  const inner: LayerSpec[] = [
    conv3x3(inChannels, outChannels, stride),
    ...preActivation(outChannels),
    ...regularizer.map((spec) => structuredClone(spec)),
    conv3x3(outChannels, outChannels),
  ];
  if (stride === 1 && inChannels === outChannels) {
    return [{
      type: "residual",
      body: [...preActivation(inChannels), ...inner],
    }];
  }
  return [
    ...preActivation(inChannels),
    {
      type: "residual",
      body: inner,
      shortcut: [{
        type: "conv2d",
        inChannels,
        outChannels,
        kernelSize: 1,
        options: { stride, padding: 0, bias: false },
      }],
    },
  ];
}

/**
 * The stem, three stages of `blocks` blocks (strides 1, 2, 2), and the head:
 * BN → ReLU → global average pooling → dense.
 *
 * @param inChannels Image channels.
 * @param widths The stem's and the three stages' channels.
 * @param blocks Blocks per stage.
 * @param classes Outputs of the dense layer.
 * @param regularizer Specs between each block's convolutions.
 * @returns The network's layer specs.
 */
export function residualNetwork(
  inChannels: number,
  widths: readonly [number, number, number, number],
  blocks: number,
  classes: number,
  regularizer: readonly LayerSpec[],
): LayerSpec[] {
  const [stem, ...stages] = widths;
  const specs: LayerSpec[] = [conv3x3(inChannels, stem)];
  let channels = stem;
  stages.forEach((width, stage) => {
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      specs.push(...preActBlock(channels, width, stride, regularizer));
      channels = width;
    }
  });
  specs.push(
    ...preActivation(channels),
    { type: "global_avg_pool" },
    { type: "dense", inFeatures: channels, outFeatures: classes },
  );
  return specs;
}

/**
 * The layer specs a regulariser stands for: none, or one.
 *
 * @param what Who is asking, for the error message.
 * @param regularizer The builder's option.
 * @returns Zero or one layer spec.
 * @throws {TypeError} When it is none of the names and not an object.
 */
export function regularizerSpecs(
  what: string,
  regularizer: unknown,
): LayerSpec[] {
  if (regularizer === "none") return [];
  if (regularizer === "dropout") {
    return [{ type: "dropout", options: { rate: DEFAULT_DROPOUT_RATE } }];
  }
  if (regularizer === "jumpout") return [{ type: "jumpout" }];
  if (
    regularizer !== null && typeof regularizer === "object" &&
    !Array.isArray(regularizer) &&
    typeof (regularizer as { type?: unknown }).type === "string"
  ) {
    return [structuredClone(regularizer) as LayerSpec];
  }
  throw new TypeError(
    `Cannot ${what}: regularizer must be "none", "dropout", "jumpout" or a layer spec, got ${
      showValue(regularizer)
    }`,
  );
}
