/**
 * How a mini-batch is split between data-parallel replicas.
 *
 * @module
 */

/** One replica's part of a batch: rows `[offset, offset + rows)`. */
export interface Shard {
  /** The shard's first row in the batch. */
  offset: number;
  /** How many rows it has. */
  rows: number;
}

/**
 * Splits `batch` rows into `parts` contiguous shards whose sizes differ by at
 * most one, the larger ones first.
 *
 * @param batch Rows in the batch, an integer >= `parts`.
 * @param parts Number of shards, an integer >= 1.
 * @returns The shards, in row order.
 * @throws {RangeError} When either count is not an integer, `parts` < 1, or
 *   `batch` < `parts` (a replica would get no rows).
 *
 * @example Ten rows for three replicas
 * ```ts
 * import { shardRows } from "./shards.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(shardRows(10, 3), [
 *   { offset: 0, rows: 4 },
 *   { offset: 4, rows: 3 },
 *   { offset: 7, rows: 3 },
 * ]);
 * ```
 */
export function shardRows(batch: number, parts: number): Shard[] {
  if (!Number.isSafeInteger(parts) || parts < 1) {
    throw new RangeError(
      `Cannot split a batch: parts must be an integer >= 1, got ${parts}`,
    );
  }
  if (!Number.isSafeInteger(batch) || batch < parts) {
    throw new RangeError(
      `Cannot split a batch: the batch must have at least one row per replica (${parts}), got ${batch} rows`,
    );
  }
  const base = Math.floor(batch / parts);
  const extra = batch % parts;
  const shards: Shard[] = [];
  let offset = 0;
  for (let k = 0; k < parts; k++) {
    const rows = base + (k < extra ? 1 : 0);
    shards.push({ offset, rows });
    offset += rows;
  }
  return shards;
}
