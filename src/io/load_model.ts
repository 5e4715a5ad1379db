/**
 * A trained model from a data-parallel checkpoint, ready for inference.
 *
 * @module
 */

import type { Backend } from "../backend.ts";
import { type CheckpointHeader, readCheckpointHeader } from "./checkpoint.ts";
import { OPTIMIZER_PREFIX } from "./_checkpoint_header.ts";
import { describe } from "../_checks.ts";
import { SEED_KEY, SETUP_KEY } from "../parallel/_checkpoint_keys.ts";
import {
  type BackendChoice,
  createBackend,
} from "../backends/create_backend.ts";
import { type LayerSpec, modelFromSpec } from "./model_spec.ts";
import { loadWeights } from "./safetensors.ts";
import type { Sequential } from "../layers/sequential.ts";

/** Options of {@linkcode loadModel}. */
export interface LoadModelOptions {
  /**
   * Where the model runs: a backend the caller owns, or which one to make.
   * Default `wasm`.
   */
  backend?: Backend | BackendChoice;
}

/** What {@linkcode loadModel} returns. */
export interface LoadedModel {
  /** The model, built, with the checkpoint's weights, in evaluation mode. */
  model: Sequential;
  /** The backend it runs on, to make its inputs with. */
  backend: Backend;
  /** One sample's shape, without the batch dimension, e.g. `[784]`. */
  inputShape: number[];
  /** The model's output classes. */
  classes: number;
  /** The checkpoint's header: training step, metadata. */
  header: CheckpointHeader;
  /**
   * Frees the model, and the backend when {@linkcode loadModel} made it (a
   * backend passed in stays the caller's).
   */
  dispose(): void;
}

const WHAT = "load a model";

/**
 * Rebuilds a trained model from a checkpoint of `DataParallel` (its
 * `checkpoint()` or `saveCheckpoint()`, so also the file `deno task train`
 * writes): the layers and input shape come from the checkpoint's
 * `dataParallel.setup` metadata, the weights and running statistics from its
 * tensors; the optimiser's tensors are skipped. It is built with the run's
 * seed (`dataParallel.seed`), so its Jumpout and Dropout layers have the
 * seeds they trained with (which `exportTorch` passes on). The model is left
 * in evaluation mode, where those layers pass their input through.
 *
 * Everything in the file is checked before the weights are uploaded; on any
 * error whatever was made is freed and nothing is returned.
 *
 * @param bytes The checkpoint file.
 * @param options `{ backend }`: a backend, or `reference`, `wasm` (default),
 *   `webgpu` or `auto`.
 * @returns The model, its backend, input shape, classes and the header.
 * @throws {TypeError | RangeError | SyntaxError} When `bytes` is not such a
 *   checkpoint or does not match the model its setup describes, or
 *   `options.backend` is not a backend; the message names what is wrong.
 *
 * @example Train a few steps, then serve predictions from the checkpoint
 * ```ts
 * import { DataParallel } from "../../mod.ts";
 * import { loadModel } from "./load_model.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const trainer = await DataParallel.create({
 *   model: [{ type: "dense", inFeatures: 2, outFeatures: 8 }, { type: "relu" }, { type: "jumpout" },
 *     { type: "dense", inFeatures: 8, outFeatures: 2 }],
 *   inputShape: [2], optimizer: { type: "sgd", lr: 0.5 }, backend: "reference", workers: 0, seed: 1,
 * });
 * const x = new Float32Array([1, 0, 0, 1]);
 * for (let i = 0; i < 30; i++) await trainer.trainStep(x, [0, 1]);
 * const bytes = await trainer.checkpoint();
 * await trainer.dispose();
 *
 * const { model, backend, inputShape, classes, header, dispose } = await loadModel(bytes);
 * deepEqual([inputShape, classes, header.step], [[2], 2, 30]);
 * const logits = await backend.read(model.forward(backend.tensor(x, [2, 2])));
 * equal(logits[0] > logits[1] && logits[3] > logits[2], true);
 * dispose();
 * ```
 *
 * @example A file that is not a checkpoint
 * ```ts
 * import { encodeSafetensors } from "../../mod.ts";
 * import { loadModel } from "./load_model.ts";
 * import { rejects } from "node:assert/strict";
 *
 * await rejects(loadModel(new Uint8Array(3)), /^RangeError: Cannot load a model: bytes must be/);
 * await rejects(loadModel(encodeSafetensors(new Map())), /not a checkpoint/);
 * ```
 */
