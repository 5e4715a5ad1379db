/**
 * The global average pooling layer.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import type { Layer, LayerForwardOptions, Parameter } from "./layer.ts";
import {
  type Built,
  checkBackward,
  checkBuild,
  checkForward,
  checkShape,
} from "./_layer_checks.ts";
import { InputShapeError } from "./_shape.ts";

/**
 * The mean of each channel's plane: NCHW `[N, C, H, W]` → `[N, C]`.
 * Backward spreads `dy / (H·W)` over the plane.
 *
 * @example Average a 2×2 plane
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { GlobalAvgPool } from "./global_avg_pool.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const pool = new GlobalAvgPool();
 * deepEqual(pool.build(backend, [1, 1, 2, 2], 0, "0."), [1, 1]);
 * const x = backend.tensor(new Float32Array([1, 2, 3, 6]), [1, 1, 2, 2]);
 * deepEqual([...await backend.read(pool.forward(x, { training: true }))], [3]);
 * const dx = pool.backward(backend.tensor(new Float32Array([8]), [1, 1]));
 * deepEqual([...await backend.read(dx)], [2, 2, 2, 2]);
 * ```
 */
export class GlobalAvgPool implements Layer {
  #built: Built | undefined;
  /** The input shape of the pending training forward. */
  #shape: readonly number[] | undefined;

  /** `"GlobalAvgPool"`. */
  get name(): string {
    return "GlobalAvgPool";
  }

  /**
   * The output shape for inputs of `batchShape`; allocates nothing.
   *
   * @param batchShape `[N, C, H, W]` with `H, W >= 1`.
   * @returns `[N, C]`.
   * @throws {RangeError} When the input shape does not fit.
   */
  outputShape(batchShape: readonly number[]): number[] {
    const shape = checkShape(`build ${this.name}`, batchShape);
    if (shape.length !== 4 || shape[2] < 1 || shape[3] < 1) {
      throw new InputShapeError(
        this.name,
        "[N, C, H, W] with H, W >= 1",
        shape,
      );
    }
    return shape.slice(0, 2);
  }

  /**
   * Remembers the backend and the input shape.
   *
   * @param backend Where the layer runs.
   * @param batchShape `[N, C, H, W]` with `H, W >= 1`.
   * @param seed Unused.
   * @param prefix Unused.
   * @returns `[N, C]`.
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
    this.#built = { backend, input: shape };
    this.#shape = undefined;
    return out;
  }

  /**
   * Averages each plane.
   *
   * @param x `[N, C, H, W]` as built.
   * @param options `{ training: true }` to allow backward.
   * @returns `[N, C]`, owned by the caller.
   */
  forward(x: Tensor, options: LayerForwardOptions = {}): Tensor<"float32"> {
    const input = checkForward(this.name, this.#built, x);
    const backend = this.#built!.backend;
    const [n, c, h, w] = input.shape;
    const y = backend.allocate([n, c], "float32", "uninitialized");
    // Each plane's sum (a plane is a channel of one sample), then the mean.
    backend.run("bias_grad", {
      dy: input,
      db: y,
      outer: 1,
      channels: n * c,
      inner: h * w,
    });
    backend.run("axpby", { x: y, y, n: n * c, alpha: 1 / (h * w), beta: 0 });
    this.#shape = options.training ? input.shape : undefined;
    return y;
  }

  /**
   * `dx[n, c, h, w] = dy[n, c] / (H·W)`.
   *
   * @param dy `[N, C]`.
   * @returns `dx`, `[N, C, H, W]`, owned by the caller.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const shape = this.#shape;
    const grad = checkBackward(
      this.name,
      this.#built,
      shape?.slice(0, 2),
      dy,
    );
    const backend = this.#built!.backend;
    const [n, c, h, w] = shape!;
    const dx = backend.allocate(shape!, "float32", "uninitialized");
    backend.run("row_broadcast", {
      dy: grad,
      dx,
      rows: n * c,
      cols: h * w,
      alpha: 1 / (h * w),
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

  /** Forgets the backend. */
  dispose(): void {
    this.#built = this.#shape = undefined;
  }
}
