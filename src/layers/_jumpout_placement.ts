/**
 * Where Jumpout belongs: right after a ReLU, whose outputs are the only
 * inputs for which q+ (the fraction of inputs > 0) counts the active units.
 * A model's build warns, once per layer, about a Jumpout placed elsewhere.
 *
 * @module
 */

import { AvgPool2d } from "./avg_pool2d.ts";
import { Flatten } from "./flatten.ts";
import { GlobalAvgPool } from "./global_avg_pool.ts";
import { Jumpout } from "./jumpout.ts";
import { branchesOf, isLayerBlock, type Layer } from "./layer.ts";
import { MaxPool2d } from "./max_pool2d.ts";
import { ReLU } from "./relu.ts";

/** Layers already warned about: each is warned about once. */
const WARNED = new WeakSet<Layer>();

/**
 * Layers whose output is still a ReLU's output when their input is one:
 * non-negative, with a zero wherever a unit is inactive. Pooling takes
 * maxima or means of such values, Flatten reshapes them, and dropout
 * (Jumpout and Dropout) only zeroes and scales some.
 */
const KEEP_RELU_OUTPUT = [
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool,
  Flatten,
  Jumpout,
] as const;

/** Where a layer's input comes from, for the message. */
interface Source {
  /** The last layer before it that is not in {@linkcode KEEP_RELU_OUTPUT}. */
  layer: Layer | undefined;
  /** Its path in the model, e.g. `"3"` or `"5.body.2"`. */
  path: string;
}

/**
 * Warns with `console.warn`, once per layer, about every Jumpout of a model
 * (blocks entered) that normalises its rate by q+ and does not get a ReLU's
 * output: the message names the layer, what it gets its input from and why
 * it matters. Layers that keep a ReLU's output (pooling, Flatten, Dropout,
 * Jumpout) may sit between; a block's branches get the block's input.
 *
 * @param layers A model's layers, in order.
 *
 * @example A Jumpout right after a Dense layer is warned about
 * ```ts
 * import { Dense, Jumpout, ReLU } from "../../mod.ts";
 * import { warnMisplacedJumpouts } from "./_jumpout_placement.ts";
 * import { deepEqual, match } from "node:assert/strict";
 *
 * const warnings: string[] = [];
 * const warn = console.warn;
 * console.warn = (message: string) => warnings.push(message);
 * try {
 *   const layers = [new Dense(4, 8), new Jumpout(), new ReLU(), new Jumpout()];
 *   warnMisplacedJumpouts(layers);
 *   warnMisplacedJumpouts(layers);
 * } finally {
 *   console.warn = warn;
 * }
 * deepEqual(warnings.length, 1);
 * match(warnings[0], /^Jumpout at layer 1 gets its input from Dense\(4 → 8\) \(layer 0\), not from a ReLU/);
 * ```
 */
export function warnMisplacedJumpouts(layers: readonly Layer[]): void {
  walk(layers, "", { layer: undefined, path: "" });
}

/** Checks `layers`, which run in order from `source`. */
function walk(layers: readonly Layer[], prefix: string, source: Source): void {
  let from = source;
  layers.forEach((layer, i) => {
    const path = `${prefix}${i}`;
    if (
      layer instanceof Jumpout && layer.options.normalize &&
      !(from.layer instanceof ReLU) && !WARNED.has(layer)
    ) {
      WARNED.add(layer);
      console.warn(message(layer, path, from));
    }
    if (isLayerBlock(layer)) {
      for (const [branch, inside] of branchesOf(layer)) {
        walk(inside, `${path}.${branch}.`, from);
      }
    }
    if (!KEEP_RELU_OUTPUT.some((kind) => layer instanceof kind)) {
      from = { layer, path };
    }
  });
}

/** The warning for a Jumpout at `path` whose input comes from `from`. */
function message(layer: Layer, path: string, from: Source): string {
  const input = from.layer === undefined
    ? "gets the model's input"
    : `gets its input from ${from.layer.name} (layer ${from.path})`;
  return `${layer.name} at layer ${path} ${input}, not from a ReLU: it divides its dropout rate by q+, the fraction of its inputs > 0, which counts active units only in a ReLU's output; put it right after a ReLU (pooling, Flatten or Dropout may sit between), or set normalize: false`;
}
