/**
 * The options of {@linkcode DataParallel.create}: the model, the optimiser,
 * and how the workers run and exchange gradients.
 *
 * @module
 */

import type { BackendChoice } from "../backends/create_backend.ts";
import type { AugmentOptions } from "../data/augment_options.ts";
import type { LayerSpec } from "../io/model_spec.ts";
import type { Sequential } from "../layers/sequential.ts";
import type { OptimizerSpec } from "../optim/optimizer_spec.ts";
import type { Schedule } from "../optim/schedules.ts";
import type { QPlusScope } from "./replica.ts";

/** How the replicas exchange gradients. */
export type Transport = "shared" | "transfer";

/** Options of {@linkcode DataParallel.create}. */
export interface DataParallelOptions {
  /**
   * The model: a `Sequential` of this library's layers (only its layers'
   * descriptions are used; it need not be built), or the descriptions.
   */
  model: Sequential | readonly LayerSpec[];
  /** One sample's shape, without the batch dimension, e.g. `[784]`. */
  inputShape: readonly number[];
  /** The optimiser every replica runs. */
  optimizer: OptimizerSpec;
  /** The learning rate by step, replacing the optimiser's `lr`. */
  schedule?: Schedule;
  /** The backend each replica runs on. Default `auto`. */
  backend?: BackendChoice;
  /**
   * Workers, each with one replica. Default: the number of cores on the
   * `wasm` and `reference` backends, 1 on `webgpu` (replicas sharing one GPU
   * only contend for it), and 0 where there are no workers (neither `Worker`
   * nor Node's `worker_threads`). In Node the workers are `worker_threads`.
   * With 0 the one replica runs on the calling thread (edge runtimes).
   */
  workers?: number;
  /** Seed of the weights and masks; drawn at random when absent. */
  seed?: number;
  /**
   * Whose active units set Jumpout's q+: each worker's shard (`shard`, the
   * default) or the whole batch (`global`: the workers add up their counts
   * before drawing masks, as one thread would on the whole batch).
   */
  qPlusScope?: QPlusScope;
  /**
   * How gradients travel: `shared` (SharedArrayBuffer and Atomics; needs a
   * cross-origin-isolated page in browsers), `transfer` (transferable
   * buffers through the main thread), or `auto`, the default: `shared`
   * where available. Both give the same numbers.
   */
  transport?: Transport | "auto";
  /**
   * The longest any call waits for a worker (ms), after which it rejects
   * naming the worker. Default 60000.
   */
  timeoutMs?: number;
  /**
   * The worker script: by default the library's `workers/trainer_worker.ts`,
   * or, in the bundles, `jumpout.worker.js` next to `jumpout.js`.
   */
  workerUrl?: string | URL;
  /**
   * Augment the training batches: a random crop of each image padded with
   * zeros and a random horizontal flip (see {@linkcode AugmentOptions};
   * `true` for padding 4 and flip on). Needs `inputShape`
   * `[channels, height, width]`. Each replica augments its own shard, in
   * training steps only (never in `evaluate` or `predict`), and each
   * image's draw depends only on (seed, step, its row in the batch), so the
   * number of workers does not change it. Default off.
   */
  augment?: boolean | AugmentOptions;
  /** A checkpoint to resume from (see {@linkcode DataParallel.checkpoint}). */
  checkpoint?: Uint8Array;
  /**
   * More string pairs every checkpoint carries in its metadata, such as how
   * inputs were preprocessed (names starting `jumpout.` or `dataParallel.`
   * are reserved).
   */
  metadata?: Record<string, string>;
}
