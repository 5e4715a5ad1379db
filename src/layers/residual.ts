/**
 * A residual block: `y = body(x) + shortcut(x)`.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import { describe } from "../_checks.ts";
import { release } from "../_release.ts";
import { hash32 } from "../random.ts";
import type {
  BlockForwardOptions,
  Layer,
  LayerBlock,
  LayerForwardOptions,
  Parameter,
} from "./layer.ts";
import { showBatchShape } from "./_shape.ts";
import { Sequential } from "./sequential.ts";

/**
 * `y = body(x) + shortcut(x)`, the block of residual networks (He et al.,
 * 2016). The body and the shortcut are lists of layers run in order; with
 * no shortcut it is the identity, `y = body(x) + x`. Both must give the
 * same shape, which `build` checks.
 *
 * Parameters are named by path: the body's first layer's weight under
 * prefix `"3."` is `"3.body.0.weight"`, the shortcut's `"3.shortcut.0.weight"`.
 * Jumpout layers inside work as anywhere else (walks such as
 * {@linkcode walkLayers} enter the block).
 *
 * @example A pre-activation block with an identity shortcut
 * ```ts
 * import { BatchNorm, Conv2d, createBackend, ReLU, Residual } from "../../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const block = new Residual([
 *   new BatchNorm(2), new ReLU(), new Conv2d(2, 2, 3, { padding: 1 }),
 * ]);
 * deepEqual(block.build(backend, [1, 2, 4, 4], 7, "0."), [1, 2, 4, 4]);
 * const x = backend.tensor(new Float32Array(32).fill(1), [1, 2, 4, 4]);
 * const y = block.forward(x, { training: true });
 * const dx = block.backward(backend.tensor(new Float32Array(32).fill(1), [1, 2, 4, 4]));
 * deepEqual([y.shape, dx.shape], [[1, 2, 4, 4], [1, 2, 4, 4]]);
 * deepEqual(block.parameters().map((p) => p.name), [
 *   "0.body.0.weight", "0.body.0.bias", "0.body.2.weight", "0.body.2.bias",
 * ]);
 * ```
 */
export class Residual implements LayerBlock {
  /** The layers of `body(x)`. */
  readonly body: Sequential;
  /** The layers of `shortcut(x)`; `undefined` for the identity. */
  readonly shortcut: Sequential | undefined;
  /** Whether a training forward awaits its backward. */
  #pending = false;

  /**
   * Makes a block from its branches' layers.
   *
   * @param body The layers of the main branch, in order.
   * @param shortcut The layers of the shortcut; the identity when absent.
   * @throws {TypeError} When `body` or `shortcut` is not a list of layers.
   */
  constructor(body: Layer[], shortcut?: Layer[]) {
    const what = "create Residual";
    if (!Array.isArray(body)) {
      throw new TypeError(
        `Cannot ${what}: body must be an array of layers, got ${
          describe(body)
        }`,
      );
    }
    if (shortcut !== undefined && !Array.isArray(shortcut)) {
      throw new TypeError(
        `Cannot ${what}: shortcut must be an array of layers or undefined, got ${
          describe(shortcut)
        }`,
      );
    }
    const shared = shortcut?.find((layer) => body.includes(layer));
    if (shared !== undefined) {
      throw new TypeError(
        `Cannot ${what}: shortcut must not hold a layer of the body, got ${shared.name} in both`,
      );
    }
    this.body = restated(what, "body", () => new Sequential(body));
    this.shortcut = shortcut === undefined
      ? undefined
      : restated(what, "shortcut", () => new Sequential(shortcut));
  }

  /** E.g. `"Residual(3 layers)"` or `"Residual(6 layers, shortcut 2)"`. */
  get name(): string {
    const n = this.body.layers.length;
    const shortcut = this.shortcut === undefined
      ? ""
      : `, shortcut ${this.shortcut.layers.length}`;
    return `Residual(${n} layer${n === 1 ? "" : "s"}${shortcut})`;
  }

  /**
   * The layers inside, by path: `body.0`, …, then `shortcut.0`, ….
   *
   * @returns `[path, layer]` pairs in the order they run.
   */
  children(): [string, Layer][] {
    return [
      ...this.body.layers.map((l, i) => [`body.${i}`, l] as [string, Layer]),
      ...(this.shortcut?.layers ?? []).map((
        l,
        i,
      ) => [`shortcut.${i}`, l] as [string, Layer]),
    ];
  }

