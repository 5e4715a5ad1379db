/**
 * The networks of the main job, with a choice of regulariser after each
 * hidden ReLU.
 *
 * @module
 */

import {
  type JumpoutOptions,
  type LayerSpec,
  preactResNet,
  wideResNet,
} from "../mod.ts";

/** The networks with fixed names. */
export const MODEL_NAMES = ["mlp", "cnn"] as const;

/** One of {@linkcode MODEL_NAMES}. */
export type ModelName = typeof MODEL_NAMES[number];

/**
 * A network the command line builds: a fixed name, a pre-activation ResNet
 * `resnet<depth>` (depth 6n + 2, e.g. `resnet20`) or a Wide ResNet
 * `wrn-<depth>-<widen>` (depth 6n + 4, e.g. `wrn-16-4`).
 */
export type NetworkName =
  | ModelName
  | `resnet${number}`
  | `wrn-${number}-${number}`;

/** How the command line lists the networks. */
export const NETWORK_HELP =
  "mlp, cnn, resnet<6n+2> (e.g. resnet20) or wrn-<6n+4>-<k> (e.g. wrn-16-4)";

/**
 * Whether `name` names a network the command line builds; the residual ones
 * must also have a valid depth.
 *
 * @param name A `--model` value.
 * @returns True for `mlp`, `cnn`, `resnet20`, `wrn-16-4` and the like.
 *
 * @example Names and non-names
 * ```ts
 * import { isNetworkName } from "./_models.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(["cnn", "resnet20", "resnet21", "wrn-16-4", "wrn-16"].map(isNetworkName), [true, true, false, true, false]);
 * ```
 */
export function isNetworkName(name: string): name is NetworkName {
  if ((MODEL_NAMES as readonly string[]).includes(name)) return true;
  const resnet = /^resnet([1-9][0-9]*)$/.exec(name);
  if (resnet) {
    return Number(resnet[1]) >= 8 && (Number(resnet[1]) - 2) % 6 === 0;
  }
  const wrn = /^wrn-([1-9][0-9]*)-([1-9][0-9]*)$/.exec(name);
  return wrn !== null && Number(wrn[1]) >= 10 && (Number(wrn[1]) - 4) % 6 === 0;
}

/**
 * Whether a network has residual blocks (and so trains with augmentation
 * by default).
 *
 * @param name A network.
 * @returns True for the ResNets and Wide ResNets.
 */
export function isResidual(name: NetworkName): boolean {
  return name.startsWith("resnet") || name.startsWith("wrn-");
}

/**
 * What follows each hidden ReLU: nothing, plain dropout at `rate`, or
 * Jumpout with any of its three changes switched off (the ablation):
 * `monotone` (rate drawn from the half-normal of `sigma`, else the fixed
 * `rate`), `normalize` (divided by q+), `rescalePower` (0.75, or 1 as in
 * dropout).
 */
export type Regularizer =
  | { kind: "none" }
  | { kind: "dropout"; rate: number }
  | {
    kind: "jumpout";
    sigma: number;
    rate: number;
    monotone: boolean;
    normalize: boolean;
    rescalePower: number;
  };

/**
 * A short name for a regulariser: `none`, `dropout(0.1)`, `jumpout` or the
 * ablation's letters (M monotone, N normalised, R rescaled by 0.75).
 *
 * @param reg The regulariser.
 * @returns Its name.
 */
export function regularizerName(reg: Regularizer): string {
  if (reg.kind === "none") return "none";
  if (reg.kind === "dropout") return `dropout(${reg.rate})`;
  return ablationName(reg.monotone, reg.normalize, reg.rescalePower === 0.75);
}

/**
 * The name of one combination of Jumpout's three changes: `jumpout` for all
 * three, else `jumpout[` + the letters of those on (M, N, R; `-` for none) + `]`.
 *
 * @param monotone The rate drawn from the half-normal.
 * @param normalize The rate divided by q+.
 * @param rescale Kept units scaled by (1 - p')^-0.75.
 * @returns The name.
 *
 * @example Two of the three
 * ```ts
 * import { ablationName } from "./_models.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(ablationName(true, false, true), "jumpout[MR]");
 * ```
 */
