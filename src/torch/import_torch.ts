/**
 * A PyTorch `state_dict` back into a model of the library.
 *
 * @module
 */

import type { Sequential } from "../layers/sequential.ts";
import { decodeSafetensors, type SafetensorsFile } from "../io/safetensors.ts";
import { showShape } from "../_checks.ts";
import { torchLayout, torchShape } from "./_torch_layout.ts";
import { transpose } from "./_transpose.ts";

const WHAT = "import a PyTorch state dict";

/**
 * Reads a PyTorch `state_dict` saved as safetensors (by
 * {@linkcode exportTorch}, by `jumpout_torch`, or by PyTorch's own
 * safetensors package) into a built model of the same network: `nn.Linear`
 * weights `[out, in]` become Dense's `[in, out]`. Every tensor is checked
 * first: a missing, unexpected or mis-shaped tensor, or one of another
 * dtype, is refused naming it, and then nothing is changed. BatchNorm's
 * `num_batches_tracked` may be absent (as PyTorch itself allows); when
 * present it must be an int64 scalar, and it is not kept.
 *
 * @param bytes The safetensors file.
 * @param model A built model, as {@linkcode exportTorch} would describe it.
 * @throws {TypeError} When the model is not built or holds a layer of
 *   another kind.
 * @throws {RangeError | SyntaxError} When the file is malformed or does not
 *   fit the model; the message lists every problem.
 *
 * @example Export, then import into a fresh model of the same network
 * ```ts
 * import { createBackend, Dense, exportTorch, importTorch, Sequential } from "../../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const make = (seed: number) => {
 *   const model = new Sequential([new Dense(3, 2)]);
 *   model.build(backend, [3], { seed });
 *   return model;
 * };
 * const [a, b] = [make(1), make(2)];
 * importTorch((await exportTorch(a)).weights, b);
 * const weight = (m: Sequential) => backend.read(m.state().get("0.weight")!);
 * deepEqual(await weight(b), await weight(a));
 * ```
 */
export function importTorch(bytes: Uint8Array, model: Sequential): void {
  const { entries } = torchLayout(model, WHAT);
  let file: SafetensorsFile;
  try {
    file = decodeSafetensors(bytes);
  } catch (error) {
    const Class = error instanceof TypeError ? TypeError : RangeError;
    throw new Class(
      `Cannot ${WHAT}: bytes must be a safetensors file: ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  const { tensors } = file;
  const problems: string[] = [];
  for (const e of entries) {
    const found = tensors.get(e.name);
    const name = JSON.stringify(e.name);
    if (found === undefined) {
      if (e.tensor !== undefined) problems.push(`missing ${name}`);
    } else if (found.dtype !== e.dtype) {
      problems.push(`${name} has dtype ${found.dtype}, expected ${e.dtype}`);
    } else if (showShape(found.shape) !== showShape(e.shape)) {
      problems.push(
        `${name} has shape ${showShape(found.shape)}, expected ${
          torchShape(e)
        }`,
      );
    }
  }
  const known = new Set(entries.map((e) => e.name));
  for (const name of tensors.keys()) {
    if (!known.has(name)) problems.push(`unexpected ${JSON.stringify(name)}`);
  }
  if (problems.length > 0) {
    throw new RangeError(
      `Cannot ${WHAT}: the file must hold exactly the model's tensors, got ${
        problems.join("; ")
      }`,
    );
  }
  for (const { name, tensor, transpose: flip, shape } of entries) {
    if (tensor === undefined) continue;
    const data = tensors.get(name)!.data as Float32Array;
    tensor.backend.upload(
      tensor,
      flip ? transpose(data, shape[0], shape[1]) : data,
    );
  }
}