  /**
   * The output shape: the body's, which must equal the shortcut's.
   *
   * @param batchShape The input's shape, batch first.
   * @returns The output shape, batch first.
   * @throws {RangeError} When a branch does not take the input, or the two
   *   branches give different shapes (both named).
   */
  outputShape(batchShape: readonly number[]): number[] {
    const body = this.body.outputShape(batchShape);
    const shortcut = this.shortcut?.outputShape(batchShape) ?? [...batchShape];
    if (
      body.length !== shortcut.length || body.some((d, i) => d !== shortcut[i])
    ) {
      throw new RangeError(
        `Cannot build ${this.name}: the body outputs ${
          showBatchShape(body)
        } but the shortcut${
          this.shortcut === undefined ? " (identity)" : ""
        } outputs ${showBatchShape(shortcut)}`,
      );
    }
    return body;
  }

  /**
   * Builds both branches for inputs of `batchShape`.
   *
   * @param backend Where the block's tensors live.
   * @param batchShape The input's shape, batch first.
   * @param seed Seed of the branches' initialisation.
   * @param prefix Name prefix of its parameters, e.g. `"3."`.
   * @returns The output shape, batch first.
   */
  build(
    backend: Backend,
    batchShape: readonly number[],
    seed: number,
    prefix: string,
  ): number[] {
    const out = this.outputShape(batchShape);
    this.#pending = false;
    // The branches are models: they take one sample's shape.
    const sample = batchShape.slice(1);
    this.body.build(backend, sample, {
      seed: hash32((seed ^ 0x626f6479) >>> 0),
      prefix: `${prefix}body.`,
    });
    this.shortcut?.build(backend, sample, {
      seed: hash32((seed ^ 0x73686f72) >>> 0),
      prefix: `${prefix}shortcut.`,
    });
    return out;
  }

  /**
   * `body(x) + shortcut(x)`.
   *
   * @param x Input on the block's backend; keep it live until `backward`
   *   after a training forward.
   * @param options `{ training: true }` for training behaviour.
   * @returns A new tensor the caller owns.
   */
  forward(x: Tensor, options: LayerForwardOptions = {}): Tensor<"float32"> {
    const training = options.training ?? false;
    const y = this.body.forward(x, { training });
    const s = this.shortcut?.forward(x, { training });
    return this.#sum(y, s ?? x, s, training);
  }

  /**
   * The forward, awaiting `beforeLayer` before each layer inside.
   *
   * @param x Input on the block's backend.
   * @param options The mode and the hook.
   * @returns What `forward` returns.
   */
  async forwardAsync(
    x: Tensor,
    options: BlockForwardOptions,
  ): Promise<Tensor<"float32">> {
    const y = await this.body.forwardAsync(x, options);
    const s = await this.shortcut?.forwardAsync(x, options);
    return this.#sum(y, s ?? x, s, options.training);
  }

  /**
   * Gradient of the last training forward: `body'(dy) + shortcut'(dy)`.
   *
   * @param dy Gradient with respect to the output.
   * @returns A new tensor the caller owns.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    if (!this.#pending) {
      throw new TypeError(
        `Cannot run ${this.name} backward: dy needs a training forward first, got backward without a pending forward with training: true`,
      );
    }
    const dx = this.body.backward(dy);
    const ds = this.shortcut?.backward(dy);
    this.#pending = false;
    this.#add(ds ?? dy, dx);
    if (ds !== undefined) release(ds);
    return dx;
  }

  /**
   * The body's parameters, then the shortcut's.
   *
   * @returns Both branches' trainable tensors.
   */
  parameters(): Parameter[] {
    return [
      ...this.body.parameters(),
      ...(this.shortcut?.parameters() ?? []),
    ];
  }

  /**
   * Both branches' state, by name.
   *
   * @returns Every tensor a weights file holds for the block.
   */
  state(): Map<string, Tensor<"float32">> {
    return new Map([...this.body.state(), ...(this.shortcut?.state() ?? [])]);
  }

  /** Frees both branches' tensors. */
  dispose(): void {
    this.body.dispose();
    this.shortcut?.dispose();
    this.#pending = false;
  }

  /** `y += s`; frees `shortcut`'s output `owned` when there is one. */
  #sum(
    y: Tensor<"float32">,
    s: Tensor,
    owned: Tensor | undefined,
    training: boolean,
  ): Tensor<"float32"> {
    try {
      this.#add(s, y);
    } finally {
      if (owned !== undefined) release(owned);
    }
    this.#pending = training;
    return y;
  }

  /** `into += x`, elementwise. */
  #add(x: Tensor, into: Tensor<"float32">): void {
    into.backend.run("axpby", {
      x: x as Tensor<"float32">,
      y: into,
      n: into.size,
      alpha: 1,
      beta: 1,
    });
  }
}

/** Runs `make`, naming the branch in a TypeError it throws. */
function restated<T>(what: string, branch: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const detail = error.message.replace(
      /^Cannot create Sequential: layers/,
      branch,
    );
    throw new TypeError(`Cannot ${what}: ${detail}`, { cause: error });
  }
}
