/**
 * The batch normalisation layer.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import type {
  Layer,
  LayerForwardOptions,
  Parameter,
  ParameterCount,
} from "./layer.ts";
import {
  type Built,
  checkBackward,
  checkBuild,
  checkForward,
  checkSaved,
  checkShape,
} from "./_layer_checks.ts";
import { checkInteger, showShape } from "../_checks.ts";
import { makeParameter, releaseParameters } from "./_init.ts";
import { release } from "../_release.ts";
import { reuse } from "./_scratch.ts";
import { InputShapeError } from "./_shape.ts";

/** Options of {@linkcode BatchNorm}. */
export interface BatchNormOptions {
  /** Weight of the batch in the running statistics' update, in [0, 1] (default 0.1). */
  momentum?: number;
  /** Added to the variance before its square root, > 0 (default 1e-5). */
  epsilon?: number;
}

/** What backward needs from the pending training forward. */
interface Pending {
  x: Tensor<"float32">;
  outer: number;
  inner: number;
}

/**
 * Batch normalisation over the channels of `[N, C]` or NCHW `[N, C, H, W]`
 * inputs: `y = (x - mean) / sqrt(var + epsilon) · gamma + beta` per channel.
 *
 * Training uses the batch's mean and biased variance over `N` (and `H·W`),
 * and updates the running statistics as PyTorch does: `running = (1 -
 * momentum) · running + momentum · batch`, with the variance made unbiased,
 * `· m / (m - 1)` for `m` values per channel. Evaluation uses the running
 * statistics. Parameters: gamma (`"weight"`, starts at 1) and beta
 * (`"bias"`, 0); the state also holds `"running_mean"` (0) and
 * `"running_var"` (1).
 *
 * @example Training normalises each channel of the batch
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { BatchNorm } from "./batch_norm.ts";
 * import { ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const bn = new BatchNorm(2);
 * bn.build(backend, [3, 2], 0, "1.");
 * const x = backend.tensor(new Float32Array([1, 10, 2, 20, 3, 30]), [3, 2]);
 * const y = await backend.read(bn.forward(x, { training: true }));
 * const z = Math.sqrt(1.5); // (x - mean) / std of [1, 2, 3] and of [10, 20, 30]
 * ok([-z, -z, 0, 0, z, z].every((v, i) => Math.abs(y[i] - v) < 1e-4));
 * ok([...bn.state().keys()].join() === "1.weight,1.bias,1.running_mean,1.running_var");
 * ```
 */
export class BatchNorm implements Layer {
  /** Channels normalised. */
  readonly channels: number;
  /** Weight of the batch in the running statistics' update. */
  readonly momentum: number;
  /** Added to the variance before its square root. */
  readonly epsilon: number;
  #built: Built | undefined;
  #gamma: Parameter | undefined;
  #beta: Parameter | undefined;
  #runningMean: Tensor<"float32"> | undefined;
  #runningVar: Tensor<"float32"> | undefined;
  /** Batch statistics of the last training forward. */
  #mean: Tensor<"float32"> | undefined;
  #variance: Tensor<"float32"> | undefined;
  #pending: Pending | undefined;
  #prefix = "";

  /**
   * Makes the layer; it allocates nothing until {@linkcode BatchNorm.build}.
   *
   * @param channels Channels of the input (>= 1).
   * @param options `{ momentum = 0.1, epsilon = 1e-5 }`.
   * @throws {RangeError} When an argument is out of range.
   */
  constructor(channels: number, options: BatchNormOptions = {}) {
    const what = "create BatchNorm";
    this.channels = checkInteger(channels, 1, what, "channels");
    const { momentum = 0.1, epsilon = 1e-5 } = options;
    if (!(typeof momentum === "number" && momentum >= 0 && momentum <= 1)) {
      throw new RangeError(
        `Cannot ${what}: momentum must be in [0, 1], got ${String(momentum)}`,
      );
    }
    if (!(Number.isFinite(epsilon) && epsilon > 0)) {
      throw new RangeError(
        `Cannot ${what}: epsilon must be a finite number > 0, got ${
          String(epsilon)
        }`,
      );
    }
    this.momentum = momentum;
    this.epsilon = epsilon;
  }

  /** E.g. `"BatchNorm(64)"`. */
  get name(): string {
    return `BatchNorm(${this.channels})`;
  }

  /**
   * The output shape for inputs of `batchShape`; allocates nothing.
   *
   * @param batchShape `[N, channels]` or `[N, channels, H, W]`.
   * @returns The input shape.
   * @throws {RangeError} When the input shape does not fit.
   */
  outputShape(batchShape: readonly number[]): number[] {
    const shape = checkShape(`build ${this.name}`, batchShape);
    const c = this.channels;
    if ((shape.length !== 2 && shape.length !== 4) || shape[1] !== c) {
      throw new InputShapeError(
        this.name,
        `[N, ${c}] or [N, ${c}, H, W]`,
        shape,
      );
    }
    return shape;
  }

  /**
   * The numbers the layer holds once built; it need not be built.
   *
   * @returns Gamma and beta, trainable, and the running mean and variance,
   *   not: `channels` each.
   */
  parameterCount(): ParameterCount {
    return { trainable: 2 * this.channels, nonTrainable: 2 * this.channels };
  }

