/**
 * A model as a table: its layers (those inside blocks indented), each
 * one's output shape and parameter count, and the totals.
 *
 * @module
 */

import { type LayerSpec, modelFromSpec } from "../io/model_spec.ts";
import {
  branchesOf,
  isLayerBlock,
  type Layer,
  type ParameterCount,
} from "../layers/layer.ts";
import { Sequential } from "../layers/sequential.ts";
import { checkSampleShape } from "../layers/_layer_checks.ts";
import { describe, showShape } from "../_checks.ts";

/** One line of the table. */
interface Row {
  /** Levels of blocks around the layer. */
  depth: number;
  /**
   * Its path in the model, as its parameters' names start: `"3"`, or
   * `"3.body.2"` inside a block.
   */
  path: string;
  /** What the layer calls itself, e.g. `"Dense(784 → 512)"`. */
  name: string;
  /** Its output for one sample, without the batch. */
  shape: number[];
  /** What it holds; a block, what the layers inside hold. */
  count: ParameterCount;
}

/** The batch the shapes are worked out for; the table writes it `N`. */
const BATCH = 1;

const what = "summarise a model";

/**
 * A table of a model's layers, as Keras's `model.summary()` and torchinfo
 * print one: each layer (the layers of a residual block's body and shortcut
 * indented under it) with its path (where its parameters' names start), its
 * output shape (the batch written `N`) and the numbers it holds, then the
 * totals.
 *
 * Trainable parameters are what the optimiser updates; non-trainable ones
 * are other state, such as BatchNorm's running statistics (updated by
 * forward passes, not gradients). A row counts both; a block's row counts
 * what the layers inside hold, and the totals count each layer once.
 *
 * For a built model the counts are the sizes of its tensors. Specs, or a
 * model not built yet, are summarised without building anything: the
 * shapes come from each layer's `outputShape`, the counts from its
 * `parameterCount()`.
 *
 * @param model A model, or its layers as specs.
 * @param inputShape One sample's shape, without the batch (e.g.
 *   `[3, 32, 32]`); for a built model, the one it was built for unless
 *   given.
 * @returns The table, lines joined by `\n`, to print.
 * @throws {TypeError} When `model` is neither a `Sequential` nor an array of
 *   specs (or a spec is bad), or `inputShape` is missing for a model that is
 *   not built.
 * @throws {RangeError} When `inputShape` is not a shape, or a layer does not
 *   take it; the message names the layer.
 *
 * @example A small network from specs
 * ```ts
 * import { summary } from "../../mod.ts";
 * import { ok } from "node:assert/strict";
 *
 * const table = summary([
 *   { type: "dense", inFeatures: 784, outFeatures: 128 },
 *   { type: "relu" },
 *   { type: "jumpout" },
 *   { type: "dense", inFeatures: 128, outFeatures: 10 },
 * ], [784]);
 * ok(table.includes("Dense(784 → 128)") && table.includes("[N, 128]"));
 * ok(table.includes("Trainable params: 101,770"));
 * ```
 */
export function summary(
  model: Sequential | readonly LayerSpec[],
  inputShape?: readonly number[],
): string {
  let m: Sequential;
  if (model instanceof Sequential) m = model;
  else if (Array.isArray(model)) m = modelFromSpec(model);
  else {
    throw new TypeError(
      `Cannot ${what}: model must be a Sequential or an array of layer specs, got ${
        describe(model)
      }`,
    );
  }
  const built = m.sampleShape !== undefined;
  const sample = checkSample(inputShape ?? m.sampleShape);
  try {
    // Every layer's checks, and the model's messages naming the layer.
    m.outputShape([BATCH, ...sample]);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const detail = error.message.replace(/^Cannot build Sequential: /, "");
    throw new RangeError(
      `Cannot ${what}: inputShape ${
        showShape(sample)
      } (one sample, no batch) does not fit: ${detail}`,
      { cause: error },
    );
  }
  const rows = layerRows(m.layers, [BATCH, ...sample], 0, "", built);
  return table(sample, rows);
}

