import { deepEqual, equal, fail, ok, throws } from "node:assert/strict";
import type { Backend } from "../src/backend.ts";
import { FLOAT32_MAX } from "../src/backends/kernels.ts";
import { hash32 } from "../src/random.ts";
import { ReferenceBackend } from "../src/backends/reference.ts";
import { createWasmBackend, WasmBackend } from "../src/backends/wasm.ts";
import { assertSameBits } from "./_helpers/assert.ts";

const reference = new ReferenceBackend();
const wasm = await createWasmBackend();

/** Deterministic floats: mostly small, some huge, a few special values. */
function values(n: number, seed: number): Float32Array {
  const specials = [NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 0, -0, 1e-45];
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const h = hash32((i * 2654435761 + seed) >>> 0);
    const u = (h >>> 8) / 2 ** 24;
    if ((h & 0xff) < 3) x[i] = specials[h % specials.length];
    else if ((h & 0xff) < 8) x[i] = (u - 0.5) * 2e38;
    else x[i] = (u - 0.4) * 4;
  }
  return x;
}

/** Runs count_active then mask_scale on a backend; returns counts and y. */
function forward(
  backend: Backend,
  x: Float32Array,
  keep: Uint32Array,
  scale: Float32Array,
  rows: number,
  key: number,
): { counts: Uint32Array; y: Float32Array } {
  const cols = rows === 0 ? 0 : x.length / rows;
  const xt = backend.tensor(x, [x.length]);
  const yt = backend.allocate([x.length]);
  const counts = backend.allocate([rows], "uint32");
  const keepT = backend.allocate([rows], "uint32");
  const scaleT = backend.allocate([rows]);
  backend.upload(keepT, keep);
  backend.upload(scaleT, scale);
  backend.run("count_active", { x: xt, counts, rows, cols });
  backend.run("mask_scale", {
    x: xt,
    keep: keepT,
    scale: scaleT,
    y: yt,
    rows,
    cols,
    key,
    offset: 0,
  });
  const out = { counts: backend.readSync!(counts), y: backend.readSync!(yt) };
  for (const t of [xt, yt, counts, keepT, scaleT]) backend.release(t);
  return out;
}

/** Row counts to try for n elements: 1, a small divisor, and n. */
function rowChoices(n: number): number[] {
  if (n === 0) return [0, 1];
  let d = Math.min(2, n);
  while (d < n && n % d !== 0) d++;
  return [...new Set([1, d, n, ...[3, 4, 7, 64].filter((r) => n % r === 0)])];
}

Deno.test("wasm count_active and mask_scale match the reference", () => {
  const keeps = [0, 1, 2 ** 23, 12582912, 2 ** 24, 2 ** 24 + 5, 0xffffffff];
  const scales = [1, 2.5, 0, Infinity, NaN, 1e30, 1.98804];
  for (const n of [0, 1, 3, 4, 5, 15, 16, 17, 33, 1023, 2 ** 20 + 3]) {
    for (const rows of rowChoices(n)) {
      for (const key of [0, 0x9e3779b9, 0xffffffff]) {
        const x = values(n, key + rows);
        const keep = Uint32Array.from(
          { length: rows },
          (_, r) => keeps[(r + key) % keeps.length],
        );
        const scale = Float32Array.from(
          { length: rows },
          (_, r) => scales[(r * 3 + n) % scales.length],
        );
        const want = forward(reference, x, keep, scale, rows, key);
        const got = forward(wasm, x, keep, scale, rows, key);
        const what = `n=${n} rows=${rows} key=${key}`;
        deepEqual([...got.counts], [...want.counts], what);
        assertSameBits(got.y, want.y, what);
      }
    }
  }
});

Deno.test("wasm mask_scale matches across 2^16 index blocks and unaligned rows", () => {
  for (
    const [rows, cols] of [[3, 2 * 65536 + 7], [5, 65535], [2, 65536 + 16]]
  ) {
    const n = rows * cols;
    const x = values(n, cols);
    const keep = Uint32Array.from(
      { length: rows },
      (_, r) => 4194304 * (r + 1),
    );
    const scale = Float32Array.from({ length: rows }, (_, r) => 1 + r / 3);
    for (const key of [0x0000ffff, 0x12345678]) {
      const want = forward(reference, x, keep, scale, rows, key);
      const got = forward(wasm, x, keep, scale, rows, key);
      assertSameBits(got.y, want.y, `rows=${rows} cols=${cols} key=${key}`);
    }
  }
});

