/**
 * The wasm `matmul` against a float64 triple loop, on the shapes that reach
 * its own paths: micro-tile edges (m mod 4, n mod 8), odd k (its two-step
 * loop), several blocks of k (at most 256 steps each) and of rows (its copy of
 * op(a) holds 65536 values), vectors, empty axes, and smaller versions of the
 * training shapes, each with all four transposes. Tolerance: a sum of k
 * float32 products in any blocked order, so
 * |c - exact| <= 1e-5 · Σ_p |op(a)_ip| · |op(b)_pj|; k = 0 gives exact zeros.
 */
import { equal, ok } from "node:assert/strict";
import { createWasmBackend } from "../src/backends/wasm.ts";
import { matmul64 } from "./_helpers/float64.ts";
import { garbage, values } from "./_helpers/conformance/_spec.ts";

const wasm = await createWasmBackend();

/** The relative tolerance, in units of Σ|terms|. */
const TOL = 1e-5;

/** Runs the wasm matmul on fresh tensors; `c` starts as NaN. */
function run(
  a: Float32Array,
  b: Float32Array,
  [m, n, k]: number[],
  transA: boolean,
  transB: boolean,
): Float32Array {
  const at = wasm.tensor(a, [a.length]);
  const bt = wasm.tensor(b, [b.length]);
  const ct = wasm.tensor(garbage(m * n), [m * n]);
  try {
    wasm.run("matmul", { a: at, b: bt, c: ct, m, n, k, transA, transB });
    return wasm.readSync(ct);
  } finally {
    for (const t of [at, bt, ct]) wasm.release(t);
  }
}

/** Checks one product against float64, every element within TOL · Σ|terms|. */
function check(shape: number[], transA: boolean, transB: boolean): void {
  const [m, n, k] = shape;
  const what = `m=${m} n=${n} k=${k} transA=${transA} transB=${transB}`;
  const a = values(m * k, m + 3 * k + 1);
  const b = values(k * n, n + 5 * k + 2);
  const got = run(a, b, shape, transA, transB);
  const exact = matmul64(a, b, shape, transA, transB);
  const terms = matmul64(
    a.map(Math.abs),
    b.map(Math.abs),
    shape,
    transA,
    transB,
  );
  equal(got.length, m * n, what);
  for (let i = 0; i < m * n; i++) {
    const err = Math.abs(got[i] - exact[i]);
    ok(
      err <= TOL * terms[i],
      `${what}: c[${i}] = ${got[i]}, expected ${exact[i]} within ${
        TOL * terms[i]
      }`,
    );
  }
}

/** Runs `check` on each shape with all four transposes. */
function checkAll(shapes: number[][]): void {
  for (const shape of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) check(shape, transA, transB);
    }
  }
}

Deno.test("wasm matmul: micro-tile edges, odd k and vectors", () => {
  const shapes: number[][] = [
    [1, 1, 1],
    [1, 1, 7],
    [1, 9, 5],
    [9, 1, 5],
    [4, 8, 4],
    [4, 8, 1],
    [3, 7, 2],
    [5, 9, 3],
    [8, 16, 13],
    [6, 10, 11],
    [7, 15, 31],
    [12, 24, 64],
  ];
  for (let m = 1; m <= 9; m++) {
    for (const n of [1, 4, 7, 8, 9, 17]) shapes.push([m, n, 6 + (m % 3)]);
  }
  checkAll(shapes);
});

Deno.test("wasm matmul: several blocks of k and of rows", () => {
  checkAll([
    [3, 5, 257], // two blocks of k, 129 and 128 steps
    [17, 19, 600], // three blocks of 200
    [9, 13, 1030], // five blocks, the last one shorter
    [520, 9, 512], // blocks of 256 steps: three blocks of rows
    [300, 3, 270], // blocks of 136 and 134 steps: one block of rows
  ]);
});

Deno.test("wasm matmul: small versions of the training shapes", () => {
  checkAll([
    [32, 100, 78], // dense forward (x · W)
    [78, 100, 32], // its weight gradient (x^T · dy)
    [32, 78, 100], // its input gradient (dy · W^T)
    [32, 10, 256],
    [16, 1000, 9], // a convolution over an im2col matrix
    [5, 230, 10],
    [32, 500, 144],
  ]);
});

Deno.test("wasm matmul: k = 0 writes zeros, and empty m or n writes nothing", () => {
  for (const [m, n] of [[3, 5], [1, 1], [9, 17]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const c = run(
          new Float32Array(0),
          new Float32Array(0),
          [m, n, 0],
          transA,
          transB,
        );
        ok(c.every((v) => Object.is(v, 0)), `m=${m} n=${n}: ${c}`);
      }
    }
  }
  equal(
    run(new Float32Array(0), values(12, 1), [0, 3, 4], false, false).length,
    0,
  );
  equal(
    run(values(12, 1), new Float32Array(0), [3, 0, 4], true, true).length,
    0,
  );
});

Deno.test("wasm matmul leaves every other tensor alone", () => {
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
        wasm.run("matmul", { a, b, c, m, n, k, transA, transB });
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
