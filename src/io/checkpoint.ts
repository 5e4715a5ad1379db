/**
 * Training checkpoints: everything a run needs to continue exactly where it
 * stopped, in one safetensors file.
 *
 * @module
 */

import { Jumpout } from "../layers/jumpout.ts";
import { walkLayers } from "../layers/layer.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { loadWeights, saveWeights } from "./safetensors.ts";
import type { Sequential } from "../layers/sequential.ts";
import type { Tensor } from "../backend.ts";
import {
  type CheckpointHeader,
  METADATA_FORMAT,
  OPTIMIZER_PREFIX,
  readCheckpointHeader,
} from "./_checkpoint_header.ts";

export { type CheckpointHeader, readCheckpointHeader };

/**
 * Writes a checkpoint: the model's state (parameters and statistics such as
 * BatchNorm's running mean), the optimiser's state tensors (names prefixed
 * `optimizer.`) and, in the metadata, the training step, the optimiser's step
 * count and every Jumpout layer's mask-stream counter, so that a resumed run
 * draws the same rates and masks as an uninterrupted one.
 *
 * @param model The model.
 * @param optimizer Its optimiser.
 * @param step Training steps done.
 * @param metadata More string pairs to keep (names starting `jumpout.` are reserved).
 * @returns The file's bytes.
 *
 * @example Save after a step, restore into a fresh run
 * ```ts
 * import { createBackend, Dense, Jumpout, ReLU, SGD, Sequential } from "../../mod.ts";
 * import { encodeCheckpoint, restoreCheckpoint } from "./checkpoint.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const make = () => {
 *   const model = new Sequential([new Dense(2, 2), new ReLU(), new Jumpout()]);
 *   model.build(backend, [2], { seed: 1 });
 *   return { model, optimizer: new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) };
 * };
 * const a = make();
 * a.model.forward(backend.tensor(new Float32Array([1, 1]), [1, 2]));
 * const bytes = await encodeCheckpoint(a.model, a.optimizer, 1);
 * const b = make();
 * deepEqual(restoreCheckpoint(b.model, b.optimizer, bytes).step, 1);
 * deepEqual((b.model.layers[2] as Jumpout).step, 1);
 * ```
 */
export async function encodeCheckpoint(
  model: Sequential,
  optimizer: Optimizer,
  step: number,
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  const what = "write a checkpoint";
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new RangeError(
      `Cannot ${what}: step must be an integer >= 0, got ${step}`,
    );
  }
  const reserved = Object.keys(metadata).find((k) => k.startsWith("jumpout."));
  if (reserved !== undefined) {
    throw new RangeError(
      `Cannot ${what}: metadata names starting "jumpout." are reserved, got "${reserved}"`,
    );
  }
  return await saveWeights(checkpointState(model, optimizer), {
    ...metadata,
    [METADATA_FORMAT]: "1",
    "jumpout.step": String(step),
    "jumpout.optimizerStep": String(optimizer.stepCount),
    "jumpout.maskSteps": JSON.stringify(maskSteps(model)),
  });
}

/**
 * Restores a checkpoint into a model built like the one that wrote it and
 * an optimiser of the same kind. Everything is checked first: a file that
 * does not fit (another model, another optimiser, a malformed header)
 * changes nothing.
 *
 * @param model The model, built.
 * @param optimizer Its optimiser.
 * @param bytes What {@linkcode encodeCheckpoint} wrote.
 * @returns The header: the training step and the file's metadata.
 * @throws {RangeError | TypeError | SyntaxError} When the file is not a
 *   checkpoint of this model and optimiser; the message says what differs.
 */
export function restoreCheckpoint(
  model: Sequential,
  optimizer: Optimizer,
  bytes: Uint8Array,
): CheckpointHeader {
  const what = "restore a checkpoint";
  const header = readCheckpointHeader(bytes);
  const jumpouts = jumpoutLayers(model);
  const saved = Object.keys(header.maskSteps).sort();
  const have = jumpouts.map(([path]) => path).sort();
  if (saved.join() !== have.join()) {
    throw new RangeError(
      `Cannot ${what}: the model's Jumpout and Dropout layers must be where the file has them, got layers [${have}] and a file with [${saved}]`,
    );
  }
  loadWeights(checkpointState(model, optimizer), bytes);
  optimizer.stepCount = header.optimizerStep;
  for (const [i, layer] of jumpouts) layer.step = header.maskSteps[i];
  return header;
}

/** The tensors a checkpoint holds, by name. */
function checkpointState(
  model: Sequential,
  optimizer: Optimizer,
): Map<string, Tensor<"float32">> {
  const state = model.state();
  for (const [name, t] of optimizer.state()) {
    state.set(OPTIMIZER_PREFIX + name, t);
  }
  return state;
}

/**
 * The model's Jumpout and Dropout layers with their paths (`"3"`, or
 * `"3.body.4"` inside a block).
 */
function jumpoutLayers(model: Sequential): [string, Jumpout][] {
  return walkLayers(model.layers).flatMap(([path, layer]) =>
    layer instanceof Jumpout ? [[path, layer] as [string, Jumpout]] : []
  );
}

/** Each Jumpout layer's mask-stream counter, by layer path. */
function maskSteps(model: Sequential): Record<string, number> {
  return Object.fromEntries(
    jumpoutLayers(model).map(([i, layer]) => [i, layer.step]),
  );
}
