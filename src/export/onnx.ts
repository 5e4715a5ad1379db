/**
 * ONNX export: a trained model as an `.onnx` file for ONNX Runtime and the
 * other inference runtimes.
 *
 * @module
 */

import { describe, showValue } from "../_checks.ts";
import { Sequential } from "../layers/sequential.ts";
import { encodeOnnxModel, type OnnxGraph } from "./_onnx_model.ts";
import { type GraphParts, layerNodes } from "./_onnx_nodes.ts";

/** Options of {@linkcode exportOnnx}. */
export interface ExportOnnxOptions {
  /** The name of the graph's input, which a runtime is fed by (default `"input"`). */
  inputName?: string;
  /** The name of the graph's output (default `"logits"`). */
  outputName?: string;
}

const WHAT = "export to ONNX";

/**
 * Writes a built model's inference graph as an ONNX model (IR version 8,
 * operator set 17): what the model computes in evaluation mode, with its
 * current weights.
 *
 * Each layer becomes the operators that compute it: Dense → `Gemm` (its
 * `[in, out]` weight as `B`), Conv2d → `Conv`, BatchNorm →
 * `BatchNormalization` with the running statistics (not folded into the
 * convolution before it: the file keeps the model's tensors as they are,
 * and runtimes fold it themselves), ReLU → `Relu`, MaxPool2d → `MaxPool`,
 * AvgPool2d → `AveragePool` (padding counted), GlobalAvgPool →
 * `GlobalAveragePool` then `Flatten`, Flatten → `Flatten`, a residual block
 * → its body's and its shortcut's nodes joined by `Add`. Jumpout and
 * Dropout, the identity at inference, leave no node. Weights and statistics
 * are initializers named as in the model's weights files (`"0.weight"`,
 * `"3.body.2.running_var"`); each node is named by its layer's path, the
 * layer's name as its doc string.
 *
 * The input has one sample's shape as the model was built, after a
 * symbolic batch dimension `"batch"`, so any batch size runs. Everything is
 * checked before anything is read or written: a model the exporter cannot
 * express is refused whole, naming the layer.
 *
 * @param model A built model of the library's layers.
 * @param options `{ inputName = "input", outputName = "logits" }`.
 * @returns The bytes of the `.onnx` file.
 * @throws {TypeError} When `model` is not a built `Sequential`, or one of
 *   its layers (nested ones included) has no ONNX form; the message names
 *   the layer by path, e.g. `layer 3.body.1 (…)`.
 * @throws {RangeError} When a name in `options` is empty or clashes with
 *   another name of the graph.
 *
 * @example Export a small network and look at its header
 * ```ts
 * import { createBackend, Dense, exportOnnx, Jumpout, ReLU, Sequential } from "../../mod.ts";
 * import { ok } from "node:assert/strict";
 *
 * const model = new Sequential([new Dense(4, 8), new ReLU(), new Jumpout(), new Dense(8, 3)]);
 * model.build(await createBackend("reference"), [4], { seed: 1 });
 * const bytes = await exportOnnx(model);
 * // Field 1 (ir_version) is 8; the weights make up most of the file.
 * ok(bytes[0] === 0x08 && bytes[1] === 8);
 * ok(bytes.length > (4 * 8 + 8 + 8 * 3 + 3) * 4);
 * ```
 *
 * @example A layer the exporter does not know is refused by path
 * ```ts
 * import { createBackend, exportOnnx, ReLU, Sequential } from "../../mod.ts";
 * import { rejects } from "node:assert/strict";
 *
 * class Square extends ReLU {}
 * const model = new Sequential([new ReLU(), new Square()]);
 * model.build(await createBackend("reference"), [4], { seed: 1 });
 * await rejects(exportOnnx(model), /^TypeError: Cannot export to ONNX: layer 1 \(ReLU\) has no ONNX form/);
 * ```
 */
export async function exportOnnx(
  model: Sequential,
  options: ExportOnnxOptions = {},
): Promise<Uint8Array> {
  if (!(model instanceof Sequential)) {
    throw new TypeError(
      `Cannot ${WHAT}: model must be a Sequential, got ${describe(model)}`,
    );
  }
  const sample = model.sampleShape;
  if (sample === undefined) {
    throw new TypeError(
      `Cannot ${WHAT}: model must be built, got a model that is not (never built, or disposed)`,
    );
  }
  const inputName = checkName("inputName", options?.inputName ?? "input");
  const outputName = checkName("outputName", options?.outputName ?? "logits");
  if (inputName === outputName) {
    throw new RangeError(
      `Cannot ${WHAT}: options.outputName must differ from options.inputName, got ${
        showValue(outputName)
      } for both`,
    );
  }
  const parts: GraphParts = { nodes: [], tensors: new Map() };
  const last = layerNodes(model.layers, inputName, "", parts);
  checkUnused(parts, inputName, "inputName");
  checkUnused(parts, outputName, "outputName");
  nameOutput(parts, last, outputName);

  const initializers = [];
  for (const [name, tensor] of parts.tensors) {
    initializers.push({
      name,
      dims: tensor.shape,
      data: await tensor.backend.read(tensor),
    });
  }
  const [, ...outputSample] = model.outputShape([1, ...sample]);
  const graph: OnnxGraph = {
    name: "jumpout",
    nodes: parts.nodes,
    initializers,
    inputs: [{ name: inputName, shape: ["batch", ...sample] }],
    outputs: [{ name: outputName, shape: ["batch", ...outputSample] }],
  };
  return encodeOnnxModel(graph, "jumpout");
}

/** Throws unless a name option is a non-empty string. */
function checkName(option: string, name: unknown): string {
  if (typeof name !== "string" || name === "") {
    const Class = typeof name === "string" ? RangeError : TypeError;
    throw new Class(
      `Cannot ${WHAT}: options.${option} must be a non-empty string, got ${
        showValue(name)
      }`,
    );
  }
  return name;
}

/** Throws when `name` already names a value of the graph. */
function checkUnused(parts: GraphParts, name: string, option: string): void {
  const used = parts.tensors.has(name) ||
    parts.nodes.some((n) => n.outputs.includes(name));
  if (used) {
    throw new RangeError(
      `Cannot ${WHAT}: options.${option} must differ from the names of the model's values and weights, got ${
        showValue(name)
      }`,
    );
  }
}

/**
 * Gives the value `last` the output's name: renames what the node writing
 * it writes, or, when no node computes anything, copies the input.
 */
function nameOutput(parts: GraphParts, last: string, outputName: string): void {
  const writer = parts.nodes.find((n) => n.outputs[0] === last);
  if (writer !== undefined) {
    writer.outputs = [outputName];
    return;
  }
  parts.nodes.push({
    opType: "Identity",
    name: "output",
    inputs: [last],
    outputs: [outputName],
  });
}
