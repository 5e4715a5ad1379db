import type { ResolvedJumpoutOptions } from "./_jumpout_options.ts";
import { showShape } from "../_checks.ts";

/** Where a forward call's rows sit in a batch split across replicas. */
export interface JumpoutShard {
  /** The whole-batch index of this call's first row (an integer >= 0). */
  rowOffset: number;
  /** Rows in the whole batch, over all replicas (an integer >= 0). */
  batchRows: number;
}

/** A checked shard, with what the layer derives from it. */
export interface ResolvedShard {
  /** The whole-batch index of the call's first row. */
  rowOffset: number;
  /** Rows in the whole batch. */
  batchRows: number;
  /** Elements per row: the product of the input's dimensions past the first. */
  units: number;
  /** Inputs > 0 in the whole batch, when the caller gave them. */
  activeCount: number | undefined;
}

/**
 * Checks a forward call's `shard` and `activeCount` against its input and
 * the layer's options, naming the bad one; it changes nothing.
 *
 * @param what What the caller is doing, e.g. `"run Jumpout forward"`.
 * @param shape The input's shape.
 * @param shard The `shard` option as given.
 * @param activeCount The `activeCount` option as given.
 * @param options The layer's options.
 * @returns The checked shard, or undefined when the call has none.
 * @throws {TypeError} When `shard` is not an object, or `activeCount` comes
 *   without `shard` or with options that do not use it.
 * @throws {RangeError} When a number is out of range.
 *
 * @example The second of two shards of 4 rows of 3 units each
 * ```ts
 * import { resolveShard } from "./_jumpout_shard.ts";
 * import { resolveJumpoutOptions } from "./_jumpout_options.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const options = resolveJumpoutOptions({ seed: 1 }, "Jumpout");
 * deepEqual(
 *   resolveShard("run f", [2, 3], { rowOffset: 2, batchRows: 4 }, 7, options),
 *   { rowOffset: 2, batchRows: 4, units: 3, activeCount: 7 },
 * );
 * ```
 */
export function resolveShard(
  what: string,
  shape: readonly number[],
  shard: unknown,
  activeCount: unknown,
  options: Readonly<ResolvedJumpoutOptions>,
): ResolvedShard | undefined {
  const fail = (Err: typeof RangeError, detail: string): never => {
    throw new Err(`Cannot ${what}: ${detail}`);
  };
  if (shard === undefined) {
    if (activeCount !== undefined) {
      fail(
        TypeError,
        `activeCount needs shard (where the rows sit in the whole batch), got activeCount ${
          String(activeCount)
        } without shard`,
      );
    }
    return undefined;
  }
  if (shard === null || typeof shard !== "object") {
    fail(
      TypeError,
      `shard must be an object { rowOffset, batchRows }, got ${String(shard)}`,
    );
  }
  const { rowOffset, batchRows } = shard as Partial<JumpoutShard>;
  for (
    const [key, value] of [["rowOffset", rowOffset], [
      "batchRows",
      batchRows,
    ]] as const
  ) {
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      fail(
        RangeError,
        `shard.${key} must be an integer >= 0, got ${String(value)}`,
      );
    }
  }
  if (shape.length === 0) {
    fail(
      RangeError,
      `x must have a batch dimension with shard, got shape ${showShape(shape)}`,
    );
  }
  const rows = shape[0];
  if (rowOffset! + rows > batchRows!) {
    fail(
      RangeError,
      `shard.rowOffset + x.shape[0] must not exceed shard.batchRows, got ${rowOffset} + ${rows} > ${batchRows}`,
    );
  }
  const units = shape.slice(1).reduce((a, b) => a * b, 1);
  // Mask indices, the count and q+'s denominator are unsigned 32-bit.
  const total = batchRows! * units;
  if (total >= 2 ** 32) {
    fail(
      RangeError,
      `shard.batchRows × ${units} units per row must be below 2^32, got ${batchRows} rows (${total} units)`,
    );
  }
  if (activeCount !== undefined) {
    if (options.scope !== "batch") {
      fail(
        TypeError,
        `activeCount needs scope: "batch" (each sample counts its own units), got scope: ${
          JSON.stringify(options.scope)
        }`,
      );
    }
    if (!options.normalize) {
      fail(
        TypeError,
        `activeCount needs normalize: true (it only sets q+), got normalize: false`,
      );
    }
    if (
      !Number.isSafeInteger(activeCount) || (activeCount as number) < 0 ||
      (activeCount as number) > total
    ) {
      fail(
        RangeError,
        `activeCount must be an integer in [0, ${total}] (the whole batch's units), got ${
          String(activeCount)
        }`,
      );
    }
  }
  return {
    rowOffset: rowOffset!,
    batchRows: batchRows!,
    units,
    activeCount: activeCount as number | undefined,
  };
}
