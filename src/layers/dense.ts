/**
 * The fully connected layer.
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
import { checkBoolean, checkInteger } from "../_checks.ts";
import { heNormal, makeParameter, releaseParameters } from "./_init.ts";
import { InputShapeError } from "./_shape.ts";

/** Options of {@linkcode Dense}. */
export interface DenseOptions {
  /** Whether to add a learned bias (default true). */
  bias?: boolean;
}

/**
 * A fully connected layer: `y = x · W + b` for inputs `[N, inFeatures]`,
 * with `W` stored `[inFeatures, outFeatures]` (named `"weight"`) and `b`
 * `[outFeatures]` (`"bias"`). Weights start He-normal, N(0, 2 / inFeatures),
 * from the build's seed; the bias starts at 0.
 *
 * @example A 3 → 2 layer on a batch of 4
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { Dense } from "./dense.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const layer = new Dense(3, 2);
 * deepEqual(layer.build(backend, [4, 3], 1, "0."), [4, 2]);
 * const x = backend.tensor(new Float32Array(12).fill(1), [4, 3]);
 * const y = layer.forward(x, { training: true });
 * const dx = layer.backward(backend.tensor(new Float32Array(8).fill(1), [4, 2]));
 * deepEqual([y.shape, dx.shape], [[4, 2], [4, 3]]);
 * deepEqual(layer.parameters().map((p) => p.name), ["0.weight", "0.bias"]);
 * ```
 */
export class Dense implements Layer {
  /** Features of each input row. */
  readonly inFeatures: number;
  /** Features of each output row. */
  readonly outFeatures: number;
  /** Whether the layer adds a bias. */
  readonly hasBias: boolean;
  #built: Built | undefined;
  #weight: Parameter | undefined;
  #bias: Parameter | undefined;
  /** The input of the pending training forward. */
  #input: Tensor<"float32"> | undefined;

  /**
   * Makes the layer; it allocates nothing until {@linkcode Dense.build}.
   *
   * @param inFeatures Features of each input row (>= 1).
   * @param outFeatures Features of each output row (>= 1).
   * @param options `{ bias }`, true by default.
   * @throws {RangeError} When a size is not an integer >= 1.
   * @throws {TypeError} When `bias` is not a boolean.
   */
  constructor(
    inFeatures: number,
    outFeatures: number,
    options: DenseOptions = {},
  ) {
    const what = "create Dense";
    this.inFeatures = checkInteger(inFeatures, 1, what, "inFeatures");
    this.outFeatures = checkInteger(outFeatures, 1, what, "outFeatures");
    this.hasBias = checkBoolean(options.bias ?? true, what, "bias");
  }

  /** E.g. `"Dense(784 → 1024)"`. */
  get name(): string {
    return `Dense(${this.inFeatures} → ${this.outFeatures})`;
  }

  /**
   * The output shape for inputs of `batchShape`; allocates nothing.
   *
   * @param batchShape `[N, inFeatures]`.
   * @returns `[N, outFeatures]`.
   * @throws {RangeError} When the input shape does not fit.
   */
  outputShape(batchShape: readonly number[]): number[] {
    const shape = checkShape(`build ${this.name}`, batchShape);
    if (shape.length !== 2 || shape[1] !== this.inFeatures) {
      throw new InputShapeError(this.name, `[N, ${this.inFeatures}]`, shape);
    }
    return [shape[0], this.outFeatures];
  }

  /**
   * The numbers the layer holds once built; it need not be built.
   *
   * @returns `inFeatures · outFeatures` weights and `outFeatures` biases
   *   (if any), all trainable.
   */
  parameterCount(): ParameterCount {
    const bias = this.hasBias ? this.outFeatures : 0;
    return {
      trainable: this.inFeatures * this.outFeatures + bias,
      nonTrainable: 0,
    };
  }

  /**
   * Allocates the weight and bias for inputs `[N, inFeatures]`.
   *
   * @param backend Where the layer's tensors live.
   * @param batchShape `[N, inFeatures]`.
   * @param seed Seed of the weights.
   * @param prefix Name prefix of the parameters.
   * @returns `[N, outFeatures]`.
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
    const [fanIn, fanOut] = [this.inFeatures, this.outFeatures];
    this.dispose();
    this.#weight = makeParameter(
      backend,
      `${prefix}weight`,
      [fanIn, fanOut],
      heNormal(seed, fanIn * fanOut, fanIn),
    );
    if (this.hasBias) {
      this.#bias = makeParameter(backend, `${prefix}bias`, [fanOut]);
    }
    this.#built = { backend, input: shape };
    return out;
  }

  /**
   * `y = x · W + b`.
   *
   * @param x `[N, inFeatures]` on the built backend.
   * @param options `{ training: true }` to keep `x` for backward.
   * @returns `[N, outFeatures]`, owned by the caller.
   */
  forward(x: Tensor, options: LayerForwardOptions = {}): Tensor<"float32"> {
    const input = checkForward(this.name, this.#built, x);
    const backend = this.#built!.backend;
    const rows = input.shape[0];
    const y = backend.allocate(
      [rows, this.outFeatures],
      "float32",
      "uninitialized",
    );
    backend.run("matmul", {
      a: input,
      b: this.#weight!.value,
      c: y,
      m: rows,
      n: this.outFeatures,
      k: this.inFeatures,
      transA: false,
      transB: false,
      accumulate: false,
    });
    if (this.#bias) {
      backend.run("bias_add", {
        y,
        bias: this.#bias.value,
        outer: rows,
        channels: this.outFeatures,
        inner: 1,
      });
    }
    this.#input = options.training ? input : undefined;
    return y;
  }

  /**
   * Writes `dW = xᵀ · dy` and `db = Σ dy`, and returns `dx = dy · Wᵀ`.
   *
   * @param dy `[N, outFeatures]`.
   * @returns `dx`, `[N, inFeatures]`, owned by the caller.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const x = this.#input;
    const grad = checkBackward(
      this.name,
      this.#built,
      x && [x.shape[0], this.outFeatures],
      dy,
    );
    checkSaved(this.name, x!);
    const backend = this.#built!.backend;
    const rows = x!.shape[0];
    backend.run("matmul", {
      a: x!,
      b: grad,
      c: this.#weight!.grad,
      m: this.inFeatures,
      n: this.outFeatures,
      k: rows,
      transA: true,
      transB: false,
      accumulate: false,
    });
    if (this.#bias) {
      backend.run("bias_grad", {
        dy: grad,
        db: this.#bias.grad,
        outer: rows,
        channels: this.outFeatures,
        inner: 1,
      });
    }
    const dx = backend.allocate(
      [rows, this.inFeatures],
      "float32",
      "uninitialized",
    );
    backend.run("matmul", {
      a: grad,
      b: this.#weight!.value,
      c: dx,
      m: rows,
      n: this.inFeatures,
      k: this.outFeatures,
      transA: false,
      transB: true,
      accumulate: false,
    });
    return dx;
  }

  /**
   * The weight, then the bias if any.
   *
   * @returns The parameters (none before build).
   */
  parameters(): Parameter[] {
    return [this.#weight, this.#bias].filter((p) => p !== undefined);
  }

  /**
   * The parameters' values by name.
   *
   * @returns E.g. `"0.weight"` and `"0.bias"`.
   */
  state(): Map<string, Tensor<"float32">> {
    return new Map(this.parameters().map((p) => [p.name, p.value]));
  }

  /** Frees the parameters; the layer must be built again to run. */
  dispose(): void {
    releaseParameters(this.parameters());
    this.#weight =
      this.#bias =
      this.#input =
      this.#built =
        undefined;
  }
}