export function ablationName(
  monotone: boolean,
  normalize: boolean,
  rescale: boolean,
): string {
  const letters = `${monotone ? "M" : ""}${normalize ? "N" : ""}${
    rescale ? "R" : ""
  }`;
  return letters === "MNR" ? "jumpout" : `jumpout[${letters || "-"}]`;
}

/** The layer spec of the regulariser, or none. */
function regLayer(reg: Regularizer): LayerSpec[] {
  if (reg.kind === "none") return [];
  if (reg.kind === "dropout") {
    return [{ type: "dropout", options: { rate: reg.rate } }];
  }
  const options: JumpoutOptions = {
    monotone: reg.monotone,
    normalize: reg.normalize,
    rescalePower: reg.rescalePower,
  };
  if (reg.monotone) options.sigma = reg.sigma;
  else options.rate = reg.rate;
  return [{ type: "jumpout", options }];
}

/**
 * A network as layer specs.
 *
 * - `mlp`: 784-512-512-10, ReLU then the regulariser after each hidden layer.
 * - `resnet<depth>`: `preactResNet({ depth, inChannels: 1 })`, the
 *   regulariser between each block's convolutions; `wrn-<depth>-<k>`:
 *   `wideResNet({ depth, widen: k, inChannels: 1 })`, likewise.
 * - `cnn`: Conv(1→32, 3, pad 1) → BatchNorm → ReLU → MaxPool(2) → reg →
 *   Conv(32→32, 3, pad 1) → BatchNorm → ReLU → MaxPool(2) → reg → Flatten →
 *   Dense(1568→256) → ReLU → reg → Dense(256→10).
 *
 * @param model Which network.
 * @param reg What follows each hidden ReLU.
 * @param options `batchNorm: false` takes the `cnn`'s BatchNorm layers out
 *   (Figure 2's question); the other networks keep theirs.
 * @returns The layer specs.
 *
 * @example Plain dropout after both hidden layers of the MLP
 * ```ts
 * import { networkSpecs } from "./_models.ts";
 * import { equal } from "node:assert/strict";
 *
 * const specs = networkSpecs("mlp", { kind: "dropout", rate: 0.2 });
 * equal(specs.filter((s) => s.type === "dropout").length, 2);
 * ```
 */
export function networkSpecs(
  model: NetworkName,
  reg: Regularizer,
  options: { batchNorm?: boolean } = {},
): LayerSpec[] {
  const r = regLayer(reg);
  const regularizer = r[0] ?? "none";
  if (model.startsWith("resnet")) {
    const depth = Number(model.slice("resnet".length));
    return preactResNet({ depth, inChannels: 1, regularizer });
  }
  if (model.startsWith("wrn-")) {
    const [depth, widen] = model.slice("wrn-".length).split("-").map(Number);
    return wideResNet({ depth, widen, inChannels: 1, regularizer });
  }
  if (model === "mlp") {
    return [
      { type: "dense", inFeatures: 784, outFeatures: 512 },
      { type: "relu" },
      ...r,
      { type: "dense", inFeatures: 512, outFeatures: 512 },
      { type: "relu" },
      ...r,
      { type: "dense", inFeatures: 512, outFeatures: 10 },
    ];
  }
  // The regulariser sits where the paper analyses it: after the ReLU (and
  // the pooling), right before the next linear layer.
  const block = (inChannels: number, outChannels: number): LayerSpec[] => [
    {
      type: "conv2d",
      inChannels,
      outChannels,
      kernelSize: 3,
      options: { padding: 1 },
    },
    ...(options.batchNorm === false
      ? []
      : [{ type: "batch_norm", channels: outChannels } as const]),
    { type: "relu" },
    { type: "max_pool2d", kernelSize: 2 },
    ...r,
  ];
  return [
    ...block(1, 32),
    ...block(32, 32),
    { type: "flatten" },
    { type: "dense", inFeatures: 32 * 7 * 7, outFeatures: 256 },
    { type: "relu" },
    ...r,
    { type: "dense", inFeatures: 256, outFeatures: 10 },
  ];
}

/**
 * One sample's shape for a network.
 *
 * @param model Which network.
 * @returns `[784]` or `[1, 28, 28]`.
 */
export function inputShapeOf(model: NetworkName): number[] {
  return model === "mlp" ? [784] : [1, 28, 28];
}
