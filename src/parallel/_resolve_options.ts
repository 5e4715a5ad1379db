/**
 * The checks and defaults of {@linkcode DataParallel.create}'s options
 * (declared in `data_parallel_options.ts`), and the backend and worker count
 * they resolve to.
 *
 * @module
 */

import type { BackendName } from "../backend.ts";
import { autoChoice, type BackendChoice } from "../backends/create_backend.ts";
import { checkSeed, describe, showShape, showValue } from "../_checks.ts";
import { checkAugmentOptions } from "../data/_check_augment.ts";
import type { AugmentOptions } from "../data/augment_options.ts";
import { TRAINER_WORKER_URL } from "../_package_files.ts";
import {
  type LayerSpec,
  modelFromSpec,
  specOfLayer,
} from "../io/model_spec.ts";
import {
  optimizerFromSpec,
  type OptimizerSpec,
} from "../optim/optimizer_spec.ts";
import { Sequential } from "../layers/sequential.ts";
import type {
  DataParallelOptions,
  Transport,
} from "./data_parallel_options.ts";
import type { QPlusScope } from "./replica.ts";
import { canStartWorkers } from "./_worker_endpoints.ts";
import { hardwareConcurrency } from "../_runtime.ts";

/** The longest a call waits for the workers by default (ms). */
const DEFAULT_TIMEOUT_MS = 60_000;

/** The options, checked, with every default filled in. */
export interface CheckedOptions {
  layers: LayerSpec[];
  inputShape: number[];
  sampleSize: number;
  /** The model's output classes. */
  classes: number;
  optimizer: OptimizerSpec;
  /** The learning rate of each step. */
  lr: (step: number) => number;
  backend: BackendChoice;
  /** Workers asked for; the default depends on the backend (see {@linkcode workerCount}). */
  workers: number | undefined;
  seed: number | undefined;
  qPlusScope: QPlusScope;
  transport: Transport;
  timeoutMs: number;
  workerUrl: string | URL;
  /** How training batches are augmented; none when absent. */
  augment: Required<AugmentOptions> | undefined;
  checkpoint: Uint8Array | undefined;
  /** More pairs for every checkpoint's metadata. */
  metadata: Record<string, string>;
  /** What a checkpoint must have been written by: model, input shape, optimiser, augmentation. */
  setup: string;
}

/**
 * Checks every option, naming the bad one, and fills in the defaults.
 *
 * @param what What is being done, for messages.
 * @param options What the caller passed.
 * @returns The checked options.
 */
export function checkOptions(
  what: string,
  options: DataParallelOptions,
): CheckedOptions {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${what}: options must be an object, got ${String(options)}`,
    );
  }
  const o = options;
  const layers = o.model instanceof Sequential
    ? o.model.layers.map(specOfLayer)
    : Array.isArray(o.model)
    ? structuredClone(o.model) as LayerSpec[]
    : fail(
      TypeError,
      `model must be a Sequential or an array of layer specs, got ${
        describe(o.model)
      }`,
    );
  const inputShape = checkInputShape(what, o.inputShape);
  // The model is made here once, so bad specs and shapes fail before any
  // worker starts.
  const model = modelFromSpec(layers);
  let shape = [1, ...inputShape];
  model.layers.forEach((layer, i) => {
    try {
      shape = layer.outputShape(shape);
    } catch (error) {
      throw new RangeError(
        `Cannot ${what}: layer ${i} (${layer.name}) does not take inputs [N, ${
          shape.slice(1).join(", ")
        }]: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
  if (shape.length !== 2) {
    fail(
      RangeError,
      `model must output [N, classes], got [N, ${shape.slice(1).join(", ")}]`,
    );
  }
  const optimizer = structuredClone(o.optimizer);
  const fixed = optimizerFromSpec(optimizer, [], o.schedule);
  const schedule = o.schedule;
  const lr = schedule === undefined
    ? (() => {
      const value = fixed.lr;
      return () => value;
    })()
    : (step: number) => schedule(step);
  const workers = o.workers;
  if (
    workers !== undefined && (!Number.isSafeInteger(workers) || workers < 0)
  ) {
    fail(RangeError, `workers must be an integer >= 0, got ${workers}`);
  }
  const seed = o.seed === undefined ? undefined : checkSeed(what, o.seed);
  const qPlusScope = o.qPlusScope ?? "shard";
  if (qPlusScope !== "shard" && qPlusScope !== "global") {
    fail(
      TypeError,
      `qPlusScope must be "shard" or "global", got ${String(qPlusScope)}`,
    );
  }
  const transport = checkTransport(what, o.transport ?? "auto");
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (
    !(typeof timeoutMs === "number" && timeoutMs > 0 && timeoutMs < 2 ** 31)
  ) {
    fail(
      RangeError,
      `timeoutMs must be a number in (0, 2^31), got ${timeoutMs}`,
    );
  }
  const augment = checkAugment(what, o.augment, inputShape);
  if (o.checkpoint !== undefined && !(o.checkpoint instanceof Uint8Array)) {
    fail(
      TypeError,
      `checkpoint must be a Uint8Array, got ${describe(o.checkpoint)}`,
    );
  }
  const metadata = checkMetadata(o.metadata);
  return {
    layers,
    inputShape,
    sampleSize: inputShape.reduce((a, b) => a * b, 1),
    classes: shape[1],
    optimizer,
    lr,
    backend: o.backend ?? "auto",
    workers,
    seed,
    qPlusScope,
    transport,
    timeoutMs,
    workerUrl: o.workerUrl ?? TRAINER_WORKER_URL,
    augment,
    checkpoint: o.checkpoint,
    metadata,
    // Augmentation only when on, so checkpoints written before it existed resume.
    setup: JSON.stringify({
      layers,
      inputShape,
      optimizer: optimizer.type,
      ...(augment && { augment }),
    }),
  };

  function checkMetadata(
    value: Record<string, string> | undefined,
  ): Record<string, string> {
    if (value === undefined) return {};
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      fail(
        TypeError,
        `metadata must be an object of strings, got ${describe(value)}`,
      );
    }
    for (const [key, text] of Object.entries(value)) {
      if (typeof text !== "string") {
        fail(
          TypeError,
          `metadata["${key}"] must be a string, got ${
            JSON.stringify(text) ?? typeof text
          }`,
        );
      }
      if (key.startsWith("jumpout.") || key.startsWith("dataParallel.")) {
        fail(
          RangeError,
          `metadata names starting "jumpout." or "dataParallel." are reserved, got "${key}"`,
        );
      }
    }
    return { ...value };
  }

  function fail(Err: typeof RangeError, detail: string): never {
    throw new Err(`Cannot ${what}: ${detail}`);
  }
}

