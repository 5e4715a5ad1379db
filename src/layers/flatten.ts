/**
 * The flattening layer.
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

/**
 * `[N, ...]` → `[N, product of the rest]`, as a view of the input: no copy,
 * no kernel. Backward views `dy` in the input's shape. Views share their
 * base's storage: the output is valid while the input is live, and
 * releasing it frees nothing.
 *
 * @example Flatten images for a dense layer
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { Flatten } from "./flatten.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const flatten = new Flatten();
 * deepEqual(flatten.build(backend, [2, 3, 4, 4], 0, "0."), [2, 48]);
 * const x = backend.allocate([2, 3, 4, 4]);
 * const y = flatten.forward(x, { training: true });
 * deepEqual([y.shape, y.base === x], [[2, 48], true]);
 * deepEqual(flatten.backward(backend.allocate([2, 48])).shape, [2, 3, 4, 4]);
 * ```
 */
export class Flatten implements Layer {
  #built: Built | undefined;
  /** The input shape of the pending training forward. */
  #shape: readonly number[] | undefined;

  /** `"Flatten"`. */
  get name(): string {
    return "Flatten";
  }

  /**
   * The output shape for inputs of `batchShape`; allocates nothing.
   *
   * @param batchShape `[N, ...]`, at least the batch.
   * @returns `[N, product of the rest]`.
   * @throws {RangeError} When `batchShape` is not a shape.
   */
  outputShape(batchShape: readonly number[]): number[] {
    const shape = checkShape(`build ${this.name}`, batchShape);
    return [shape[0], shape.slice(1).reduce((a, b) => a * b, 1)];
  }

  /**
   * Remembers the backend and the input shape.
   *
   * @param backend Where the layer runs.
   * @param batchShape `[N, ...]`, at least the batch.
   * @param seed Unused.
   * @param prefix Unused.
   * @returns `[N, product of the rest]`.
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
   * Views `x` as `[N, features]`.
   *
   * @param x Input of the built shape (any batch).
   * @param options `{ training: true }` to allow backward.
   * @returns A view of `x`.
   */
  forward(x: Tensor, options: LayerForwardOptions = {}): Tensor<"float32"> {
    const input = checkForward(this.name, this.#built, x);
    const batch = input.shape[0];
    const features = input.shape.slice(1).reduce((a, b) => a * b, 1);
    this.#shape = options.training ? input.shape : undefined;
    return this.#built!.backend.reshape(input, [batch, features]);
  }

  /**
   * Views `dy` in the forward input's shape.
   *
   * @param dy `[N, features]`.
   * @returns A view of `dy`.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const shape = this.#shape;
    const flat = shape && [
      shape[0],
      shape.slice(1).reduce((a, b) => a * b, 1),
    ];
    const grad = checkBackward(this.name, this.#built, flat, dy);
    return this.#built!.backend.reshape(grad, shape!);
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
