/**
 * `Backend.view` on every backend: a view of a tensor's first elements reads
 * the base's leading values, a kernel writing into it writes the base (and,
 * on webgpu, at most up to the next multiple of 4 elements), the sharing
 * check sees a view and its base (or two views) as one storage, and a view
 * bigger than its base or of a released tensor is refused.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import type { BackendName } from "../mod.ts";
import { ignoreBackend, withBackend } from "./_helpers/backends.ts";

const ALL: BackendName[] = ["reference", "wasm", "webgpu"];

for (const name of ALL) {
  const ignore = await ignoreBackend(name);
  const test = (what: string, fn: Parameters<typeof withBackend>[1]) =>
    Deno.test({
      name: `${name}: view ${what}`,
      ignore,
      fn: () => withBackend(name, fn),
    });

  test("reads the base's leading values, in its own shape", async (b) => {
    const x = b.tensor(Float32Array.from({ length: 11 }, (_, i) => i - 3), [
      11,
    ]);
    const v = b.view(x, [2, 3]);
    deepEqual([v.shape, v.size, v.base === x], [[2, 3], 6, true]);
    deepEqual([...(await b.read(v))], [-3, -2, -1, 0, 1, 2]);
    // A view of a view views the base; the whole base is a view too.
    const w = b.view(v, [4]);
    equal(w.base, x);
    deepEqual([...(await b.read(w))], [-3, -2, -1, 0]);
    deepEqual([...(await b.read(b.view(x, [11])))], [...(await b.read(x))]);
    equal((await b.read(b.view(x, [0]))).length, 0);
    const u = b.allocate([5], "uint32");
    b.upload(u, new Uint32Array([7, 8, 9, 2 ** 32 - 1, 0]));
    deepEqual([...(await b.read(b.view(u, [3])))], [7, 8, 9]);
    // Released first, the view frees nothing.
    b.release(w);
    ok(w.released && !x.released);
    deepEqual([...(await b.read(v))], [-3, -2, -1, 0, 1, 2]);
  });

  test("is written by kernels, which write the base", async (b) => {
    const x = b.tensor(new Float32Array(11).fill(-1), [11]);
    const v = b.view(x, [5]);
    b.run("axpby", { x: v, y: v, n: 5, alpha: -2, beta: 0 });
    const got = await b.read(x);
    deepEqual([...got.subarray(0, 5)], [2, 2, 2, 2, 2]);
    // Webgpu kernels write whole blocks of 4: never past the next multiple.
    deepEqual([...got.subarray(8)], [-1, -1, -1]);
    if (name !== "webgpu") deepEqual([...got.subarray(5, 8)], [-1, -1, -1]);
    // An output that clears itself first (count_active's atomic counts)
    // clears only the view.
    const counts = b.allocate([6], "uint32");
    b.upload(counts, new Uint32Array(6).fill(77));
    const data = b.tensor(new Float32Array([1, -1, 2, 0, 3, 4]), [6]);
    b.run("count_active", {
      x: data,
      counts: b.view(counts, [2]),
      rows: 2,
      cols: 3,
    });
    deepEqual([...(await b.read(counts))], [2, 2, 77, 77, 77, 77]);
  });

  test("shares storage with its base and with other views of it", (b) => {
    const x = b.tensor(new Float32Array(8).fill(1), [8]);
    const geometry = { rows: 2, cols: 2, inner: 1 };
    throws(
      () =>
        b.run("transpose", {
          x: b.view(x, [4]),
          y: b.view(x, [2, 2]),
          ...geometry,
        }),
      {
        name: "TypeError",
        message:
          "Cannot run transpose: y must not share storage with x, got views of the same storage",
      },
    );
    // Another tensor's storage is not shared: this runs.
    b.run("axpby", {
      x: b.allocate([8]),
      y: b.view(x, [8]),
      n: 8,
      alpha: 1,
      beta: 0,
    });
    throws(
      () =>
        b.run("bias_grad", {
          dy: b.view(x, [4]),
          db: b.view(x, [2]),
          outer: 1,
          channels: 2,
          inner: 2,
        }),
      /db must not share storage with dy, got views of the same storage/,
    );
  });

  test("refuses a shape bigger than the tensor, and a released tensor", (b) => {
    const x = b.allocate([2, 3]);
    throws(() => b.view(x, [7]), {
      name: "RangeError",
      message:
        "Cannot view a tensor: shape must have at most 6 elements like [2, 3], got [7] (7 elements)",
    });
    throws(() => b.view(x, [2, -1]), {
      name: "RangeError",
      message:
        "Cannot view a tensor: shape must hold non-negative integers, got [2, -1]",
    });
    const v = b.view(x, [2, 2]);
    b.release(x);
    ok(v.released);
    throws(() => b.view(x, [2]), {
      name: "TypeError",
      message:
        "Cannot view a tensor: tensor was released, got a released tensor of shape [2, 3]",
    });
    throws(() => b.view(v, [2]), /Cannot view a tensor: tensor was released/);
  });
}

for (const name of ["reference", "wasm"] as BackendName[]) {
  Deno.test(`${name}: viewAt reads and writes the elements from start on`, () =>
    withBackend(name, async (b) => {
      const x = b.tensor(Float32Array.from({ length: 8 }, (_, i) => i - 3), [
        2,
        4,
      ]);
      const v = b.viewAt!(x, 3, [2, 2]);
      deepEqual([v.shape, v.base === x], [[2, 2], true]);
      deepEqual([...(await b.read(v))], [0, 1, 2, 3]);
      const tail = b.viewAt!(v, 2, [2]);
      equal(tail.base, x);
      b.run("relu", { x: tail, y: tail, n: 2 });
      b.run("axpby", { x: v, y: v, n: 4, alpha: 0, beta: -1 });
      deepEqual([...(await b.read(x))], [-3, -2, -1, -0, -1, -2, -3, 4]);
      const head = b.viewAt!(x, 0, [2]);
      throws(
        () =>
          b.run("transpose", { x: head, y: tail, rows: 1, cols: 2, inner: 1 }),
        /y must not share storage with x/,
      );
      throws(
        () => b.viewAt!(x, 5, [4]),
        /start \+ size must be at most 8 like \[2, 4\], got 5 \+ 4/,
      );
      throws(
        () => b.viewAt!(x, -1, [1]),
        /start must be a non-negative integer, got -1/,
      );
      throws(() => b.viewAt!(x, 1.5, [1]), /got 1\.5/);
      b.release(x);
      throws(() => b.viewAt!(x, 0, [1]), /released/);
    }));
}

Deno.test("webgpu has no viewAt: its bindings cannot start anywhere", async () => {
  if (await ignoreBackend("webgpu")) return;
  await withBackend("webgpu", (b) => equal(b.viewAt, undefined));
});