Deno.test("wasm mask_scale saturates finite products and keeps non-finite ones", async () => {
  const x = new Float32Array([3e38, -3e38, Infinity, -Infinity, NaN, 1, 0, -0]);
  const xt = wasm.tensor(x, [8]);
  const y = wasm.allocate([8]);
  const keep = wasm.allocate([1], "uint32");
  const scale = wasm.allocate([1]);
  wasm.upload(keep, new Uint32Array([2 ** 24]));
  wasm.upload(scale, new Float32Array([10]));
  wasm.run("mask_scale", {
    x: xt,
    keep,
    scale,
    y,
    rows: 1,
    cols: 8,
    key: 1,
    offset: 0,
  });
  const max = FLOAT32_MAX;
  deepEqual([...(await wasm.read(y))], [
    max,
    -max,
    Infinity,
    -Infinity,
    NaN,
    10,
    0,
    -0,
  ]);
  // Dropped elements are +0 whatever x holds.
  wasm.upload(keep, new Uint32Array([0]));
  wasm.run("mask_scale", {
    x: xt,
    keep,
    scale,
    y,
    rows: 1,
    cols: 8,
    key: 1,
    offset: 0,
  });
  ok(new Uint32Array(wasm.readSync(y).buffer).every((bits) => bits === 0));
  for (const t of [xt, y, keep, scale]) wasm.release(t);
});

Deno.test("wasm mask_scale works in place", () => {
  const x = values(1000, 5);
  const keep = new Uint32Array([9000000, 3000000]);
  const scale = new Float32Array([1.5, 3]);
  const want = forward(reference, x, keep, scale, 2, 77).y;
  const xt = wasm.tensor(x, [2, 500]);
  const keepT = wasm.allocate([2], "uint32");
  const scaleT = wasm.allocate([2]);
  wasm.upload(keepT, keep);
  wasm.upload(scaleT, scale);
  wasm.run("mask_scale", {
    x: xt,
    keep: keepT,
    scale: scaleT,
    y: xt,
    rows: 2,
    cols: 500,
    key: 77,
    offset: 0,
  });
  assertSameBits(wasm.readSync(xt), want, "in place");
  for (const t of [xt, keepT, scaleT]) wasm.release(t);
});

Deno.test("wasm jumpout_params matches the reference bit for bit", () => {
  const rates = [
    0,
    1,
    5033165,
    2 ** 23,
    2 ** 24 - 1,
    2 ** 24,
    2 ** 24 + 1,
    0xffffffff,
  ];
  const counts = [0, 1, 7, 1000, 2 ** 20, 0xffffffff, 3, 12345];
  const rows = rates.length;
  for (const cols of [0, 1, 7, 1000, 2 ** 20, 2 ** 32 + 5, 2 ** 53 - 1]) {
    for (const normalize of [true, false]) {
      for (
        const maxDrop of [
          0,
          2 ** 23,
          2 ** 24,
          2 ** 24 + 5,
        ]
      ) {
        for (
          const power of [
            0,
            0.5,
            0.75,
            1,
            1.7,
            2,
            40,
            1e-300,
          ]
        ) {
          const args = { rows, cols, maxDrop, normalize, power };
          const want = params(reference, rates, counts, args);
          const got = params(wasm, rates, counts, args);
          const what = JSON.stringify(args);
          deepEqual([...got.keep], [...want.keep], what);
          assertSameBits(got.scale, want.scale, what);
        }
      }
    }
  }
});

Deno.test("wasm jumpout_params gives the same scale as ** for every keep", () => {
  // Every threshold 1..2^24 once, for powers without a shortcut in pow.
  const n = 2 ** 24;
  const rate = wasm.allocate([n], "uint32");
  const counts = wasm.allocate([n], "uint32");
  const keep = wasm.allocate([n], "uint32");
  const scale = wasm.allocate([n]);
  wasm.upload(rate, Uint32Array.from({ length: n }, (_, i) => n - 1 - i));
  const f = new Float32Array(1);
  for (const power of [0.25, 0.75, 1.5]) {
    const args = { rows: n, cols: 1, maxDrop: 0, normalize: false, power };
    wasm.run("jumpout_params", { counts, rate, keep, scale, ...args });
    const got = wasm.readSync(scale);
    for (let i = 0; i < n; i++) {
      f[0] = ((i + 1) / n) ** -power;
      if (got[i] !== f[0]) {
        fail(`power ${power}, keep ${i + 1}: ${got[i]} != ${f[0]}`);
      }
    }
  }
  for (const t of [rate, counts, keep, scale]) wasm.release(t);
});

function params(
  backend: Backend,
  rates: number[],
  counts: number[],
  a: {
    rows: number;
    cols: number;
    maxDrop: number;
    normalize: boolean;
    power: number;
  },
): { keep: Uint32Array; scale: Float32Array } {
  const rate = backend.allocate([a.rows], "uint32");
  const count = backend.allocate([a.rows], "uint32");
  const keep = backend.allocate([a.rows], "uint32");
  const scale = backend.allocate([a.rows]);
  backend.upload(rate, Uint32Array.from(rates));
  backend.upload(count, Uint32Array.from(counts));
  backend.run("jumpout_params", { counts: count, rate, keep, scale, ...a });
  const out = {
    keep: backend.readSync!(keep),
    scale: backend.readSync!(scale),
  };
  for (const t of [rate, count, keep, scale]) backend.release(t);
  return out;
}

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
