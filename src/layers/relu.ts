/**
 * The rectified linear unit.
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
  checkSaved,
  checkShape,
} from "./_layer_checks.ts";

/**
 * `y = max(x, 0)` elementwise (NaN gives 0), for inputs of any shape;
 * backward passes `dy` where `x > 0`.
 *
 * @example ReLU zeroes the negatives
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { ReLU } from "./relu.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const relu = new ReLU();
 * relu.build(backend, [1, 3], 0, "0.");
 * const x = backend.tensor(new Float32Array([-1, 0, 2]), [1, 3]);
 * deepEqual([...await backend.read(relu.forward(x, { training: true }))], [0, 0, 2]);
 * const dx = relu.backward(backend.tensor(new Float32Array([5, 5, 5]), [1, 3]));
 * deepEqual([...await backend.read(dx)], [0, 0, 5]);
 * ```
 */
export class ReLU implements Layer {
  #built: Built | undefined;
  /** The input of the pending training forward. */
  #input: Tensor<"float32"> | undefined;

  /** `"ReLU"`. */
  get name(): string {
    return "ReLU";
  }

  /**
   * The output shape for inputs of `batchShape`; allocates nothing.
   *
   * @param batchShape Any shape, batch first.
   * @returns The input shape.
   * @throws {RangeError} When `batchShape` is not a shape.
   */
  outputShape(batchShape: readonly number[]): number[] {
    return checkShape(`build ${this.name}`, batchShape);
  }

  /**
   * Remembers the backend; ReLU has no parameters.
   *
   * @param backend Where the layer runs.
   * @param batchShape Any shape, batch first.
   * @param seed Unused.
   * @param prefix Unused.
   * @returns The input shape.
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
    this.#input = undefined;
    return out;
  }

  /**
   * `y = max(x, 0)`.
   *
   * @param x Input of the built shape (any batch).
   * @param options `{ training: true }` to keep `x` for backward.
   * @returns `y`, owned by the caller.
   */
  forward(x: Tensor, options: LayerForwardOptions = {}): Tensor<"float32"> {
    const input = checkForward(this.name, this.#built, x);
    const backend = this.#built!.backend;
    const y = backend.allocate(input.shape, "float32", "uninitialized");
    backend.run("relu", { x: input, y, n: input.size });
    this.#input = options.training ? input : undefined;
    return y;
  }

  /**
   * `dx = x > 0 ? dy : 0`.
   *
   * @param dy Same shape as the forward's input.
   * @returns `dx`, owned by the caller.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const x = this.#input;
    const grad = checkBackward(this.name, this.#built, x?.shape, dy);
    checkSaved(this.name, x!);
    const backend = this.#built!.backend;
    const dx = backend.allocate(grad.shape, "float32", "uninitialized");
    backend.run("relu_backward", { x: x!, dy: grad, dx, n: grad.size });
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

  /** Forgets the backend and the pending input. */
  dispose(): void {
    this.#built = this.#input = undefined;
  }
}
