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

/**
 * Mean softmax cross-entropy of logits `[N, C]` against labels `[N]`, fused
 * with its gradient: one kernel computes the loss, the accuracy count and
 * `dlogits = (softmax - onehot) / N`. Only two numbers ever come back to the
 * host, and only when {@linkcode SoftmaxCrossEntropy.read} asks for them, so a
 * training loop need not wait on the device every step.
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
 * const loss = new SoftmaxCrossEntropy();
 * const dlogits = loss.forward(logits, labels);
 * const { loss: value, accuracy } = await loss.read();
 * ok(value > 0 && accuracy === 0.5); // row 0 is right, row 1 is not
 * backend.release(dlogits);
 * loss.dispose();
 * ```
 */
export class SoftmaxCrossEntropy {
  #result: Tensor<"float32"> | undefined;
  #rows = 0;

  /**
   * Runs the fused kernel; the loss stays on the device until
   * {@linkcode SoftmaxCrossEntropy.read}.
   *
   * @param logits Float32 scores, `[N, C]` with C >= 1.
   * @param labels Uint32 classes, `[N]`, each must be < C. They are not
   *   checked here (that would mean reading them back from the device): a
   *   row whose label is >= C names no class, so its loss is NaN, which makes
   *   the mean loss NaN; the row counts as wrong and its `dlogits` row is
   *   `softmax / N`. {@linkcode labelsTensor} checks labels against the
   *   number of classes it is given when it uploads them.
   * @returns `dlogits`, the gradient of the mean loss, `[N, C]`, owned by the caller.
   * @throws {TypeError} When a tensor is released, of the wrong type or on
   *   another backend.
   * @throws {RangeError} When the shapes do not match (the message names
   *   both).
   */
  forward(logits: Tensor, labels: Tensor<"uint32">): Tensor<"float32"> {
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
    const dlogits = backend.allocate(logits.shape, "float32", "uninitialized");
    try {
      backend.run("softmax_cross_entropy", {
        logits: input,
        labels,
        dlogits,
        result: this.#result,
        rows,
        cols,
      });
    } catch (error) {
      backend.release(dlogits);
      throw error;
    }
    this.#rows = rows;
    return dlogits;
  }

  /**
   * Reads the loss and accuracy of the last forward (two numbers).
   *
   * @returns The mean loss and the accuracy.
   * @throws {TypeError} Before any forward (the promise rejects).
   */
  async read(): Promise<LossResult> {
    const result = this.#result;
    if (result === undefined) {
      throw new TypeError(
        "Cannot read SoftmaxCrossEntropy: the loss needs a forward first, got read before any forward",
      );
    }
    // The row count is taken now: a later forward may change it while the read waits.
    const rows = this.#rows;
    const [loss, correct] = await result.backend.read(result);
    return { loss, accuracy: rows === 0 ? 0 : correct / rows };
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
 * @param labels One class index per sample.
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
 * const loss = new SoftmaxCrossEntropy();
 * backend.release(loss.forward(backend.allocate([3, 5]), labels));
 * ok(Number.isNaN((await loss.read()).loss));
 * ```
 */
export function labelsTensor(
  backend: Backend,
  labels: Uint32Array | readonly number[],
  classes: number,
): Tensor<"uint32"> {
  const what = "create labels";
  if (!Number.isSafeInteger(classes) || classes < 1 || classes > 2 ** 32) {
    throw new RangeError(
      `Cannot ${what}: classes must be an integer >= 1, got ${classes}`,
    );
  }
  if (!(labels instanceof Uint32Array) && !Array.isArray(labels)) {
    throw new TypeError(
      `Cannot ${what}: labels must be a Uint32Array or an array of numbers, got ${
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
