/**
 * Data-parallel training: one model replica per worker, each batch split
 * between them, gradients averaged after every backward.
 *
 * @module
 */

import { proxy, transfer } from "comlink";
import type { BackendName } from "../backend.ts";
import { readCheckpointHeader } from "../io/checkpoint.ts";
import type { LossResult } from "../layers/loss.ts";
import { randomSeed } from "../random.ts";
import { allReduceMean } from "./all_reduce.ts";
import { CountRendezvous } from "./count_rendezvous.ts";
import {
  type CheckedOptions,
  checkOptions,
  compiledKernels,
  resolveBackend,
  workerCount,
} from "./_resolve_options.ts";
import type {
  DataParallelOptions,
  Transport,
} from "./data_parallel_options.ts";
import { describe } from "../_checks.ts";
import { SEED_KEY, SETUP_KEY } from "./_checkpoint_keys.ts";
import type {
  LayerJumpoutStats,
  QPlusScope,
  ReplicaConfig,
  ShardBatch,
  ShardResult,
} from "./replica.ts";
import {
  localReplica,
  ReplicaGroup,
  type ReplicaGroup as Group,
  type ReplicaHandle,
  workerReplica,
} from "./replica_group.ts";
import { allocateShared, SharedControl } from "./shared_sync.ts";
import { shardRows } from "./shards.ts";
import { writeFileAtomic } from "../io/write_file_atomic.ts";
import { workerStarter } from "./_worker_endpoints.ts";

export type { LayerJumpoutStats, QPlusScope } from "./replica.ts";

/** The least time workers get to start (ms). */
const START_TIMEOUT_MS = 120_000;

/**
 * Trains one model on several workers at once: each holds a replica with
 * the same initial weights, each batch is split into contiguous shards, one
 * per worker, and after every backward the gradients are averaged (weighted
 * by shard size, summed in worker order) and every replica takes the same
 * optimiser step. So the replicas stay bit-identical, and one worker trains
 * bit-identically to a single-threaded loop with the same seed.
 *
 * Faults: a worker that throws, dies or stops answering makes the pending
 * call reject within `timeoutMs` with a {@linkcode DataParallelError} that
 * names it; every worker is then stopped (none is left waiting on shared
 * memory). Dispose the trainer and create a new one from the last
 * checkpoint to go on.
 *
 * @example Train on the calling thread (no workers), then check a checkpoint
 * ```ts
 * import { DataParallel } from "./data_parallel.ts";
 * import { ok } from "node:assert/strict";
 *
 * const trainer = await DataParallel.create({
 *   model: [{ type: "dense", inFeatures: 2, outFeatures: 8 }, { type: "relu" }, { type: "jumpout" },
 *     { type: "dense", inFeatures: 8, outFeatures: 2 }],
 *   inputShape: [2], optimizer: { type: "sgd", lr: 0.5 }, backend: "reference", workers: 0, seed: 1,
 * });
 * const x = new Float32Array([1, 0, 0, 1, 1, 0, 0, 1]);
 * const labels = [0, 1, 0, 1];
 * const first = await trainer.trainStep(x, labels);
 * for (let i = 0; i < 20; i++) await trainer.trainStep(x, labels);
 * ok((await trainer.evaluate(x, labels)).loss < first.loss);
 * ok(trainer.stepCount === 21 && (await trainer.checkpoint()).length > 0);
 * await trainer.dispose();
 * ```
 */
export class DataParallel {
  /** Workers running replicas; 0 when the one replica runs on the calling thread. */
  readonly workers: number;
  /** How gradients travel (`none` with a single replica). */
  readonly transport: Transport | "none";
  /** The backend the replicas run on. */
  readonly backend: BackendName;
  /** Whose active units set Jumpout's q+. */
  readonly qPlusScope: QPlusScope;
  /** The seed of weights and masks. */
  readonly seed: number;
  readonly #group: Group;
  readonly #options: CheckedOptions;
  readonly #vectorLength: number;
  #step: number;
  #disposed = false;

  private constructor(
    group: Group,
    options: CheckedOptions,
    init: {
      workers: number;
      transport: Transport | "none";
      backend: BackendName;
      seed: number;
      step: number;
      vectorLength: number;
    },
  ) {
    this.#group = group;
    this.#options = options;
    this.workers = init.workers;
    this.transport = init.transport;
    this.backend = init.backend;
    this.qPlusScope = options.qPlusScope;
    this.seed = init.seed;
    this.#step = init.step;
    this.#vectorLength = init.vectorLength;
  }