/**
 * How many workers to start: as asked, or by default one per core on the
 * CPU backends and one on `webgpu` (replicas on one GPU only contend for
 * it), and none in a runtime without workers (`Worker`, or Node's
 * `worker_threads`).
 *
 * @param what What is being done, for messages.
 * @param requested The `workers` option.
 * @param backend The backend the replicas run on.
 * @returns The number of workers; 0 runs the replica on this thread.
 * @throws {TypeError} When workers are asked for in a runtime without them.
 */
export async function workerCount(
  what: string,
  requested: number | undefined,
  backend: BackendName,
): Promise<number> {
  const hasWorker = canStartWorkers();
  if (requested === undefined) {
    if (!hasWorker) return 0;
    return backend === "webgpu" ? 1 : await hardwareConcurrency();
  }
  if (requested > 0 && !hasWorker) {
    throw new TypeError(
      `Cannot ${what}: workers must be 0 in a runtime without Worker (the replica then runs on this thread), got ${requested}`,
    );
  }
  return requested;
}

/**
 * The backend a choice stands for here.
 *
 * @param choice A backend or `auto`.
 * @returns The backend's name.
 */
export async function resolveBackend(
  choice: BackendChoice,
): Promise<BackendName> {
  if (choice === "auto") return await autoChoice();
  if (choice === "reference" || choice === "wasm" || choice === "webgpu") {
    return choice;
  }
  throw new TypeError(
    `Cannot create DataParallel: backend must be "reference", "wasm", "webgpu" or "auto", got ${
      String(choice)
    }`,
  );
}

/**
 * The compiled wasm kernels, once per process, to post to every worker.
 *
 * @returns The module.
 */
export async function compiledKernels(): Promise<WebAssembly.Module> {
  const { compileKernels } = await import("../backends/wasm.ts");
  return await compileKernels();
}

/** Checks a sample shape: positive integers. */
function checkInputShape(what: string, shape: unknown): number[] {
  if (
    !Array.isArray(shape) || shape.length === 0 ||
    !shape.every((d) => Number.isSafeInteger(d) && d > 0)
  ) {
    throw new RangeError(
      `Cannot ${what}: inputShape must be a non-empty array of integers > 0 (one sample, no batch), got ${
        Array.isArray(shape) ? showShape(shape) : describe(shape)
      }`,
    );
  }
  return [...shape];
}

/** The `augment` option: off, or checked with its defaults filled in. */
function checkAugment(
  what: string,
  value: unknown,
  inputShape: number[],
): Required<AugmentOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (
    value !== true &&
    (value === null || typeof value !== "object" || Array.isArray(value))
  ) {
    throw new TypeError(
      `Cannot ${what}: augment must be true, false or an object of augmentation options, got ${
        showValue(value)
      }`,
    );
  }
  if (inputShape.length !== 3) {
    throw new RangeError(
      `Cannot ${what}: inputShape must be [channels, height, width] to augment images, got ${
        showShape(inputShape)
      }`,
    );
  }
  const options = value === true ? {} : value as Record<string, unknown>;
  return checkAugmentOptions(what, "augment.", options, {
    height: inputShape[1],
    width: inputShape[2],
  });
}

/** The transport to use: `auto` becomes `shared` where it works. */
function checkTransport(what: string, transport: unknown): Transport {
  const shared = typeof SharedArrayBuffer === "function" &&
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !==
      false;
  if (transport === "auto") return shared ? "shared" : "transfer";
  if (transport === "transfer") return "transfer";
  if (transport === "shared") {
    if (!shared) {
      throw new TypeError(
        `Cannot ${what}: transport "shared" needs SharedArrayBuffer (a cross-origin-isolated page in browsers), got a runtime without it; use "transfer" or "auto"`,
      );
    }
    return "shared";
  }
  throw new TypeError(
    `Cannot ${what}: transport must be "auto", "shared" or "transfer", got ${
      String(transport)
    }`,
  );
}
