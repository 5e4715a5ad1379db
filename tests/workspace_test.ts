/**
 * The layers' shared workspaces (`src/layers/_workspace.ts`): one allocation
 * per backend and role, grown to the largest size asked, replaced once
 * released, separate per role and per backend, freed when the last claim
 * ends.
 */
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { createBackend, type Tensor } from "../mod.ts";
import {
  claimWorkspaces,
  unclaimWorkspaces,
  workspace,
} from "../src/layers/_workspace.ts";
import { CountingBackend } from "./_helpers/counting_backend.ts";

const baseOf = (t: Tensor) => t.base ?? t;

Deno.test("workspace: calls of one role share one allocation, grown only when too small", () => {
  const b = new CountingBackend();
  const a = workspace(b, "test.cols", [3, 4]);
  deepEqual([a.shape, a.dtype], [[3, 4], "float32"]);
  const held = baseOf(a);
  equal(held.size, 12);
  const smaller = workspace(b, "test.cols", [2, 5]);
  equal(baseOf(smaller), held);
  equal(b.allocations, 1);
  // Writing through one view is what the next view of the role reads.
  b.upload(smaller, new Float32Array(10).fill(4));
  deepEqual([...b.readSync(workspace(b, "test.cols", [2]))], [4, 4]);

  const bigger = workspace(b, "test.cols", [5, 4]);
  notEqual(baseOf(bigger), held);
  ok(held.released && a.released, "the smaller allocation is freed");
  equal(baseOf(bigger).size, 20);
  deepEqual([...b.live], [baseOf(bigger)]);
  // It stays at the largest size asked so far.
  equal(baseOf(workspace(b, "test.cols", [3])), baseOf(bigger));
  equal(b.allocations, 2);
});

Deno.test("workspace: roles and backends do not share, dtypes are kept", async () => {
  const b = new CountingBackend();
  const cols = workspace(b, "test.cols", [4]);
  const product = workspace(b, "test.product", [4]);
  notEqual(baseOf(cols), baseOf(product));
  b.upload(cols, new Float32Array([1, 2, 3, 4]));
  b.upload(product, new Float32Array([5, 6, 7, 8]));
  deepEqual([...b.readSync(workspace(b, "test.cols", [4]))], [1, 2, 3, 4]);
  const other = await createBackend("reference");
  equal(workspace(other, "test.cols", [4]).backend, other);
  equal(b.live.size, 2);
  const counts = workspace(b, "test.counts", [3], "uint32");
  equal(counts.dtype, "uint32");
});

Deno.test("workspace: a released allocation is replaced", () => {
  const b = new CountingBackend();
  const first = baseOf(workspace(b, "test.cols", [6]));
  b.release(first);
  const again = workspace(b, "test.cols", [2]);
  ok(!again.released);
  notEqual(baseOf(again), first);
  equal(baseOf(again).size, 2);
});

Deno.test("workspace: freed when the last claim ends, not before", async () => {
  for (const name of ["reference", "wasm"] as const) {
    const b = await createBackend(name);
    claimWorkspaces(b);
    claimWorkspaces(b);
    const cols = workspace(b, "test.cols", [8]);
    unclaimWorkspaces(b);
    ok(!cols.released, `${name}: one claim left`);
    unclaimWorkspaces(b);
    ok(cols.released, `${name}: no claim left`);
    // A later call allocates afresh.
    ok(!workspace(b, "test.cols", [8]).released);
    b.dispose();
  }
});
