/**
 * How a built model looks to PyTorch: the Python expression of the same
 * network and, for every tensor of its `state_dict`, the name, shape and
 * dtype there and the library tensor it comes from. The one table that both
 * export and import read.
 *
 * @module
 */

import type { Tensor } from "../backend.ts";
import type { Layer } from "../layers/layer.ts";
import type { Sequential } from "../layers/sequential.ts";
import type { Residual } from "../layers/residual.ts";
import { type LayerSpec, specOfLayer } from "../io/model_spec.ts";
import type { Jumpout } from "../layers/jumpout.ts";
import { showShape } from "../_checks.ts";

/** One tensor of the PyTorch module's `state_dict`. */
export interface TorchEntry {
  /** Its name there, e.g. `3.body.0.weight`. */
  name: string;
  /** `F32`, or `I64` for BatchNorm's `num_batches_tracked`. */
  dtype: "F32" | "I64";
  /** Its shape there. */
  shape: number[];
  /** The library's tensor, absent for `num_batches_tracked` (not kept here). */
  tensor?: Tensor<"float32">;
  /** Whether the library stores it transposed: a Dense weight, `[in, out]` here. */
  transpose: boolean;
}

/** A built model as PyTorch sees it. */
export interface TorchLayout {
  /** Python: an `nn.Sequential(...)` expression of the same network. */
  module: string;
  /** Every tensor of its `state_dict`, in the model's order. */
  entries: TorchEntry[];
}

/**
 * Describes a built model for PyTorch.
 *
 * @param model A built model of the library's own layers.
 * @param what What the caller is doing, for messages.
 * @returns The module's expression and its state's tensors.
 * @throws {TypeError} When the model is not built, or holds a layer that is
 *   not one of the library's.
 *
 * @example A dense layer's weight is transposed
 * ```ts
 * import { createBackend, Dense, Sequential } from "../../mod.ts";
 * import { torchLayout } from "./_torch_layout.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const model = new Sequential([new Dense(3, 2)]);
 * model.build(await createBackend("reference"), [3], { seed: 1 });
 * const { module, entries } = torchLayout(model, "export");
 * deepEqual(module, "nn.Sequential(\n    nn.Linear(3, 2, bias=True),\n)");
 * deepEqual(entries.map((e) => [e.name, e.shape, e.transpose]), [
 *   ["0.weight", [2, 3], true],
 *   ["0.bias", [2], false],
 * ]);
 * ```
 */
export function torchLayout(model: Sequential, what: string): TorchLayout {
  const sample = model.sampleShape;
  if (sample === undefined) {
    throw new TypeError(
      `Cannot ${what}: model must be built, got a model that is not built`,
    );
  }
  const entries: TorchEntry[] = [];
  const module = sequential(model.layers, [1, ...sample], "", 0, entries, what);
  return { module, entries };
}

/** An `nn.Sequential` of `layers`, their tensors appended to `entries`. */
function sequential(
  layers: readonly Layer[],
  batchShape: readonly number[],
  prefix: string,
  depth: number,
  entries: TorchEntry[],
  what: string,
): string {
  if (layers.length === 0) return "nn.Sequential()";
  const pad = "    ".repeat(depth + 1);
  let shape = batchShape;
  const lines = layers.map((layer, i) => {
    const path = `${prefix}${i}`;
    const line = moduleOf(layer, shape, path, depth + 1, entries, what);
    shape = layer.outputShape(shape);
    return `${pad}${line},`;
  });
  return `nn.Sequential(\n${lines.join("\n")}\n${"    ".repeat(depth)})`;
}

