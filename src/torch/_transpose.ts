/**
 * The transpose of a row-major matrix.
 *
 * @param data `rows × cols` values, row after row.
 * @param rows Rows of `data`.
 * @param cols Columns of `data`.
 * @returns `cols × rows` values: row j holds column j of `data`.
 *
 * @example A 2 × 3 matrix becomes 3 × 2
 * ```ts
 * import { transpose } from "./_transpose.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...transpose(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3)], [1, 4, 2, 5, 3, 6]);
 * ```
 */
export function transpose(
  data: Float32Array,
  rows: number,
  cols: number,
): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}
