/**
 * Loss and accuracy over many rows, a batch at a time.
 *
 * @module
 */

import type { LossResult } from "../layers/loss.ts";
import type { Rows } from "./_rows.ts";
import { sliceRows } from "./_rows.ts";
import type { Trainee } from "./_trainee.ts";

/**
 * The mean loss and accuracy of all rows in evaluation mode, each batch's
 * weighted by its rows.
 *
 * @param trainee The model.
 * @param rows The rows.
 * @param batchSize Rows per call.
 * @returns The loss and accuracy (NaN and 0 for no rows).
 */
export async function evaluateRows(
  trainee: Trainee,
  rows: Rows,
  batchSize: number,
): Promise<LossResult> {
  let loss = 0;
  let correct = 0;
  const n = rows.count;
  if (n === 0) return { loss: NaN, accuracy: 0 };
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const part = sliceRows(rows, trainee.sampleSize, start, end);
    const r = await trainee.evaluate(part.x, part.y);
    loss += r.loss * (end - start);
    correct += r.accuracy * (end - start);
  }
  return { loss: loss / n, accuracy: correct / n };
}