  /**
   * Allocates gamma, beta and the running statistics.
   *
   * @param backend Where the layer's tensors live.
   * @param batchShape `[N, channels]` or `[N, channels, H, W]`.
   * @param seed Unused: the initial values are fixed.
   * @param prefix Name prefix of the parameters and statistics.
   * @returns The input shape.
   * @throws {RangeError} When the input shape does not fit.
   */
  build(
    backend: Backend,
    batchShape: readonly number[],
    seed: number,
    prefix: string,
  ): number[] {
    const shape = checkBuild(`build ${this.name}`, batchShape, seed, prefix);
    const out = this.outputShape(shape);
    this.dispose();
    const c = this.channels;
    this.#gamma = makeParameter(
      backend,
      `${prefix}weight`,
      [c],
      new Float32Array(c).fill(1),
    );
    this.#beta = makeParameter(backend, `${prefix}bias`, [c]);
    this.#runningMean = backend.keep(backend.allocate([c]));
    this.#runningVar = backend.keep(
      backend.tensor(new Float32Array(c).fill(1), [c]),
    );
    this.#built = { backend, input: shape };
    this.#prefix = prefix;
    return out;
  }

  /**
   * Normalises `x`: batch statistics in training (which also updates the
   * running ones), running statistics otherwise.
   *
   * @param x `[N, channels]` or `[N, channels, H, W]` as built.
   * @param options `{ training: true }` for batch statistics.
   * @returns `y`, same shape, owned by the caller.
   * @throws {RangeError} In training, when a channel has fewer than 2 values.
   */
  forward(x: Tensor, options: LayerForwardOptions = {}): Tensor<"float32"> {
    const input = checkForward(this.name, this.#built, x);
    const backend = this.#built!.backend;
    const outer = input.shape[0];
    const inner = input.shape.length === 4
      ? input.shape[2] * input.shape[3]
      : 1;
    const sizes = { outer, channels: this.channels, inner };
    const count = outer * inner;
    if (options.training && count < 2) {
      throw new RangeError(
        `Cannot run ${this.name} forward: x must hold at least 2 values per channel in training, got ${
          showShape(input.shape)
        }`,
      );
    }
    let mean = this.#runningMean!;
    let variance = this.#runningVar!;
    if (options.training) {
      mean = this.#mean = reuse(backend, this.#mean, this.channels, "float32");
      variance = this.#variance = reuse(
        backend,
        this.#variance,
        this.channels,
        "float32",
      );
      backend.run("channel_stats", { x: input, mean, variance, ...sizes });
    }
    const y = backend.allocate(input.shape, "float32", "uninitialized");
    backend.run("batchnorm_forward", {
      x: input,
      mean,
      variance,
      gamma: this.#gamma!.value,
      beta: this.#beta!.value,
      y,
      ...sizes,
      epsilon: this.epsilon,
    });
    if (options.training) {
      const m = this.momentum;
      backend.run("axpby", {
        x: mean,
        y: this.#runningMean!,
        n: this.channels,
        alpha: m,
        beta: 1 - m,
      });
      backend.run("axpby", {
        x: variance,
        y: this.#runningVar!,
        n: this.channels,
        alpha: m * count / (count - 1),
        beta: 1 - m,
      });
    }
    this.#pending = options.training ? { x: input, outer, inner } : undefined;
    return y;
  }

  /**
   * Writes `dgamma` and `dbeta` and returns `dx` of the last training
   * forward, through the batch statistics.
   *
   * @param dy Same shape as the forward's input.
   * @returns `dx`, owned by the caller.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const pending = this.#pending;
    const grad = checkBackward(this.name, this.#built, pending?.x.shape, dy);
    checkSaved(this.name, pending!.x);
    const backend = this.#built!.backend;
    const { x, outer, inner } = pending!;
    const dx = backend.allocate(x.shape, "float32", "uninitialized");
    backend.run("batchnorm_backward", {
      x,
      dy: grad,
      mean: this.#mean!,
      variance: this.#variance!,
      gamma: this.#gamma!.value,
      dx,
      dgamma: this.#gamma!.grad,
      dbeta: this.#beta!.grad,
      outer,
      channels: this.channels,
      inner,
      epsilon: this.epsilon,
    });
    return dx;
  }

  /**
   * Gamma, then beta.
   *
   * @returns The parameters (none before build).
   */
  parameters(): Parameter[] {
    return [this.#gamma, this.#beta].filter((p) => p !== undefined);
  }

  /**
   * Gamma, beta and the running statistics, by name.
   *
   * @returns `weight`, `bias`, `running_mean`, `running_var` under the prefix.
   */
  state(): Map<string, Tensor<"float32">> {
    const state = new Map(this.parameters().map((p) => [p.name, p.value]));
    if (this.#runningMean && this.#runningVar) {
      state.set(`${this.#prefix}running_mean`, this.#runningMean);
      state.set(`${this.#prefix}running_var`, this.#runningVar);
    }
    return state;
  }

  /** Frees every tensor; the layer must be built again to run. */
  dispose(): void {
    releaseParameters(this.parameters());
    release(this.#runningMean, this.#runningVar, this.#mean, this.#variance);
    this.#gamma =
      this.#beta =
      this.#built =
      this.#pending =
        undefined;
    this.#runningMean = this.#runningVar = undefined;
    this.#mean = this.#variance = undefined;
  }
}
