/**
 * A trained model for PyTorch: its weights in PyTorch's own `state_dict`
 * names and layouts, and the Python source of the same network.
 *
 * @module
 */

import type { Sequential } from "../layers/sequential.ts";
import {
  encodeSafetensors,
  type SafetensorsTensor,
} from "../io/safetensors.ts";
import { torchLayout } from "./_torch_layout.ts";
import { transpose } from "./_transpose.ts";

/** What {@linkcode exportTorch} makes. */
export interface TorchExport {
  /**
   * A safetensors file of the module's `state_dict`: `nn.Linear` weights
   * `[out, in]`, `nn.Conv2d` weights `[out, in, k, k]`, BatchNorm's
   * `weight`, `bias`, `running_mean`, `running_var` and an int64
   * `num_batches_tracked` (0: the library does not count batches, and
   * PyTorch reads it only with `momentum=None`).
   */
  weights: Uint8Array;
  /**
   * The source of a Python module whose `build_model()` returns the same
   * network as an `nn.Module` (an `nn.Sequential`; residual blocks as nested
   * `Residual` modules), whose `load_state_dict(..., strict=True)` takes
   * `weights`. It imports `torch` and the `jumpout_torch` package (the
   * repository's `python/` folder), whose `Jumpout` and `Dropout` draw this
   * library's masks: each layer keeps its seed, so training there draws the
   * masks it would here. `INPUT_SHAPE` is one sample's shape.
   */
  python: string;
}

/**
 * Exports a built model for PyTorch.
 *
 * @param model A built model of the library's layers.
 * @returns The weights and the Python source (see {@linkcode TorchExport}).
 * @throws {TypeError} When the model is not built or holds a layer of
 *   another kind, naming it.
 *
 * @example Export a small network
 * ```ts
 * import { createBackend, decodeSafetensors, Dense, exportTorch, Jumpout, ReLU, Sequential } from "../../mod.ts";
 * import { deepEqual, ok } from "node:assert/strict";
 *
 * const model = new Sequential([new Dense(4, 3), new ReLU(), new Jumpout(), new Dense(3, 2)]);
 * model.build(await createBackend("reference"), [4], { seed: 1 });
 * const { weights, python } = await exportTorch(model);
 * const { tensors } = decodeSafetensors(weights);
 * deepEqual(tensors.get("0.weight")!.shape, [3, 4]); // nn.Linear's [out, in]
 * ok(python.includes("def build_model():"));
 * ok(python.includes("nn.Linear(4, 3, bias=True)"));
 * ```
 */
export async function exportTorch(model: Sequential): Promise<TorchExport> {
  const { module, entries } = torchLayout(model, "export a model to PyTorch");
  const values = await Promise.all(
    entries.map((e) => e.tensor?.backend.read(e.tensor)),
  );
  const tensors = new Map<string, SafetensorsTensor>();
  entries.forEach((e, i) => {
    const value = values[i];
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      data: value === undefined
        ? new BigInt64Array(1)
        : e.transpose
        ? transpose(value, e.shape[1], e.shape[0])
        : value,
    });
  });
  const weights = encodeSafetensors(tensors, { format: "pt" });
  const shape = JSON.stringify(model.sampleShape);
  return { weights, python: pythonModule(module, shape) };
}

/** The Python module's source around the network's expression. */
function pythonModule(module: string, inputShape: string): string {
  return `"""A network exported by the jumpout library for PyTorch.

build_model() returns it as an nn.Module whose state_dict has the names and
shapes of the exported safetensors file: load it with
jumpout_torch.load_state_dict_file(model, path), or the library's training
checkpoint with jumpout_torch.load_checkpoint(path, model, optimizer).
Needs torch and the jumpout_torch package (the library's python/ folder) on
the import path.
"""

from torch import nn

from jumpout_torch import Dropout, GlobalAvgPool, Jumpout, Residual

# One sample's shape; inputs are [N, *INPUT_SHAPE].
INPUT_SHAPE = ${inputShape}


def build_model():
    return ${module.replaceAll("\n", "\n    ")}
`;
}