  /**
   * Starts the workers and builds a replica in each, from the same seed (or
   * from `checkpoint`).
   *
   * @param options The model, optimiser, workers and the rest.
   * @returns The trainer, ready to step.
   * @throws {TypeError | RangeError} When an option is bad (the model's
   *   shapes included), or `checkpoint` does not fit the model.
   * @throws {DataParallelError} When a worker fails while starting.
   */
  static async create(options: DataParallelOptions): Promise<DataParallel> {
    const what = "create DataParallel";
    const o = checkOptions(what, options);
    const backend = await resolveBackend(o.backend);
    const workers = await workerCount(what, o.workers, backend);
    const n = Math.max(1, workers);
    const seed = o.checkpoint === undefined
      ? o.seed ?? randomSeed()
      : checkpointSeed(what, o.checkpoint, o.setup, o.seed);
    const wasmModule = backend === "wasm" && workers > 0
      ? await compiledKernels()
      : undefined;
    const start = workers === 0 ? undefined : await workerStarter();
    const group: Group = new ReplicaGroup([], o.timeoutMs);
    const replicas: ReplicaHandle[] = start === undefined
      ? [localReplica()]
      : Array.from(
        { length: n },
        (_, k) =>
          workerReplica(
            start,
            o.workerUrl,
            k,
            (message) => group.crashed(k, message),
          ),
      );
    group.replicas.push(...replicas);
    const transport = n === 1 ? "none" : o.transport;
    const rendezvous = new CountRendezvous(n);
    const config = (index: number): ReplicaConfig => ({
      index,
      replicas: n,
      backend,
      wasmModule,
      layers: o.layers,
      inputShape: o.inputShape,
      seed,
      optimizer: o.optimizer,
      qPlusScope: o.qPlusScope,
      timeoutMs: o.timeoutMs,
      augment: o.augment,
    });
    try {
      // Starting a worker loads (and may compile) its modules: it gets longer.
      await group.all(
        what,
        (r, k) =>
          r.call.init(
            config(k),
            transport === "transfer"
              ? proxy(rendezvous.exchangeFor(k))
              : undefined,
          ),
        Math.max(o.timeoutMs, START_TIMEOUT_MS),
      );
      const [layout] = await group.all(what, (r) => r.call.layout());
      if (transport === "shared") {
        const buffers = allocateShared(
          n,
          layout.vectorLength,
          layout.countSlots,
        );
        await group.all(what, (r) => r.call.attach(buffers));
        group.shared = new SharedControl(buffers);
      }
      let step = 0;
      if (o.checkpoint !== undefined) {
        const bytes = o.checkpoint;
        [step] = await group.all(what, (r) => r.call.importState(bytes));
      }
      return new DataParallel(group, o, {
        workers,
        transport,
        backend,
        seed,
        step,
        vectorLength: layout.vectorLength,
      });
    } catch (error) {
      group.stop();
      throw error;
    }
  }

  /** Training steps done (restored from a checkpoint when resuming). */
  get stepCount(): number {
    return this.#step;
  }

  /** One sample's shape, without the batch dimension, as created. */
  get inputShape(): readonly number[] {
    return this.#options.inputShape;
  }

  /** The classes the model's outputs score: labels lie in `[0, classes)`. */
  get classes(): number {
    return this.#options.classes;
  }