/** One layer's module expression; its tensors appended to `entries`. */
function moduleOf(
  layer: Layer,
  batchShape: readonly number[],
  path: string,
  depth: number,
  entries: TorchEntry[],
  what: string,
): string {
  let spec: LayerSpec;
  try {
    spec = specOfLayer(layer);
  } catch (error) {
    throw new TypeError(
      `Cannot ${what}: layer ${path} must be one of the library's layers, got ${layer.name}`,
      { cause: error },
    );
  }
  const state = new Map(
    [...layer.state()].map((
      [name, t],
    ) => [name.slice(name.lastIndexOf(".") + 1), t]),
  );
  const add = (suffix: string, transpose = false) => {
    const tensor = state.get(suffix)!;
    const [a, b] = tensor.shape;
    entries.push({
      name: `${path}.${suffix}`,
      dtype: "F32",
      shape: transpose ? [b, a] : [...tensor.shape],
      tensor,
      transpose,
    });
  };
  const py = pythonValue;
  switch (spec.type) {
    case "dense":
      add("weight", true);
      if (spec.options?.bias) add("bias");
      return `nn.Linear(${spec.inFeatures}, ${spec.outFeatures}, bias=${
        py(spec.options?.bias ?? true)
      })`;
    case "conv2d": {
      const o = spec.options!;
      add("weight");
      if (o.bias) add("bias");
      return `nn.Conv2d(${spec.inChannels}, ${spec.outChannels}, ${spec.kernelSize}, stride=${o.stride}, padding=${o.padding}, bias=${
        py(o.bias ?? true)
      })`;
    }
    case "batch_norm": {
      for (const suffix of ["weight", "bias", "running_mean", "running_var"]) {
        add(suffix);
      }
      entries.push({
        name: `${path}.num_batches_tracked`,
        dtype: "I64",
        shape: [],
        transpose: false,
      });
      const rank = batchShape.length === 4 ? "2d" : "1d";
      const o = spec.options!;
      return `nn.BatchNorm${rank}(${spec.channels}, eps=${
        py(o.epsilon!)
      }, momentum=${py(o.momentum!)})`;
    }
    case "relu":
      return "nn.ReLU()";
    case "max_pool2d":
    case "avg_pool2d": {
      const o = spec.options!;
      const kind = spec.type === "max_pool2d" ? "MaxPool2d" : "AvgPool2d";
      return `nn.${kind}(${spec.kernelSize}, stride=${o.stride}, padding=${o.padding})`;
    }
    case "global_avg_pool":
      return "GlobalAvgPool()";
    case "flatten":
      return "nn.Flatten()";
    case "jumpout": {
      const o = (layer as Jumpout).options;
      const rate = o.rate === undefined ? "" : `, rate=${py(o.rate)}`;
      return `Jumpout(sigma=${py(o.sigma)}, p_min=${py(o.pMin)}, p_max=${
        py(o.pMax)
      }, rescale_power=${py(o.rescalePower)}, scope=${
        py(o.scope)
      }, seed=${o.seed}, monotone=${py(o.monotone)}, normalize=${
        py(o.normalize)
      }${rate})`;
    }
    case "dropout": {
      const o = (layer as Jumpout).options;
      return `Dropout(${py(o.rate!)}, seed=${o.seed}, scope=${py(o.scope)})`;
    }
    case "residual": {
      const { body, shortcut } = layer as Residual;
      const branch = (name: string, model: Sequential) =>
        sequential(
          model.layers,
          batchShape,
          `${path}.${name}.`,
          depth,
          entries,
          what,
        );
      const branches = [branch("body", body)];
      if (shortcut !== undefined) branches.push(branch("shortcut", shortcut));
      return `Residual(${branches.join(", ")})`;
    }
  }
}

/**
 * A number, boolean or string as a Python literal: JavaScript's shortest
 * decimal of a number reads back as the same double in Python.
 */
function pythonValue(value: number | boolean | string): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/**
 * The shape a tensor has in the PyTorch module, as a message shows it,
 * with nn.Linear's layout named for a transposed one.
 *
 * @param entry The tensor's entry.
 * @returns E.g. `[512, 784] (nn.Linear's [out, in])`.
 *
 * @example A dense weight's shape in PyTorch
 * ```ts
 * import { torchShape } from "./_torch_layout.ts";
 * import { equal } from "node:assert/strict";
 *
 * const entry = { name: "0.weight", dtype: "F32" as const, shape: [2, 3], transpose: true };
 * equal(torchShape(entry), "[2, 3] (nn.Linear's [out, in])");
 * ```
 */
export function torchShape(entry: TorchEntry): string {
  const note = entry.transpose ? " (nn.Linear's [out, in])" : "";
  return `${showShape(entry.shape)}${note}`;
}
