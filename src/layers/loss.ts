/**
 * Softmax cross-entropy, the loss of a classifier, and the labels it reads.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import { checkTensor, describe, showShape } from "../_checks.ts";
import { release } from "../_release.ts";

/** The mean loss and the share of correct predictions of one batch. */
export interface LossResult {
  /** Mean cross-entropy over the batch, in nats. */
  loss: number;
  /** Share of rows whose first largest logit is the label, in [0, 1] (0 for an empty batch). */
  accuracy: number;
}

/** What one forward of the loss gives. */
export interface LossOutput {
  /** The batch's mean cross-entropy in nats. */
  loss: Promise<number>;
  /** The share of rows whose first largest logit is the label, in [0, 1] (0 for an empty batch). */
  accuracy: Promise<number>;
  /** The gradient of the mean loss with respect to the logits, `[N, C]`, owned by the caller. */
  grad: Tensor<"float32">;
}

/**
 * Mean softmax cross-entropy of logits `[N, C]` against labels `[N]`, fused
 * with its gradient: one kernel computes the loss, the accuracy count and
 * `grad = (softmax - onehot) / N`. Only those two numbers come back to the
 * host, read from the device by each forward (on WebGPU, one small copy per
 * forward); nothing blocks until they are awaited, so a training loop can
 * queue its backward and update first.
 *
 * @example Loss, accuracy and gradient of two rows
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { labelsTensor, SoftmaxCrossEntropy } from "./loss.ts";
 * import { ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const logits = backend.tensor(new Float32Array([2, 0, 0, 0, 0, 3]), [2, 3]);
 * const labels = labelsTensor(backend, [0, 1], 3);
 * const lossFn = new SoftmaxCrossEntropy();
 * const { loss, accuracy, grad } = lossFn.forward(logits, labels);
 * // A model would go on with model.backward(grad) here.
 * backend.release(grad);
 * ok((await loss) > 0 && (await accuracy) === 0.5); // row 0 is right, row 1 is not
 * lossFn.dispose();
 * ```
 */
export class SoftmaxCrossEntropy {
  #result: Tensor<"float32"> | undefined;