  /**
   * One training step on a batch: each worker runs forward and backward on
   * its shard, the gradients are averaged, every replica updates.
   *
   * @param x The batch's inputs, row after row: `rows × sample size` values.
   * @param labels The batch's labels, one per row, integers in `[0, classes)`.
   * @returns The batch's mean loss and accuracy, before the update.
   * @throws {TypeError | RangeError} When the batch is malformed (nothing
   *   runs then), or has fewer rows than there are replicas.
   * @throws {DataParallelError} When a worker fails; the trainer is unusable after.
   */
  async trainStep(
    x: Float32Array,
    labels: ArrayLike<number>,
  ): Promise<LossResult> {
    const step = this.#step;
    const what = `run DataParallel step ${step}`;
    this.#checkLive(what);
    const ys = this.#checkBatch(what, x, labels);
    const rows = ys.length;
    const n = this.#group.replicas.length;
    if (rows < n) {
      throw new RangeError(
        `Cannot ${what}: the batch must have at least one row per replica (${n}), got ${rows} rows`,
      );
    }
    const lr = this.#options.lr(step);
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new RangeError(
        `Cannot ${what}: schedule(${step}) must return a finite number >= 0, got ${lr}`,
      );
    }
    const shards = shardRows(rows, n);
    const weights = shards.map((s) => s.rows / rows);
    const size = this.#options.sampleSize;
    const shardOf = (k: number): ShardBatch => {
      const { offset, rows: count } = shards[k];
      const batch = {
        step,
        x: x.slice(offset * size, (offset + count) * size),
        labels: ys.slice(offset, offset + count),
        rowOffset: offset,
        batchRows: rows,
        weights,
        lr,
      };
      return transfer(batch, [batch.x.buffer, batch.labels.buffer]);
    };
    let results: ShardResult[];
    if (this.transport === "transfer") {
      const parts = await this.#group.all(
        what,
        (r, k) => r.call.computeGradients(shardOf(k)),
      );
      const mean = new Float32Array(this.#vectorLength);
      allReduceMean(parts.map((p) => p.vector), weights, mean, 0, mean.length);
      await this.#group.all(what, (r) => r.call.applyGradients(mean, lr));
      results = parts;
    } else {
      results = await this.#group.all(what, (r, k) => r.call.step(shardOf(k)));
    }
    this.#step++;
    return combine(results);
  }

  /**
   * Loss and accuracy of a batch in evaluation mode, split over the workers.
   *
   * @param x The inputs, row after row.
   * @param labels One label per row.
   * @returns The mean loss and the accuracy (NaN and 0 for no rows).
   * @throws {TypeError | RangeError} When the batch is malformed.
   * @throws {DataParallelError} When a worker fails.
   */
  async evaluate(
    x: Float32Array,
    labels: ArrayLike<number>,
  ): Promise<LossResult> {
    const what = "evaluate with DataParallel";
    this.#checkLive(what);
    const ys = this.#checkBatch(what, x, labels);
    if (ys.length === 0) return { loss: NaN, accuracy: 0 };
    const n = Math.min(this.#group.replicas.length, ys.length);
    const shards = shardRows(ys.length, n);
    const size = this.#options.sampleSize;
    const results = await this.#group.all(what, (r, k) => {
      if (k >= n) return Promise.resolve({ loss: 0, correct: 0, rows: 0 });
      const { offset, rows } = shards[k];
      return r.call.evaluate(
        x.slice(offset * size, (offset + rows) * size),
        ys.slice(offset, offset + rows),
      );
    });
    return combine(results);
  }

  /**
   * Class probabilities of a batch in evaluation mode (the softmax of the
   * model's outputs), split over the workers.
   *
   * @param x The inputs, row after row.
   * @returns rows × classes probabilities, row after row.
   * @throws {TypeError | RangeError} When `x` is not a whole number of rows.
   * @throws {DataParallelError} When a worker fails.
   *
   * @example Each row's probabilities sum to one
   * ```ts
   * import { DataParallel } from "./data_parallel.ts";
   * import { ok } from "node:assert/strict";
   *
   * const trainer = await DataParallel.create({
   *   model: [{ type: "dense", inFeatures: 2, outFeatures: 3 }],
   *   inputShape: [2],
   *   optimizer: { type: "sgd", lr: 0.1 },
   *   backend: "reference",
   *   workers: 0,
   * });
   * const p = await trainer.predict(new Float32Array([1, 2, -1, 0.5]));
   * ok(p.length === 6 && Math.abs(p[0] + p[1] + p[2] - 1) < 1e-6);
   * await trainer.dispose();
   * ```
   */
  async predict(x: Float32Array): Promise<Float32Array> {
    const what = "predict with DataParallel";
    this.#checkLive(what);
    const size = this.#options.sampleSize;
    if (!(x instanceof Float32Array)) {
      throw new TypeError(
        `Cannot ${what}: x must be a Float32Array, got ${describe(x)}`,
      );
    }
    if (x.length % size !== 0) {
      throw new RangeError(
        `Cannot ${what}: x must hold a whole number of rows of ${size} values, got ${x.length}`,
      );
    }
    const rows = x.length / size;
    const classes = this.#options.classes;
    const out = new Float32Array(rows * classes);
    if (rows === 0) return out;
    const n = Math.min(this.#group.replicas.length, rows);
    const shards = shardRows(rows, n);
    const parts = await this.#group.all(what, (r, k) => {
      if (k >= n) return Promise.resolve(new Float32Array(0));
      const { offset, rows } = shards[k];
      return r.call.predict(x.slice(offset * size, (offset + rows) * size));
    });
    parts.forEach((part, k) => {
      if (k < n) out.set(part, shards[k].offset * classes);
    });
    return out;
  }

  /**
   * What each Jumpout and Dropout layer drew in the last training step, as
   * worker 0 saw it: p, q+, p' and the scale. With `qPlusScope: "global"`
   * q+ is the whole batch's; with `"shard"`, worker 0's shard's.
   *
   * @returns One entry per such layer, in model order (none before the
   *   first step).
   * @throws {DataParallelError} When a worker fails.
   */
  async jumpoutStats(): Promise<LayerJumpoutStats[]> {
    const what = "read DataParallel's Jumpout statistics";
    this.#checkLive(what);
    const [stats] = await this.#group.all(
      what,
      (r, k) => k === 0 ? r.call.jumpoutStats() : Promise.resolve([]),
    );
    return stats;
  }

  /**
   * A checkpoint of the run: weights, running statistics, optimiser state,
   * the step and every mask stream's counter. Pass it as
   * `options.checkpoint` to go on exactly from here, or to
   * {@linkcode DataParallel.restore}.
   *
   * @param metadata More string pairs for this checkpoint only, besides
   *   the trainer's (names starting `jumpout.` or `dataParallel.` are
   *   reserved).
   * @returns The checkpoint's bytes (a safetensors file).
   * @throws {RangeError} When a metadata name is reserved.
   * @throws {DataParallelError} When a worker fails.
   */
  async checkpoint(
    metadata: Record<string, string> = {},
  ): Promise<Uint8Array> {
    const what = "write a DataParallel checkpoint";
    this.#checkLive(what);
    const reserved = Object.keys(metadata).find((k) =>
      k.startsWith("jumpout.") || k.startsWith("dataParallel.")
    );
    if (reserved !== undefined) {
      throw new RangeError(
        `Cannot ${what}: metadata names starting "jumpout." or "dataParallel." are reserved, got "${reserved}"`,
      );
    }
    const step = this.#step;
    const all = { ...metadata, ...this.#metadata() };
    const [bytes] = await this.#group.all(
      what,
      (r, k) =>
        k === 0
          ? r.call.exportState(step, all)
          : Promise.resolve(new Uint8Array()),
    );
    return bytes;
  }

  /**
   * Puts every replica back to a checkpoint of this trainer's setup and
   * seed: weights, running statistics, optimiser state, the step and the
   * mask streams, as {@linkcode DataParallel.checkpoint} wrote them.
   *
   * @param bytes The checkpoint.
   * @returns The training step it was written at, now the trainer's.
   * @throws {RangeError | TypeError | SyntaxError} When the file is not a
   *   checkpoint of this model, optimiser, augmentation and seed; nothing
   *   changes then.
   * @throws {DataParallelError} When a worker fails.
   *
   * @example Go back one step
   * ```ts
   * import { DataParallel } from "./data_parallel.ts";
   * import { equal } from "node:assert/strict";
   *
   * const trainer = await DataParallel.create({
   *   model: [{ type: "dense", inFeatures: 2, outFeatures: 2 }],
   *   inputShape: [2], optimizer: { type: "sgd", lr: 0.5 }, backend: "reference", workers: 0, seed: 1,
   * });
   * const x = new Float32Array([1, 0, 0, 1]);
   * const saved = await trainer.checkpoint();
   * const before = await trainer.evaluate(x, [0, 1]);
   * await trainer.trainStep(x, [0, 1]);
   * equal(await trainer.restore(saved), 0);
   * equal((await trainer.evaluate(x, [0, 1])).loss, before.loss);
   * await trainer.dispose();
   * ```
   */
  async restore(bytes: Uint8Array): Promise<number> {
    const what = "restore a DataParallel checkpoint";
    this.#checkLive(what);
    checkpointSeed(what, bytes, this.#options.setup, this.seed);
    const [step] = await this.#group.all(
      what,
      (r) => r.call.importState(bytes),
    );
    this.#step = step;
    return step;
  }

  /**
   * Writes {@linkcode DataParallel.checkpoint} to a file atomically (a new
   * file, flushed, renamed over the old one), so an interrupted run always
   * leaves the last complete checkpoint. Needs a file system: Deno's or Node's.
   *
   * @param path Where the checkpoint goes.
   * @throws {DataParallelError} When a worker fails.
   * @throws {Error} When the file cannot be written.
   */
  async saveCheckpoint(path: string): Promise<void> {
    await writeFileAtomic(path, await this.checkpoint());
  }

  /**
   * Every replica's checkpoint, to verify that they are in step: while
   * training goes as it should they are equal byte for byte.
   *
   * @returns One checkpoint per replica, in worker order.
   * @throws {DataParallelError} When a worker fails.
   */
  async replicaCheckpoints(): Promise<Uint8Array[]> {
    const what = "read the DataParallel replicas";
    this.#checkLive(what);
    const step = this.#step;
    const metadata = this.#metadata();
    return await this.#group.all(
      what,
      (r) => r.call.exportState(step, metadata),
    );
  }

  /**
   * Frees every replica and stops the workers. Safe to call again, and after
   * a failure.
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#group.failure === undefined) {
      await this.#group.all("dispose DataParallel", (r) => r.call.dispose())
        .catch(() => {});
    }
    this.#group.stop();
  }

  #checkLive(what: string): void {
    if (this.#disposed) {
      throw new TypeError(
        `Cannot ${what}: the trainer must be live, got one that was disposed`,
      );
    }
  }

  #metadata(): Record<string, string> {
    return {
      ...this.#options.metadata,
      [SETUP_KEY]: this.#options.setup,
      [SEED_KEY]: String(this.seed),
    };
  }

  /** Checks a batch's inputs and labels; returns the labels as uint32. */
  #checkBatch(
    what: string,
    x: Float32Array,
    labels: ArrayLike<number>,
  ): Uint32Array {
    if (!(x instanceof Float32Array)) {
      throw new TypeError(
        `Cannot ${what}: x must be a Float32Array, got ${describe(x)}`,
      );
    }
    if (
      labels === null || typeof labels !== "object" ||
      !Number.isSafeInteger(labels.length)
    ) {
      throw new TypeError(
        `Cannot ${what}: labels must be an array of integers, got ${
          describe(labels)
        }`,
      );
    }
    const rows = labels.length;
    const size = this.#options.sampleSize;
    if (x.length !== rows * size) {
      throw new RangeError(
        `Cannot ${what}: x must hold labels.length × ${size} = ${
          rows * size
        } values, got ${x.length}`,
      );
    }
    const classes = this.#options.classes;
    const ys = new Uint32Array(rows);
    for (let i = 0; i < rows; i++) {
      const y = labels[i];
      if (!(Number.isInteger(y) && y >= 0 && y < classes)) {
        throw new RangeError(
          `Cannot ${what}: labels[${i}] must be an integer in [0, ${classes}), got ${y}`,
        );
      }
      ys[i] = y;
    }
    return ys;
  }
}

