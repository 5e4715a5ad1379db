/**
 * The interface every layer of a {@linkcode Sequential} model implements.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";

/** A trainable tensor and its gradient, both on the model's backend. */
export interface Parameter {
  /** The name under which weights files store it, e.g. `"0.weight"`. */
  readonly name: string;
  /** The values the optimiser updates in place. */
  readonly value: Tensor<"float32">;
  /** The gradient of the last backward, same shape; overwritten by each backward. */
  readonly grad: Tensor<"float32">;
}

/** Options of a forward call. */
export interface LayerForwardOptions {
  /** Training behaviour (dropout masks, batch statistics); false by default. */
  training?: boolean;
}

/**
 * One step of a network. A layer is built once for a backend and an input
 * shape (that is when it allocates its parameters), then runs forward and
 * backward on that backend.
 *
 * Ownership: a result of `forward` or `backward` either has storage of its
 * own, which the caller owns and releases, or shares the storage of the
 * argument (`x` or `dy`): it is the argument itself (Jumpout in inference)
 * or a view of it (Flatten). So release a result only when its storage,
 * `t.base ?? t`, differs from the argument's; a result that shares it stays
 * valid while the argument is live. A training forward keeps its input for
 * `backward`, so the caller keeps that input live until `backward` has run
 * (backward refuses a released one). `Sequential` applies these rules for
 * its caller: what its `forward` and `backward` return always has storage
 * of its own.
 */
export interface Layer {
  /** A short description for error messages, e.g. `"Dense(784 → 1024)"`. */
  readonly name: string;
  /**
   * The output shape for inputs of `inputShape`, with the checks of `build`
   * and its errors; it allocates nothing and changes nothing, so a model can
   * check every layer before building any.
   *
   * @param inputShape The input's shape; `inputShape[0]` is the batch.
   * @returns The output shape, as `build` would return it.
   * @throws {RangeError} When the input shape does not fit the layer; the
   *   message names the layer and both shapes.
   */
  outputShape(inputShape: readonly number[]): number[];
  /**
   * Allocates parameters on `backend` for inputs of `inputShape` (batch
   * dimension first, any size) and returns the output shape.
   *
   * @param backend Where the layer's tensors live.
   * @param inputShape The input's shape; `inputShape[0]` is the batch.
   * @param seed Seed of the layer's initialisation.
   * @param prefix Name prefix of its parameters, e.g. `"0."`.
   * @returns The output shape for that input shape.
   * @throws {RangeError} When the input shape does not fit the layer; the
   *   message names the layer and both shapes.
   */
  build(
    backend: Backend,
    inputShape: readonly number[],
    seed: number,
    prefix: string,
  ): number[];
  /**
   * Applies the layer.
   *
   * @param x Input on the layer's backend.
   * @param options `{ training: true }` for training behaviour.
   * @returns The output: owned by the caller unless it shares `x`'s storage.
   */
  forward(x: Tensor, options?: LayerForwardOptions): Tensor<"float32">;
  /**
   * Gradient of the last training forward; writes the parameters' `grad`.
   *
   * @param dy Gradient with respect to the forward's output.
   * @returns Gradient with respect to the forward's input: owned by the
   *   caller unless it shares `dy`'s storage.
   */
  backward(dy: Tensor): Tensor<"float32">;
  /** Trainable tensors, in a fixed order. */
  parameters(): Parameter[];
  /**
   * Every tensor a weights file holds: the parameters' values and other state
   * such as running statistics, by name.
   */
  state(): Map<string, Tensor<"float32">>;
  /** Frees every tensor the layer holds. */
  dispose(): void;
}
