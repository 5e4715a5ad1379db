import { deepEqual, equal, ok } from "node:assert/strict";
import { allReduceMean, reduceRange } from "../src/parallel/all_reduce.ts";

/** Float32 values over many magnitudes and both signs, from a fixed seed. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    out[i] = (next() - 0.5) * 2 ** Math.floor(next() * 40 - 20);
  }
  return out;
}

/** The definition, written out: Σ_k w_k · parts_k[i] in float64, in replica order, rounded once. */
function meanFloat64(
  parts: Float32Array[],
  weights: number[],
  length: number,
): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    let sum = 0;
    for (let k = 0; k < parts.length; k++) sum += weights[k] * parts[k][i];
    out[i] = Math.fround(sum);
  }
  return out;
}

/** Bit patterns, so that -0 and 0 (and NaN payloads) are told apart. */
function bits(a: Float32Array): number[] {
  return [...new Uint32Array(a.buffer, a.byteOffset, a.length)];
}

const LENGTH = 257;

Deno.test("allReduceMean: equals the float64 sum bit for bit for 1, 2, 3 and 5 unequal parts", () => {
  const cases: number[][] = [
    [1],
    [0.75, 0.25],
    [0.4, 0.35, 0.25],
    [3 / 13, 3 / 13, 3 / 13, 2 / 13, 2 / 13],
    [0.1, 0.7, 0.2], // not shard-shaped: only the formula matters
  ];
  for (const weights of cases) {
    const parts = weights.map((_, k) => values(LENGTH, 100 + k));
    const out = new Float32Array(LENGTH);
    allReduceMean(parts, weights, out, 0, LENGTH);
    // Exact: the same float64 operations in the same order, one rounding.
    deepEqual(
      bits(out),
      bits(meanFloat64(parts, weights, LENGTH)),
      `${weights}`,
    );
  }
});

Deno.test("allReduceMean: the check above tells a float32 running sum apart", () => {
  // Guards the test itself: rounding after each term gives other bits somewhere.
  const weights = [0.4, 0.35, 0.25];
  const parts = weights.map((_, k) => values(LENGTH, 100 + k));
  const exact = meanFloat64(parts, weights, LENGTH);
  let differ = 0;
  for (let i = 0; i < LENGTH; i++) {
    let sum = 0;
    for (let k = 0; k < 3; k++) {
      sum = Math.fround(sum + Math.fround(weights[k] * parts[k][i]));
    }
    if (sum !== exact[i]) differ++;
  }
  ok(differ > 0);
});

Deno.test("allReduceMean: two parts equal fround(w0·a + w1·b) bit for bit", () => {
  for (const [w0, w1] of [[0.5, 0.5], [0.75, 0.25], [7 / 13, 6 / 13], [1, 0]]) {
    const a = values(LENGTH, 7);
    const b = values(LENGTH, 8);
    const out = new Float32Array(LENGTH);
    allReduceMean([a, b], [w0, w1], out, 0, LENGTH);
    const want = new Float32Array(LENGTH);
    for (let i = 0; i < LENGTH; i++) {
      want[i] = Math.fround(w0 * a[i] + w1 * b[i]);
    }
    deepEqual(bits(out), bits(want), `${w0}, ${w1}`);
  }
});

Deno.test("allReduceMean: two parts give the bits of three parts with an extra zero-weight zero part", () => {
  // The three-part call takes the general loop; adding 0·0 = +0 changes no
  // sum except -0, and the data has no -0 sums (checked).
  const a = values(LENGTH, 21);
  const b = values(LENGTH, 22);
  const zeros = new Float32Array(LENGTH);
  const two = new Float32Array(LENGTH);
  const three = new Float32Array(LENGTH);
  allReduceMean([a, b], [0.6, 0.4], two, 0, LENGTH);
  allReduceMean([a, b, zeros], [0.6, 0.4, 0], three, 0, LENGTH);
  ok(two.every((v) => !Object.is(v, -0)));
  deepEqual(bits(two), bits(three));
});

Deno.test("allReduceMean: a sub-range writes only [start, end)", () => {
  for (const count of [1, 2, 3, 5]) {
    const weights = Array.from({ length: count }, () => 1 / count);
    const parts = weights.map((_, k) => values(40, 300 + k));
    const out = new Float32Array(40).fill(-7.5);
    allReduceMean(parts, weights, out, 11, 29);
    const want = meanFloat64(parts, weights, 40);
    for (let i = 0; i < 40; i++) {
      if (i >= 11 && i < 29) {
        equal(out[i], want[i], `${count} parts, index ${i}`);
      } else {equal(
          out[i],
          -7.5,
          `${count} parts, index ${i} outside the range`,
        );}
    }
    // An empty range writes nothing.
    const untouched = new Float32Array(40).fill(3);
    allReduceMean(parts, weights, untouched, 20, 20);
    ok(untouched.every((v) => v === 3));
  }
});

Deno.test("allReduceMean: one part with weight 1 is copied exactly (NaN, -0, ±Inf, subnormals)", () => {
  const special = new Float32Array([
    NaN,
    -0,
    0,
    Infinity,
    -Infinity,
    1e-45, // the smallest subnormal
    -1e-45,
    1.1754942e-38, // the largest subnormal
    3.4028235e38,
    -3.4028235e38,
    1 / 3,
  ]);
  const out = new Float32Array(special.length).fill(5);
  allReduceMean([special], [1], out, 0, special.length);
  ok(Number.isNaN(out[0]));
  // Every value but NaN keeps its exact bits.
  deepEqual(bits(out.subarray(1)), bits(special.subarray(1)));
  ok(Object.is(out[1], -0));
  ok(out[5] > 0 && out[5] < 2e-45);
});

Deno.test("allReduceMean: NaN and infinities propagate through a mean of two", () => {
  const a = new Float32Array([NaN, Infinity, Infinity, 1]);
  const b = new Float32Array([1, 1, -Infinity, 3.4028235e38]);
  const out = new Float32Array(4);
  allReduceMean([a, b], [0.5, 0.5], out, 0, 4);
  ok(Number.isNaN(out[0]));
  equal(out[1], Infinity);
  ok(Number.isNaN(out[2]));
  // In float64 the half of the largest float32 plus 0.5 is still finite.
  equal(out[3], Math.fround(0.5 + 0.5 * 3.4028235e38));
});

Deno.test("reduceRange: the replicas' ranges partition [0, length)", () => {
  for (let replicas = 1; replicas <= 9; replicas++) {
    for (const length of [0, 1, 2, 3, 7, 8, 9, 100, 101, 12345]) {
      let next = 0;
      const sizes: number[] = [];
      for (let index = 0; index < replicas; index++) {
        const [start, end] = reduceRange(length, index, replicas);
        const where = `length ${length}, replica ${index} of ${replicas}`;
        equal(start, next, where);
        ok(end >= start, where);
        ok(Number.isInteger(start) && Number.isInteger(end), where);
        sizes.push(end - start);
        next = end;
      }
      equal(next, length, `length ${length}, ${replicas} replicas`);
      ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${length}/${replicas}`);
    }
  }
});

Deno.test("reduceRange and allReduceMean: every replica reducing its range gives the whole mean", () => {
  const weights = [0.3, 0.3, 0.4];
  const parts = weights.map((_, k) => values(LENGTH, 500 + k));
  const out = new Float32Array(LENGTH).fill(NaN);
  for (let index = 0; index < 3; index++) {
    const [start, end] = reduceRange(LENGTH, index, 3);
    allReduceMean(parts, weights, out, start, end);
  }
  deepEqual(bits(out), bits(meanFloat64(parts, weights, LENGTH)));
});