/**
 * The seed to resume with: the checkpoint's, which `seed` (when given) must
 * equal, as the masks of the rest of the run depend on it; the checkpoint
 * must also be of the same model, optimiser and augmentation.
 */
function checkpointSeed(
  what: string,
  bytes: Uint8Array,
  setup: string,
  seed: number | undefined,
): number {
  const { metadata } = readCheckpointHeader(bytes);
  if (metadata[SETUP_KEY] !== setup) {
    throw new RangeError(
      `Cannot ${what}: checkpoint must be of this model, input shape, optimiser and augmentation (${setup}), got one of ${
        metadata[SETUP_KEY] ?? "another trainer"
      }`,
    );
  }
  const saved = Number(metadata[SEED_KEY]);
  if (seed !== undefined && seed !== saved) {
    throw new RangeError(
      `Cannot ${what}: seed must be the checkpoint's (${saved}) or left out, got ${seed}`,
    );
  }
  return saved;
}

/** The whole batch's loss and accuracy from the shards'. */
function combine(results: readonly ShardResult[]): LossResult {
  let rows = 0;
  let correct = 0;
  let loss = 0;
  for (const r of results) {
    rows += r.rows;
    correct += r.correct;
  }
  for (const r of results) if (r.rows > 0) loss += (r.loss * r.rows) / rows;
  return { loss, accuracy: rows === 0 ? 0 : correct / rows };
}
