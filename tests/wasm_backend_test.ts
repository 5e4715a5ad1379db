/**
 * The wasm backend itself, not its kernels' results (those are rows of
 * `kernel_conformance_test.ts`): tensors across memory growth, the shared
 * compiled module, and kernels that keep to their own tensors in the heap.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { createWasmBackend, WasmBackend } from "../src/backends/wasm.ts";
import { garbage, values } from "./_helpers/conformance/_spec.ts";

const wasm = await createWasmBackend();

Deno.test("WasmBackend keeps tensors valid as memory grows and reuses freed storage", async () => {
  const backend = await createWasmBackend();
  const a = backend.tensor(new Float32Array([1, 2, 3]), [3]);
  const big = backend.allocate([4, 1 << 20]);
  deepEqual([...backend.readSync(a)], [1, 2, 3]);
  ok(backend.memory.buffer.byteLength >= 16 << 20);
  const copy = backend.readSync(a);
  copy[0] = 9;
  deepEqual([...(await backend.read(a))], [1, 2, 3]);
  backend.release(big);
  const again = backend.allocate([1 << 20]);
  equal(again.storage, big.storage);
  ok(backend.readSync(again).every((v) => v === 0));
  const empty = backend.allocate([0, 5]);
  equal(backend.readSync(empty).length, 0);
  backend.dispose();
  throws(() => backend.allocate([1]), TypeError);
  throws(() => backend.readSync(a), TypeError);
});

Deno.test("createWasmBackend() shares one compiled module and accepts one", async () => {
  const other = await createWasmBackend();
  ok(other.module === wasm.module);
  const third = await createWasmBackend(wasm.module);
  ok(third instanceof WasmBackend);
  ok(third.memory !== wasm.memory);
  other.dispose();
  third.dispose();
});

Deno.test("wasm matmul keeps to its tensors: its scratch area and blocks write nothing else", () => {
  // The first tensor sits just above heap_base, right after the scratch area.
  const first = wasm.tensor(values(4096, 7), [4096]);
  const [m, n, k] = [300, 70, 600];
  const a = wasm.tensor(values(m * k, 8), [m * k]);
  const guard = wasm.tensor(values(4096, 9), [4096]);
  const b = wasm.tensor(values(k * n, 10), [k * n]);
  const c = wasm.tensor(garbage(m * n), [m * n]);
  const last = wasm.tensor(values(4096, 11), [4096]);
  try {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        wasm.run("matmul", {
          a,
          b,
          c,
          m,
          n,
          k,
          transA,
          transB,
          accumulate: false,
        });
      }
    }
    for (const [t, seed] of [[first, 7], [guard, 9], [last, 11]] as const) {
      const expected = values(4096, seed);
      ok(
        wasm.readSync(t).every((v, i) => Object.is(v, expected[i])),
        `seed ${seed}`,
      );
    }
    const aValues = values(m * k, 8);
    ok(wasm.readSync(a).every((v, i) => Object.is(v, aValues[i])), "a");
    const bValues = values(k * n, 10);
    ok(wasm.readSync(b).every((v, i) => Object.is(v, bValues[i])), "b");
  } finally {
    for (const t of [first, a, guard, b, c, last]) wasm.release(t);
  }
});
