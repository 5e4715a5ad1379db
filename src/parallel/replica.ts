/**
 * One data-parallel replica: a model, its optimiser and its share of each
 * batch. It runs inside a worker, or on the calling thread where there are
 * no workers; either way the same code.
 *
 * @module
 */

import type { Backend, BackendName, Tensor } from "../backend.ts";
import { encodeCheckpoint, restoreCheckpoint } from "../io/checkpoint.ts";
import { createBackend } from "../backends/create_backend.ts";
import { augmentImages } from "../data/augment.ts";
import type { AugmentOptions } from "../data/augment_options.ts";
import { Jumpout, type JumpoutStats } from "../layers/jumpout.ts";
import type { Layer } from "../layers/layer.ts";
import {
  labelsTensor,
  type LossOutput,
  lossResult,
  SoftmaxCrossEntropy,
} from "../layers/loss.ts";
import { type LayerSpec, modelFromSpec } from "../io/model_spec.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import {
  optimizerFromSpec,
  type OptimizerSpec,
} from "../optim/optimizer_spec.ts";
import type { Sequential } from "../layers/sequential.ts";
import { type ShardOptions, walkLayers } from "../layers/layer.ts";
import { release } from "../_release.ts";
import { allReduceMean, reduceRange } from "./all_reduce.ts";
import { type SharedBuffers, SharedSync } from "./shared_sync.ts";

/**
 * Whose active units set a Jumpout layer's q+: each replica's own shard
 * (`shard`), or the whole batch, agreed between the replicas (`global`).
 */
export type QPlusScope = "shard" | "global";

/** Everything a replica is made from; it travels to a worker by structured clone. */
export interface ReplicaConfig {
  /** This replica's index. */
  index: number;
  /** How many replicas train together. */
  replicas: number;
  /** The backend to run on. */
  backend: BackendName;
  /** The compiled wasm kernels, shared rather than compiled again. */
  wasmModule?: WebAssembly.Module;
  /** The model. */
  layers: LayerSpec[];
  /** One sample's shape (no batch dimension). */
  inputShape: number[];
  /** The model's seed: every replica starts from the same weights. */
  seed: number;
  /** The optimiser; its rate comes with each step. */
  optimizer: OptimizerSpec;
  /** Whose active units set q+. */
  qPlusScope: QPlusScope;
  /** The longest a replica waits for the others (ms). */
  timeoutMs: number;
  /** How each training shard is augmented (`inputShape` is then `[C, H, W]`); none when absent. */
  augment?: Required<AugmentOptions>;
}

/**
 * Sums a count over the replicas by message (when there is no shared
 * memory): every replica calls it with the same step and slot.
 */
export type CountExchange = (
  step: number,
  slot: number,
  count: number,
) => Promise<number>;

/** One replica's share of a training step. */
export interface ShardBatch {
  /** The trainer's step (0 for the first). */
  step: number;
  /** The shard's inputs, `rows × sample size` values. */
  x: Float32Array;
  /** The shard's labels. */
  labels: Uint32Array;
  /** The shard's first row in the batch. */
  rowOffset: number;
  /** Rows in the whole batch. */
  batchRows: number;
  /** Each replica's weight in the mean: its rows / the batch's rows. */
  weights: number[];
  /** This step's learning rate. */
  lr: number;
}

/** What a replica measured on its shard. */
export interface ShardResult {
  /** Mean loss over the shard's rows. */
  loss: number;
  /** Rows whose prediction was right. */
  correct: number;
  /** Rows in the shard. */
  rows: number;
}

/** A shard's result and its gradient vector, for the all-reduce by message. */
export interface ShardGradients extends ShardResult {
  /** The gradients and running statistics, laid out as the replicas agree. */
  vector: Float32Array;
}

