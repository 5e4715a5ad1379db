/**
 * The 2-D max pooling layer.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import { checkPoolWindow, poolName, poolOutputShape } from "./_pool_window.ts";
import { outputSize } from "../backends/kernels.ts";
import type { PoolGeometry } from "../backend.ts";
import type { Layer, LayerForwardOptions, Parameter } from "./layer.ts";
import {
  type Built,
  checkBackward,
  checkBuild,
  checkForward,
} from "./_layer_checks.ts";
import { release } from "../_release.ts";
import { reuse } from "./_scratch.ts";

/** Options of {@linkcode MaxPool2d}. */
export interface MaxPool2dOptions {
  /** Step between windows (default: the kernel size). */
  stride?: number;
  /** Cells of -∞ added on each side, at most half the kernel (default 0). */
  padding?: number;
}

/** The sizes of the pending training forward. */
interface Pending {
  geometry: PoolGeometry;
  inShape: readonly number[];
  outShape: number[];
}

/**
 * Max pooling of NCHW images over square windows. Forward records where
 * each maximum came from (the first, in row-major window order, among
 * equals); backward sends each `dy` there.
 *
 * @example 2×2 pooling halves the image
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { MaxPool2d } from "./max_pool2d.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const pool = new MaxPool2d(2);
 * deepEqual(pool.build(backend, [1, 1, 2, 4], 0, "0."), [1, 1, 1, 2]);
 * const x = backend.tensor(new Float32Array([1, 5, 2, 0, 3, 4, 8, 1]), [1, 1, 2, 4]);
 * deepEqual([...await backend.read(pool.forward(x, { training: true }))], [5, 8]);
 * const dx = pool.backward(backend.tensor(new Float32Array([1, 2]), [1, 1, 1, 2]));
 * deepEqual([...await backend.read(dx)], [0, 1, 0, 0, 0, 0, 2, 0]);
 * ```
 */
export class MaxPool2d implements Layer {
  /** Side of the square window. */
  readonly kernelSize: number;
  /** Step between windows. */
  readonly stride: number;
  /** Cells of -∞ added on each side. */
  readonly padding: number;
  #built: Built | undefined;
  /** Where each maximum of the last forward came from. */
  #argmax: Tensor<"uint32"> | undefined;
  #pending: Pending | undefined;

  /**
   * Makes the layer.
   *
   * @param kernelSize Side of the window (>= 1).
   * @param options `{ stride = kernelSize, padding = 0 }`.
   * @throws {RangeError} When a size is out of range; padding above half
   *   the kernel would make windows of padding only.
   */
  constructor(kernelSize: number, options: MaxPool2dOptions = {}) {
    ({
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
    } = checkPoolWindow("create MaxPool2d", kernelSize, options));
  }

  /** E.g. `"MaxPool2d(2×2)"`. */
  get name(): string {
    return poolName("MaxPool2d", this);
  }

  /**
   * The output shape for inputs of `batchShape`; allocates nothing.
   *
   * @param batchShape `[N, C, H, W]`, the image at least one window in
   *   size once padded.
   * @returns `[N, C, outH, outW]`.
   * @throws {RangeError} When the input shape does not fit.
   */
  outputShape(batchShape: readonly number[]): number[] {
    return poolOutputShape(this.name, this, batchShape);
  }

  /**
   * Remembers the backend and the input shape.
   *
   * @param backend Where the layer runs.
   * @param batchShape `[N, C, H, W]`, the image at least one window in
   *   size once padded.
   * @param seed Unused.
   * @param prefix Unused.
   * @returns `[N, C, outH, outW]`.
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
    this.#built = { backend, input: shape };
    return out;
  }

  /**
   * The maximum of each window.
   *
   * @param x `[N, C, H, W]` as built.
   * @param options `{ training: true }` to allow backward.
   * @returns `[N, C, outH, outW]`, owned by the caller.
   */
  forward(x: Tensor, options: LayerForwardOptions = {}): Tensor<"float32"> {
    const input = checkForward(this.name, this.#built, x);
    const backend = this.#built!.backend;
    const [n, c, height, width] = input.shape;
    const geometry: PoolGeometry = {
      planes: n * c,
      height,
      width,
      kernel: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
    };
    const outShape = [
      n,
      c,
      outputSize(height, this.kernelSize, this.stride, this.padding),
      outputSize(width, this.kernelSize, this.stride, this.padding),
    ];
    const y = backend.allocate(outShape, "float32", "uninitialized");
    const argmax = reuse(backend, this.#argmax, y.size, "uint32");
    this.#argmax = argmax;
    backend.run("maxpool_forward", { x: input, y, argmax, ...geometry });
    this.#pending = options.training
      ? { geometry, inShape: input.shape, outShape }
      : undefined;
    return y;
  }

  /**
   * Sends each `dy` to its window's maximum.
   *
   * @param dy `[N, C, outH, outW]`.
   * @returns `dx`, `[N, C, H, W]`, owned by the caller.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const pending = this.#pending;
    const grad = checkBackward(
      this.name,
      this.#built,
      pending?.outShape,
      dy,
    );
    const backend = this.#built!.backend;
    const dx = backend.allocate(pending!.inShape, "float32", "uninitialized");
    backend.run("maxpool_backward", {
      dy: grad,
      argmax: this.#argmax!,
      dx,
      ...pending!.geometry,
    });
    return dx;
  }

  /**
   * None.
   *
   * @returns An empty list.
   */
  parameters(): Parameter[] {
    return [];
  }

  /**
   * None.
   *
   * @returns An empty map.
   */
  state(): Map<string, Tensor<"float32">> {
    return new Map();
  }

  /** Frees the argmax scratch tensor and forgets the backend. */
  dispose(): void {
    release(this.#argmax);
    this.#argmax = this.#built = this.#pending = undefined;
  }
}
