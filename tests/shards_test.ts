import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { shardRows } from "../src/parallel/shards.ts";

Deno.test("shardRows: sizes differ by at most one, larger first, contiguous cover", () => {
  for (let parts = 1; parts <= 9; parts++) {
    for (let batch = parts; batch <= 40; batch++) {
      const shards = shardRows(batch, parts);
      const where = `batch ${batch}, parts ${parts}`;
      equal(shards.length, parts, where);
      let next = 0;
      for (const { offset, rows } of shards) {
        equal(offset, next, `${where}: shards must be contiguous`);
        ok(rows >= 1, `${where}: every shard has a row`);
        next = offset + rows;
      }
      equal(next, batch, `${where}: shards must cover the batch`);
      const sizes = shards.map((s) => s.rows);
      ok(Math.max(...sizes) - Math.min(...sizes) <= 1, where);
      // Larger ones first: the sizes never grow along the batch.
      ok(sizes.every((r, k) => k === 0 || r <= sizes[k - 1]), where);
      // Exactly batch mod parts shards get the extra row.
      const big = sizes.filter((r) => r === Math.ceil(batch / parts)).length;
      equal(batch % parts === 0 ? parts : batch % parts, big, where);
    }
  }
});

Deno.test("shardRows: a few splits written out", () => {
  deepEqual(shardRows(5, 1), [{ offset: 0, rows: 5 }]);
  deepEqual(shardRows(3, 3), [
    { offset: 0, rows: 1 },
    { offset: 1, rows: 1 },
    { offset: 2, rows: 1 },
  ]);
  deepEqual(shardRows(7, 2), [{ offset: 0, rows: 4 }, { offset: 4, rows: 3 }]);
  deepEqual(shardRows(11, 4), [
    { offset: 0, rows: 3 },
    { offset: 3, rows: 3 },
    { offset: 6, rows: 3 },
    { offset: 9, rows: 2 },
  ]);
});

Deno.test("shardRows: bad part counts are refused, naming parts", () => {
  for (const parts of [0, -1, 1.5, NaN, Infinity]) {
    throws(
      () => shardRows(10, parts),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message ===
          `Cannot split a batch: parts must be an integer >= 1, got ${parts}`,
      `parts ${parts}`,
    );
  }
});

Deno.test("shardRows: a batch smaller than the parts, or not an integer, is refused", () => {
  throws(
    () => shardRows(2, 3),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot split a batch: the batch must have at least one row per replica (3), got 2 rows",
  );
  throws(
    () => shardRows(0, 1),
    /at least one row per replica \(1\), got 0 rows/,
  );
  throws(
    () => shardRows(4.5, 2),
    /at least one row per replica \(2\), got 4.5 rows/,
  );
  throws(() => shardRows(NaN, 2), /got NaN rows/);
  throws(() => shardRows(-3, 1), /got -3 rows/);
});
