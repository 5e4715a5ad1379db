/**
 * Reference loss: softmax cross-entropy with its gradient.
 *
 * @module
 */

import type { KernelArgs } from "../../backend.ts";

/**
 * `softmax_cross_entropy`: per row, the loss `log Σ exp(x_j) - x[label]`
 * computed around the row's maximum (so logits of ±1e4 neither overflow nor
 * vanish), the gradient `(softmax - onehot) / rows`, and then the mean loss
 * and how many rows have their label as their first maximum. A label
 * `>= cols` gives its row a NaN loss and no one-hot term.
 *
 * @param a The kernel's arguments.
 *
 * @example Two equal logits: loss log 2, half a unit of gradient each way
 * ```ts
 * import { ReferenceBackend } from "../reference.ts";
 * import { softmaxCrossEntropy } from "./loss.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const logits = backend.tensor(new Float32Array([3, 3]), [1, 2]);
 * const labels = backend.allocate([1], "uint32");
 * backend.upload(labels, new Uint32Array([1]));
 * const dlogits = backend.allocate([1, 2]);
 * const result = backend.allocate([2]);
 * softmaxCrossEntropy({ logits, labels, dlogits, result, rows: 1, cols: 2 });
 * deepEqual([...backend.readSync(dlogits)], [0.5, -0.5]);
 * // The first maximum is column 0, so the row does not count as correct.
 * deepEqual([...backend.readSync(result)], [Math.fround(Math.LN2), 0]);
 * ```
 */
export function softmaxCrossEntropy(
  a: KernelArgs["softmax_cross_entropy"],
): void {
  const x = a.logits.storage as Float32Array;
  const labels = a.labels.storage as Uint32Array;
  const dx = a.dlogits.storage as Float32Array;
  const result = a.result.storage as Float32Array;
  const { rows, cols } = a;
  let total = 0, correct = 0;
  for (let r = 0; r < rows; r++) {
    const start = r * cols, label = labels[r];
    let max = -Infinity, first = -1;
    for (let j = 0; j < cols; j++) {
      if (first < 0 || x[start + j] > max) [max, first] = [x[start + j], j];
    }
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[start + j] - max);
    // A label past the row names no class: reading x there would read the
    // next row (or past the array), so its loss is NaN instead.
    total += label < cols ? Math.log(sum) + max - x[start + label] : NaN;
    for (let j = 0; j < cols; j++) {
      const p = Math.exp(x[start + j] - max) / sum;
      dx[start + j] = (p - (j === label ? 1 : 0)) / rows;
    }
    if (first === label) correct++;
  }
  result[0] = rows === 0 ? 0 : total / rows;
  result[1] = correct;
}