/** A Jumpout or Dropout layer's statistics of its last training forward. */
export interface LayerJumpoutStats {
  /** The index in the model of the layer it is, or of the block it is in. */
  layer: number;
  /** Its path in the model: `"3"`, or `"3.body.4"` inside a block. */
  path: string;
  /** Its name, `Jumpout` or `Dropout`. */
  name: string;
  /** One entry per scope unit (one with `scope: "batch"`). */
  stats: JumpoutStats[];
}

/** What {@linkcode Replica.layout} tells the trainer. */
export interface ReplicaLayout {
  /** Values in the all-reduce vector: every gradient and running statistic. */
  vectorLength: number;
  /** Counts exchanged per step: one per Jumpout layer whose q+ the replicas agree on. */
  countSlots: number;
}

/** A tensor of the all-reduce vector and where it sits. */
interface VectorPart {
  tensor: Tensor<"float32">;
  offset: number;
}

/**
 * A model replica.
 *
 * @example One replica trains on its own (reference backend)
 * ```ts
 * import { Replica } from "./replica.ts";
 * import { ok } from "node:assert/strict";
 *
 * const replica = await Replica.create({
 *   index: 0, replicas: 1, backend: "reference", seed: 1, inputShape: [2],
 *   layers: [{ type: "dense", inFeatures: 2, outFeatures: 2 }],
 *   optimizer: { type: "sgd", lr: 0.5 }, qPlusScope: "shard", timeoutMs: 1000,
 * });
 * const batch = {
 *   x: new Float32Array([1, 0, 0, 1]), labels: new Uint32Array([0, 1]),
 *   rowOffset: 0, batchRows: 2, weights: [1], lr: 0.5,
 * };
 * const first = await replica.step({ ...batch, step: 0 });
 * const second = await replica.step({ ...batch, step: 1 });
 * ok(second.loss < first.loss);
 * replica.dispose();
 * ```
 */
export class Replica {
  readonly #config: ReplicaConfig;
  readonly #backend: Backend;
  readonly #model: Sequential;
  readonly #optimizer: Optimizer;
  readonly #loss = new SoftmaxCrossEntropy();
  readonly #classes: number;
  readonly #sampleSize: number;
  readonly #parts: VectorPart[];
  readonly #length: number;
  /** The count slot of each Jumpout layer whose q+ the replicas agree on. */
  readonly #countSlots: Map<Layer, number>;
  #sync: SharedSync | undefined;
  readonly #exchange: CountExchange | undefined;
  #lr = 0;
  /** The augmented shard, reused from step to step. */
  #augmented = new Float32Array(0);