export async function loadModel(
  bytes: Uint8Array,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot ${WHAT}: bytes must be a Uint8Array, got ${describe(bytes)}`,
    );
  }
  const choice = options?.backend ?? "wasm";
  checkBackendOption(choice);
  let header: CheckpointHeader;
  try {
    header = readCheckpointHeader(bytes);
  } catch (error) {
    throw restated(error, "bytes must be a checkpoint of this library");
  }
  const { layers, inputShape } = readSetup(header.metadata[SETUP_KEY]);
  const seed = readSeed(header.metadata[SEED_KEY]);
  let model: Sequential;
  try {
    model = modelFromSpec(layers);
  } catch (error) {
    throw restated(error, `${SETUP_KEY}.layers must make a model`);
  }
  const owned = typeof choice === "string";
  const backend = owned ? await createBackend(choice) : choice;
  try {
    let out: number[];
    try {
      out = model.build(backend, inputShape, { seed });
    } catch (error) {
      throw restated(
        error,
        `${SETUP_KEY}.inputShape must fit the layers, got [${inputShape}]`,
      );
    }
    if (out.length !== 1) {
      throw new RangeError(
        `Cannot ${WHAT}: ${SETUP_KEY}.layers must output [N, classes], got [N, ${
          out.join(", ")
        }]`,
      );
    }
    try {
      loadWeights(model.state(), bytes, {
        ignore: (name) => name.startsWith(OPTIMIZER_PREFIX),
      });
    } catch (error) {
      throw restated(
        error,
        `bytes must hold the float32 tensors of the model ${SETUP_KEY} describes`,
      );
    }
    model.eval();
    return {
      model,
      backend,
      inputShape,
      classes: out[0],
      header,
      dispose: () => {
        model.dispose();
        if (owned) backend.dispose();
      },
    };
  } catch (error) {
    model.dispose();
    if (owned) backend.dispose();
    throw error;
  }
}

/** Throws unless `choice` is a backend or a backend's name. */
/** The run's seed from the metadata; 0 for a checkpoint without one. */
function readSeed(text: string | undefined): number {
  if (text === undefined) return 0;
  const seed = Number(text);
  if (!/^(0|[1-9][0-9]*)$/.test(text) || seed >= 2 ** 32) {
    throw new RangeError(
      `Cannot ${WHAT}: ${SEED_KEY} must be an integer in [0, 2^32), got ${
        brief(text)
      }`,
    );
  }
  return seed;
}

function checkBackendOption(choice: unknown): void {
  if (
    choice === "reference" || choice === "wasm" || choice === "webgpu" ||
    choice === "auto"
  ) return;
  const run = (choice as { run?: unknown } | null)?.run;
  if (typeof choice === "object" && typeof run === "function") return;
  throw new TypeError(
    `Cannot ${WHAT}: options.backend must be a Backend or "reference", "wasm", "webgpu" or "auto", got ${
      typeof choice === "string" ? JSON.stringify(choice) : describe(choice)
    }`,
  );
}

/** The layers and input shape a trainer's setup metadata names. */
function readSetup(
  text: string | undefined,
): { layers: LayerSpec[]; inputShape: number[] } {
  if (text === undefined) {
    throw new RangeError(
      `Cannot ${WHAT}: bytes must be a checkpoint written by DataParallel, with ${SETUP_KEY} metadata, got a checkpoint without it`,
    );
  }
  let setup: unknown;
  try {
    setup = JSON.parse(text);
  } catch {
    setup = undefined;
  }
  const record = setup as { layers?: unknown; inputShape?: unknown };
  if (
    setup === null || typeof setup !== "object" || Array.isArray(setup) ||
    !Array.isArray(record.layers)
  ) {
    throw new RangeError(
      `Cannot ${WHAT}: ${SETUP_KEY} must be JSON { layers, inputShape, optimizer } with an array of layer specs, got ${
        brief(text)
      }`,
    );
  }
  const shape = record.inputShape;
  if (
    !Array.isArray(shape) || shape.length === 0 ||
    !shape.every((d) => Number.isSafeInteger(d) && d > 0)
  ) {
    throw new RangeError(
      `Cannot ${WHAT}: ${SETUP_KEY}.inputShape must be a non-empty array of integers > 0, got ${
        brief(JSON.stringify(shape) ?? "nothing")
      }`,
    );
  }
  return { layers: record.layers as LayerSpec[], inputShape: shape };
}

/**
 * Another part's error, restated as this function's: the same class, `lead`
 * then the original's detail, the original as the cause.
 */
function restated(error: unknown, lead: string): unknown {
  if (!(error instanceof Error)) return error;
  const Class = error instanceof RangeError
    ? RangeError
    : error instanceof TypeError
    ? TypeError
    : error instanceof SyntaxError
    ? SyntaxError
    : Error;
  const detail = error.message.replace(/^Cannot [^:]*: /, "");
  return new Class(`Cannot ${WHAT}: ${lead}: ${detail}`, { cause: error });
}

/** Text for a message, cut where it would drown the message. */
function brief(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.length > 200 ? `${quoted.slice(0, 200)}…` : quoted;
}