/** Throws unless `shape` is one sample's shape; returns it. */
function checkSample(shape: readonly number[] | undefined): number[] {
  if (shape === undefined) {
    throw new TypeError(
      `Cannot ${what}: inputShape must be given for a model that is not built (one sample's shape, without the batch), got undefined`,
    );
  }
  return checkSampleShape(what, shape);
}

/**
 * The rows of `layers`, which run in order from inputs of `shape` (batch
 * first): each layer's, followed by those of the layers inside it.
 */
function layerRows(
  layers: readonly Layer[],
  shape: number[],
  depth: number,
  prefix: string,
  built: boolean,
): Row[] {
  const rows: Row[] = [];
  let input = shape;
  layers.forEach((layer, i) => {
    const output = layer.outputShape(input);
    const row: Row = {
      depth,
      path: `${prefix}${i}`,
      name: layer.name,
      shape: output.slice(1),
      count: { trainable: 0, nonTrainable: 0 },
    };
    rows.push(row);
    if (isLayerBlock(layer)) {
      for (const [branch, inside] of branchesOf(layer)) {
        const path = `${prefix}${i}.${branch}.`;
        const nested = layerRows(inside, input, depth + 1, path, built);
        rows.push(...nested);
        for (const r of nested) if (r.depth === depth + 1) add(row.count, r);
      }
    } else {
      row.count = built ? countTensors(layer) : countSettings(layer);
    }
    input = output;
  });
  return rows;
}

/** Adds a row's count to `total`. */
function add(total: ParameterCount, row: Row): void {
  total.trainable += row.count.trainable;
  total.nonTrainable += row.count.nonTrainable;
}

/** What a built layer holds: the sizes of its parameters and other state. */
function countTensors(layer: Layer): ParameterCount {
  const parameters = layer.parameters();
  const names = new Set(parameters.map((p) => p.name));
  let nonTrainable = 0;
  for (const [name, t] of layer.state()) {
    if (!names.has(name)) nonTrainable += t.size;
  }
  const trainable = parameters.reduce((n, p) => n + p.value.size, 0);
  return { trainable, nonTrainable };
}

/** What an unbuilt layer will hold, from its settings. */
function countSettings(layer: Layer): ParameterCount {
  const count = layer.parameterCount?.();
  return count === undefined ? { trainable: 0, nonTrainable: 0 } : {
    trainable: count.trainable,
    nonTrainable: count.nonTrainable,
  };
}

/** The rows laid out in columns, with the input above and totals below. */
function table(sample: readonly number[], rows: readonly Row[]): string {
  const total: ParameterCount = { trainable: 0, nonTrainable: 0 };
  for (const row of rows) if (row.depth === 0) add(total, row);
  const lines: string[][] = [
    ["Path", "Layer", "Output shape", "Params"],
    ["", "Input", batchShape(sample), ""],
    ...rows.map((r) => [
      r.path,
      `${"  ".repeat(r.depth)}${r.name}`,
      batchShape(r.shape),
      count(r.count.trainable + r.count.nonTrainable),
    ]),
  ];
  const widths = lines[0].map((_, c) =>
    Math.max(...lines.map((l) => l[c].length))
  );
  // Text columns left-aligned, the counts right-aligned.
  const format = (line: string[]) =>
    line.map((cell, c) =>
      c === line.length - 1 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])
    ).join("   ").trimEnd();
  const rule = "=".repeat(widths.reduce((a, b) => a + b + 3, -3));
  return [
    format(lines[0]),
    rule,
    ...lines.slice(1).map(format),
    rule,
    `Total params: ${count(total.trainable + total.nonTrainable)}`,
    `Trainable params: ${count(total.trainable)}`,
    `Non-trainable params: ${
      count(total.nonTrainable)
    } (running statistics and other state that no gradient updates)`,
  ].join("\n");
}

/** One sample's shape with the batch in front, written `N`. */
function batchShape(sample: readonly number[]): string {
  return showShape(["N", ...sample]);
}

/** A count with thousands separated by commas. */
function count(n: number): string {
  return n.toLocaleString("en-US");
}