  private constructor(
    config: ReplicaConfig,
    backend: Backend,
    exchange: CountExchange | undefined,
  ) {
    this.#config = config;
    this.#backend = backend;
    this.#exchange = exchange;
    this.#model = modelFromSpec(config.layers);
    const out = this.#model.build(backend, config.inputShape, {
      seed: config.seed,
    });
    if (out.length !== 1) {
      throw new RangeError(
        `Cannot create a replica: the model must output [N, classes], got [N, ${
          out.join(", ")
        }]`,
      );
    }
    this.#classes = out[0];
    this.#sampleSize = config.inputShape.reduce((a, b) => a * b, 1);
    const parameters = this.#model.parameters();
    this.#optimizer = optimizerFromSpec(
      config.optimizer,
      parameters,
      () => this.#lr,
    );
    // The vector: every gradient, then every statistic the model keeps
    // besides its parameters (BatchNorm's running mean and variance), so
    // the replicas' statistics stay the same too.
    const values = new Set(parameters.map((p) => p.value));
    const tensors = [
      ...parameters.map((p) => p.grad),
      ...[...this.#model.state().values()].filter((t) => !values.has(t)),
    ];
    let offset = 0;
    this.#parts = tensors.map((tensor) => {
      const part = { tensor, offset };
      offset += tensor.size;
      return part;
    });
    this.#length = offset;
    this.#countSlots = new Map();
    if (config.qPlusScope === "global") {
      for (const [, layer] of walkLayers(this.#model.layers)) {
        if (agreesOnQPlus(layer)) {
          this.#countSlots.set(layer, this.#countSlots.size);
        }
      }
    }
  }

  /**
   * Makes a replica: its backend (the given wasm module, not compiled
   * again), the model built with the shared seed, the optimiser.
   *
   * @param config What to build.
   * @param exchange How counts are summed when there is no shared memory.
   * @returns The replica.
   */
  static async create(
    config: ReplicaConfig,
    exchange?: CountExchange,
  ): Promise<Replica> {
    const backend = config.backend === "wasm" && config.wasmModule
      ? await (await import("../backends/wasm.ts")).createWasmBackend(
        config.wasmModule,
      )
      : await createBackend(config.backend);
    try {
      return new Replica(config, backend, exchange);
    } catch (error) {
      backend.dispose();
      throw error;
    }
  }

  /**
   * What the trainer needs to know to set up the all-reduce.
   *
   * @returns The vector's length and the count slots per step.
   */
  layout(): ReplicaLayout {
    return {
      vectorLength: this.#length,
      countSlots: this.#countSlots.size,
    };
  }

  /**
   * Attaches the shared buffers the replicas meet in; from then on,
   * {@linkcode Replica.step} exchanges through them.
   *
   * @param shared Buffers sized for {@linkcode Replica.layout}.
   */
  attach(shared: SharedBuffers): void {
    if (
      shared.length !== this.#length ||
      shared.replicas !== this.#config.replicas ||
      shared.countSlots < this.#countSlots.size
    ) {
      throw new RangeError(
        `Cannot attach shared buffers: they must fit ${this.#config.replicas} replicas, vectors of ${this.#length} and ${this.#countSlots.size} count slots, got ${shared.replicas}, ${shared.length} and ${shared.countSlots}`,
      );
    }
    this.#sync = new SharedSync(
      shared,
      this.#config.index,
      this.#config.timeoutMs,
    );
  }

  /**
   * A whole training step on shared memory: forward and backward on the
   * shard, the all-reduce with the other replicas, the optimiser's update.
   *
   * @param batch The shard and the step's numbers.
   * @returns The shard's loss and accuracy, before the update.
   */
  async step(batch: ShardBatch): Promise<ShardResult> {
    const result = await this.#forwardBackward(batch);
    const { index, replicas } = this.#config;
    if (replicas > 1) {
      const sync = this.#sync;
      if (sync === undefined) {
        throw new Error(
          "Cannot run a replica step: several replicas without shared memory must exchange vectors by message, got step() on a replica without shared buffers",
        );
      }
      await this.#gather(sync.slots[index]);
      sync.barrier(`step ${batch.step}'s gradient exchange`);
      const [start, end] = reduceRange(this.#length, index, replicas);
      allReduceMean(sync.slots, batch.weights, sync.result, start, end);
      sync.barrier(`the end of step ${batch.step}'s reduction`);
      this.#scatter(sync.result);
    }
    this.#update(batch.lr);
    return result;
  }

  /**
   * The first half of a step by message: forward and backward on the shard.
   *
   * @param batch The shard and the step's numbers.
   * @returns The shard's loss and accuracy and its vector.
   */
  async computeGradients(batch: ShardBatch): Promise<ShardGradients> {
    const result = await this.#forwardBackward(batch);
    const vector = new Float32Array(this.#length);
    await this.#gather(vector);
    return { ...result, vector };
  }

  /**
   * The second half of a step by message: takes the reduced vector and
   * updates.
   *
   * @param vector The replicas' weighted mean vector.
   * @param lr This step's learning rate.
   */
  applyGradients(vector: Float32Array, lr: number): void {
    if (vector.length !== this.#length) {
      throw new RangeError(
        `Cannot apply gradients: vector must have ${this.#length} values, got ${vector.length}`,
      );
    }
    this.#scatter(vector);
    this.#update(lr);
  }

  /**
   * Loss and accuracy on a shard in evaluation mode.
   *
   * @param x The shard's inputs.
   * @param labels Its labels.
   * @returns Mean loss, correct rows, rows.
   */
  async evaluate(x: Float32Array, labels: Uint32Array): Promise<ShardResult> {
    const { xs, ys } = this.#upload(x, labels);
    let output: LossOutput;
    try {
      const logits = this.#model.forward(xs, { training: false });
      output = this.#loss.forward(logits, ys);
      release(logits, output.grad);
    } finally {
      release(xs, ys);
    }
    return await this.#result(output, labels.length);
  }

  /**
   * Class probabilities of a shard in evaluation mode: the softmax of each
   * row's logits, computed in float64.
   *
   * @param x The shard's inputs, row after row.
   * @returns rows × classes probabilities.
   */
  async predict(x: Float32Array): Promise<Float32Array> {
    const rows = x.length / this.#sampleSize;
    if (!Number.isInteger(rows)) {
      throw new RangeError(
        `Cannot run a replica: x must have a multiple of ${this.#sampleSize} values, got ${x.length}`,
      );
    }
    const xs = this.#backend.tensor(x, [rows, ...this.#config.inputShape]);
    let logits: Tensor<"float32"> | undefined;
    try {
      logits = this.#model.forward(xs, { training: false });
      return softmaxRows(await this.#backend.read(logits), this.#classes);
    } finally {
      release(xs);
      if (logits !== undefined) release(logits);
    }
  }

  /**
   * What each Jumpout and Dropout layer drew in this replica's last
   * training forward.
   *
   * @returns One entry per such layer, in model order.
   */
  async jumpoutStats(): Promise<LayerJumpoutStats[]> {
    const out: LayerJumpoutStats[] = [];
    for (const [path, l] of walkLayers(this.#model.layers)) {
      if (!(l instanceof Jumpout)) continue;
      const stats = await l.readStats();
      const layer = Number(path.split(".")[0]);
      if (stats !== undefined) out.push({ layer, path, name: l.name, stats });
    }
    return out;
  }

  /**
   * This replica's checkpoint: weights, statistics, optimiser state, step
   * counters.
   *
   * @param step Training steps done.
   * @param metadata More string pairs to keep.
   * @returns The checkpoint's bytes.
   */
  exportState(
    step: number,
    metadata: Record<string, string>,
  ): Promise<Uint8Array> {
    return encodeCheckpoint(this.#model, this.#optimizer, step, metadata);
  }

  /**
   * Restores a checkpoint; nothing changes when it does not fit.
   *
   * @param bytes What {@linkcode Replica.exportState} wrote.
   * @returns The training step it was written at.
   */
  importState(bytes: Uint8Array): number {
    return restoreCheckpoint(this.#model, this.#optimizer, bytes).step;
  }

  /** Frees the model, the optimiser's state and the backend. */
  dispose(): void {
    this.#optimizer.dispose();
    this.#model.dispose();
    this.#loss.dispose();
    this.#backend.dispose();
  }

  async #forwardBackward(batch: ShardBatch): Promise<ShardResult> {
    const { xs, ys } = this.#upload(this.#trainingInputs(batch), batch.labels);
    let output: LossOutput;
    try {
      const logits = await this.#model.forwardAsync(xs, {
        training: true,
        beforeLayer: (_, layer, input) =>
          this.#jumpoutOptions(batch, layer, input),
      });
      output = this.#loss.forward(logits, ys);
      release(this.#model.backward(output.grad), logits, output.grad);
    } finally {
      release(xs, ys);
    }
    return await this.#result(output, batch.labels.length);
  }

  /** What a Jumpout layer needs to know about the shard. */
  async #jumpoutOptions(
    batch: ShardBatch,
    layer: Layer,
    input: Tensor<"float32">,
  ): Promise<ShardOptions | undefined> {
    if (!(layer instanceof Jumpout)) return undefined;
    const shard = { rowOffset: batch.rowOffset, batchRows: batch.batchRows };
    const slot = this.#countSlots.get(layer);
    if (slot === undefined || this.#config.replicas === 1) {
      return { shard, activeCount: undefined };
    }
    const count = await layer.countActive(input);
    const activeCount = this.#sync
      ? this.#sync.exchangeCount(slot, count)
      : await this.#exchange!(batch.step, slot, count);
    return { shard, activeCount };
  }

  /**
   * The shard's inputs as trained on: augmented when asked, each row's draw
   * keyed by the seed, the step and its row in the whole batch.
   */
  #trainingInputs(batch: ShardBatch): Float32Array {
    const augment = this.#config.augment;
    if (augment === undefined) return batch.x;
    const n = batch.x.length;
    if (this.#augmented.length < n) this.#augmented = new Float32Array(n);
    const [channels, height, width] = this.#config.inputShape;
    return augmentImages(batch.x, this.#augmented.subarray(0, n), {
      ...augment,
      channels,
      height,
      width,
      seed: this.#config.seed,
      step: batch.step,
      rowOffset: batch.rowOffset,
    });
  }

  #upload(
    x: Float32Array,
    labels: Uint32Array,
  ): { xs: Tensor<"float32">; ys: Tensor<"uint32"> } {
    const rows = labels.length;
    if (x.length !== rows * this.#sampleSize) {
      throw new RangeError(
        `Cannot run a replica: x must have ${rows} × ${this.#sampleSize} values, got ${x.length}`,
      );
    }
    const xs = this.#backend.tensor(x, [rows, ...this.#config.inputShape]);
    try {
      return { xs, ys: labelsTensor(this.#backend, labels, this.#classes) };
    } catch (error) {
      release(xs);
      throw error;
    }
  }

  async #result(output: LossOutput, rows: number): Promise<ShardResult> {
    const { loss, accuracy } = await lossResult(output);
    return { loss, correct: Math.round(accuracy * rows), rows };
  }

  /** Copies every part of the vector into `out`. */
  async #gather(out: Float32Array): Promise<void> {
    const backend = this.#backend;
    const into = ({ tensor, offset }: VectorPart) =>
      out.subarray(offset, offset + tensor.size);
    if (backend.readSync) {
      for (const part of this.#parts) backend.readSync(part.tensor, into(part));
      return;
    }
    // Every read in flight at once: one round trip to the device, not one each.
    const values = await Promise.all(
      this.#parts.map((part) => backend.read(part.tensor)),
    );
    this.#parts.forEach((part, i) => into(part).set(values[i]));
  }

  /** Writes `vector` back into the tensors. */
  #scatter(vector: Float32Array): void {
    for (const { tensor, offset } of this.#parts) {
      this.#backend.upload(
        tensor,
        vector.subarray(offset, offset + tensor.size),
      );
    }
  }

  #update(lr: number): void {
    this.#lr = lr;
    this.#optimizer.step();
  }
}

/** Whether a layer's q+ can be agreed on over the whole batch. */
/**
 * The softmax of each row of `classes` logits, in float64.
 *
 * @param logits Rows of `classes` values, row after row.
 * @param classes Values per row.
 * @returns The probabilities, in the same layout.
 */
export function softmaxRows(
  logits: Float32Array,
  classes: number,
): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length; r += classes) {
    let max = -Infinity;
    for (let j = r; j < r + classes; j++) max = Math.max(max, logits[j]);
    let sum = 0;
    for (let j = r; j < r + classes; j++) sum += Math.exp(logits[j] - max);
    for (let j = r; j < r + classes; j++) {
      out[j] = Math.exp(logits[j] - max) / sum;
    }
  }
  return out;
}

function agreesOnQPlus(layer: Layer): boolean {
  return layer instanceof Jumpout && layer.options.scope === "batch" &&
    layer.options.normalize;
}