  /**
   * Runs the fused kernel and starts reading its two numbers from the device
   * (on WebGPU, one small copy per forward); nothing blocks until they are
   * awaited. Each output's values are its own forward's, even after later
   * forwards.
   *
   * @param logits Float32 scores, `[N, C]` with C >= 1.
   * @param labels Uint32 classes, `[N]`, each must be < C. They are not
   *   checked here (that would mean reading them back from the device): a
   *   row whose label is >= C names no class, so its loss is NaN, which makes
   *   the mean loss NaN; the row counts as wrong and its `grad` row is
   *   `softmax / N`. {@linkcode labelsTensor} checks labels against the
   *   number of classes it is given when it uploads them.
   * @returns The mean loss and the accuracy, as promises, and the gradient.
   *   Awaiting either promise rejects when the read fails; one left
   *   unawaited is no unhandled rejection.
   * @throws {TypeError} When a tensor is released, of the wrong type or on
   *   another backend.
   * @throws {RangeError} When the shapes do not match (the message names
   *   both).
   *
   * @example Train on the gradient, await the losses afterwards
   * ```ts
   * import { createBackend, Dense, labelsTensor, Sequential, SGD, SoftmaxCrossEntropy } from "../../mod.ts";
   * import { ok } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const model = new Sequential([new Dense(2, 2)]);
   * model.build(backend, [2], { seed: 1 });
   * const optimizer = new SGD(model.parameters(), { lr: 0.5 });
   * const x = backend.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]);
   * const labels = labelsTensor(backend, [0, 1], 2);
   * const lossFn = new SoftmaxCrossEntropy();
   * const losses: Promise<number>[] = [];
   * for (let step = 0; step < 3; step++) {
   *   const logits = model.forward(x, { training: true });
   *   const { loss, grad } = lossFn.forward(logits, labels);
   *   for (const t of [model.backward(grad), grad, logits]) backend.release(t);
   *   optimizer.step();
   *   losses.push(loss); // this step's loss, though the result is rewritten
   * }
   * const [first, , last] = await Promise.all(losses);
   * ok(last < first, `loss ${first} → ${last}`);
   * ```
   */
  forward(logits: Tensor, labels: Tensor<"uint32">): LossOutput {
    const what = "run SoftmaxCrossEntropy forward";
    const input = checkTensor(logits, what, "logits");
    const backend = input.backend;
    checkTensor(labels, what, "labels", {
      backend,
      where: "of logits",
      dtype: "uint32",
    });
    const shapes = `logits ${showShape(input.shape)} and labels ${
      showShape(labels.shape)
    }`;
    if (logits.shape.length !== 2 || logits.shape[1] < 1) {
      throw new RangeError(
        `Cannot ${what}: logits must be [N, C] with C >= 1, got ${shapes}`,
      );
    }
    const [rows, cols] = logits.shape;
    if (labels.shape.length !== 1 || labels.shape[0] !== rows) {
      throw new RangeError(
        `Cannot ${what}: labels must be [N] with N = ${rows} rows of logits, got ${shapes}`,
      );
    }
    if (this.#result?.backend !== backend || this.#result.released) {
      this.dispose();
      this.#result = backend.keep(backend.allocate([2]));
    }
    const grad = backend.allocate(logits.shape, "float32", "uninitialized");
    let values: Promise<Float32Array>;
    try {
      backend.run("softmax_cross_entropy", {
        logits: input,
        labels,
        dlogits: grad,
        result: this.#result,
        rows,
        cols,
      });
      // Started now, while the result is this forward's: every backend takes
      // its copy inside `read` before it first awaits (reference and wasm
      // copy the values, webgpu records the buffer copy right behind this
      // kernel), so a later forward rewriting the result cannot reach it.
      values = backend.read(this.#result);
    } catch (error) {
      backend.release(grad);
      throw error;
    }
    return { ...lossAndAccuracy(values, rows), grad };
  }

  /** Frees the result tensor; the loss can still run again. */
  dispose(): void {
    release(this.#result);
    this.#result = undefined;
  }
}

/**
 * Checks class labels on the host and uploads them as a uint32 tensor `[N]`.
 * The loss kernel cannot report a bad label (a GPU has no way to throw), so
 * this is where an out-of-range label is caught. Labels must also be < C for
 * the logits they meet in {@linkcode SoftmaxCrossEntropy.forward}, which does
 * not check them: pass the logits' column count as `classes`. A label >= C
 * there gives its row a NaN loss, and the mean loss is NaN.
 *
 * @param backend Where the labels go.
 * @param labels One class index per sample: an array, or any typed array
 *   (a data set's `Uint8Array` of labels as it is).
 * @param classes The number of classes C; every label must be < C.
 * @returns The labels, owned by the caller.
 * @throws {RangeError} When `classes` is not an integer >= 1 or a label is
 *   not an integer in [0, classes); the message names the first bad label.
 *
 * @example Upload three labels of a 10-class problem
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { labelsTensor, SoftmaxCrossEntropy } from "./loss.ts";
 * import { deepEqual, ok, throws } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const labels = labelsTensor(backend, [3, 0, 9], 10);
 * deepEqual([...(await backend.read(labels))], [3, 0, 9]);
 * throws(() => labelsTensor(backend, [3, 10], 10), /labels\[1\] must be an integer in \[0, 10\), got 10/);
 * // Label 9 names no class of logits with 5 columns: the loss is NaN.
 * const { loss, grad } = new SoftmaxCrossEntropy().forward(backend.allocate([3, 5]), labels);
 * backend.release(grad);
 * ok(Number.isNaN(await loss));
 * ```
 */
export function labelsTensor(
  backend: Backend,
  labels: ArrayLike<number>,
  classes: number,
): Tensor<"uint32"> {
  const what = "create labels";
  if (!Number.isSafeInteger(classes) || classes < 1 || classes > 2 ** 32) {
    throw new RangeError(
      `Cannot ${what}: classes must be an integer >= 1, got ${classes}`,
    );
  }
  if (
    !Array.isArray(labels) &&
    !(ArrayBuffer.isView(labels) && !(labels instanceof DataView))
  ) {
    throw new TypeError(
      `Cannot ${what}: labels must be an array or a typed array of numbers, got ${
        describe(labels)
      }`,
    );
  }
  const data = new Uint32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(
        `Cannot ${what}: labels[${i}] must be an integer in [0, ${classes}), got ${label}`,
      );
    }
    data[i] = label;
  }
  const tensor = backend.allocate([data.length], "uint32", "uninitialized");
  backend.upload(tensor, data);
  return tensor;
}

/**
 * Both numbers of a loss output, once its read is done.
 *
 * @param output What {@linkcode SoftmaxCrossEntropy.forward} returned.
 * @returns The mean loss and the accuracy.
 *
 * @example
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { labelsTensor, lossResult, SoftmaxCrossEntropy } from "./loss.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const logits = backend.tensor(new Float32Array([0, 0]), [1, 2]);
 * const output = new SoftmaxCrossEntropy().forward(logits, labelsTensor(backend, [0], 2));
 * backend.release(output.grad);
 * deepEqual(await lossResult(output), { loss: Math.fround(Math.log(2)), accuracy: 1 });
 * ```
 */
export async function lossResult(output: LossOutput): Promise<LossResult> {
  const [loss, accuracy] = await Promise.all([output.loss, output.accuracy]);
  return { loss, accuracy };
}

/**
 * The loss and the accuracy out of one read of the kernel's result,
 * `[mean loss, correct rows]`. Both are marked handled, so a caller who
 * awaits only one leaves no unhandled rejection when the read fails;
 * awaiting either still rejects.
 */
function lossAndAccuracy(
  values: Promise<Float32Array>,
  rows: number,
): Pick<LossOutput, "loss" | "accuracy"> {
  const loss = values.then(([mean]) => mean);
  const accuracy = values.then(([, correct]) =>
    rows === 0 ? 0 : correct / rows
  );
  loss.catch(() => {});
  accuracy.catch(() => {});
  return { loss, accuracy };
}
