/**
 * One training step and one evaluation of a classifier, written once against
 * the backend interface.
 *
 * @module
 */

import {
  type LossOutput,
  type LossResult,
  lossResult,
  type SoftmaxCrossEntropy,
} from "../layers/loss.ts";
import type { Optimizer } from "./optimizer.ts";
import type { Tensor } from "../backend.ts";
import { release } from "../_release.ts";

/** What a step needs of a model: a forward and a backward (a `Sequential` fits). */
export interface TrainableModel {
  /**
   * Applies the model.
   *
   * @param x The input batch.
   * @param options `{ training: true }` for training behaviour.
   * @returns The logits, owned by the caller (or `x` itself for an identity model).
   */
  forward(x: Tensor, options: { training: boolean }): Tensor;
  /**
   * Back-propagates through the last training forward, writing the parameters' gradients.
   *
   * @param dy Gradient with respect to the output.
   * @returns Gradient with respect to the input, owned by the caller.
   */
  backward(dy: Tensor): Tensor;
}

/** Arguments of {@linkcode trainStep}. */
export interface TrainStepArgs {
  /** The model to train. */
  model: TrainableModel;
  /** The loss; each forward reads its own result back. */
  loss: SoftmaxCrossEntropy;
  /** Updates the model's parameters from their gradients. */
  optimizer: Pick<Optimizer, "step">;
  /** The input batch, `[N, ...]`; it stays the caller's. */
  x: Tensor;
  /** The labels, uint32 `[N]`; they stay the caller's. */
  labels: Tensor<"uint32">;
}

/** Arguments of {@linkcode evaluateStep}. */
export type EvaluateStepArgs = Omit<TrainStepArgs, "optimizer">;

/**
 * One step of training: forward in training mode, loss, backward, optimiser
 * update. The step's tensors are released; `x` and `labels` stay the
 * caller's. Only the two numbers of the loss come back from the device.
 *
 * @param args The model, loss, optimiser and the batch.
 * @returns The batch's mean loss and accuracy, measured before the update.
 *
 * @example Train a linear classifier one step
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { labelsTensor, SoftmaxCrossEntropy } from "../layers/loss.ts";
 * import { SGD } from "./sgd.ts";
 * import { trainStep } from "./train_step.ts";
 * import type { Tensor } from "../backend.ts";
 * import { ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * // logits = x · w, by hand, so the example needs no layer.
 * const w = { name: "w", value: backend.allocate([2, 2]), grad: backend.allocate([2, 2]) };
 * let input: Tensor<"float32">;
 * const model = {
 *   forward(x: Tensor) {
 *     input = x as Tensor<"float32">;
 *     const y = backend.allocate([x.shape[0], 2]);
 *     backend.run("matmul", { a: input, b: w.value, c: y, m: x.shape[0], n: 2, k: 2, transA: false, transB: false, accumulate: false });
 *     return y;
 *   },
 *   backward(dy: Tensor) {
 *     const dyf = dy as Tensor<"float32">;
 *     backend.run("matmul", { a: input, b: dyf, c: w.grad, m: 2, n: 2, k: input.shape[0], transA: true, transB: false, accumulate: false });
 *     const dx = backend.allocate(input.shape);
 *     backend.run("matmul", { a: dyf, b: w.value, c: dx, m: input.shape[0], n: 2, k: 2, transA: false, transB: true, accumulate: false });
 *     return dx;
 *   },
 * };
 * const x = backend.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]);
 * const labels = labelsTensor(backend, [0, 1], 2);
 * const loss = new SoftmaxCrossEntropy();
 * const optimizer = new SGD([w], { lr: 1 });
 * const first = await trainStep({ model, loss, optimizer, x, labels });
 * const second = await trainStep({ model, loss, optimizer, x, labels });
 * ok(Math.abs(first.loss - Math.log(2)) < 1e-6 && second.loss < first.loss);
 * ```
 */
export async function trainStep(args: TrainStepArgs): Promise<LossResult> {
  const { model, loss, optimizer, x, labels } = args;
  const made = new Set<Tensor>();
  let output: LossOutput;
  try {
    const logits = model.forward(x, { training: true });
    made.add(logits);
    output = loss.forward(logits, labels);
    made.add(output.grad);
    made.add(model.backward(output.grad));
    optimizer.step();
  } finally {
    releaseMade(made, x, labels);
  }
  return await lossResult(output);
}

/**
 * Loss and accuracy of a batch in evaluation mode (no dropout, running
 * statistics); nothing is updated.
 *
 * @param args The model, loss and the batch.
 * @returns The batch's mean loss and accuracy.
 *
 * @example Evaluate a model that passes its input through as logits
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { labelsTensor, SoftmaxCrossEntropy } from "../layers/loss.ts";
 * import { evaluateStep } from "./train_step.ts";
 * import type { Tensor } from "../backend.ts";
 * import { equal } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const identity = { forward: (x: Tensor) => x, backward: (dy: Tensor) => dy };
 * const x = backend.tensor(new Float32Array([5, 0, 0, 5, 5, 0]), [3, 2]);
 * const labels = labelsTensor(backend, [0, 1, 1], 2);
 * const { accuracy } = await evaluateStep({ model: identity, loss: new SoftmaxCrossEntropy(), x, labels });
 * equal(accuracy, 2 / 3);
 * ```
 */
export async function evaluateStep(
  args: EvaluateStepArgs,
): Promise<LossResult> {
  const { model, loss, x, labels } = args;
  const made = new Set<Tensor>();
  let output: LossOutput;
  try {
    const logits = model.forward(x, { training: false });
    made.add(logits);
    output = loss.forward(logits, labels);
    made.add(output.grad);
  } finally {
    releaseMade(made, x, labels);
  }
  return await lossResult(output);
}

/** Releases what a step made, never the caller's own tensors. */
function releaseMade(made: Set<Tensor>, x: Tensor, labels: Tensor): void {
  made.delete(x);
  made.delete(labels);
  release(...made);
}
