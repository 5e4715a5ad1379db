/**
 * Rows of `matmul`, each shape with all four transposes, and some with
 * `accumulate` onto a `c` of values. Tolerance: a sum of k products (and `c`)
 * in any order, so within 1e-5 · (|c_ij| +) Σ_p |op(a)_ip · op(b)_pj| (the
 * reference product of |a| and |b|); k = 0 must give exact (+0) zeros, or
 * leave `c` as it was when accumulating.
 */
import { assertSameBits } from "../assert.ts";
import {
  garbage,
  type KernelSpec,
  type Row,
  values,
  withinTerms,
} from "./_spec.ts";

/** `[m, n, k]`: empty axes, vectors, odd sizes, and two large products. */
const SHAPES: [number, number, number][] = [
  [0, 3, 4],
  [3, 0, 4],
  [3, 4, 0],
  [1, 1, 1],
  [1, 33, 17],
  [13, 1, 9],
  [4, 4, 4],
  [5, 7, 3],
  [67, 131, 45],
  [256, 256, 256],
  // The wasm micro-tiles (4 rows by 8 columns): their edges, odd k (its
  // two-step loop) and vectors.
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
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((m) =>
    [1, 4, 7, 8, 9, 17].map((n): [number, number, number] => [
      m,
      n,
      6 + (m % 3),
    ])
  ),
  // Several wasm blocks of k (at most 256 steps each) and of rows (its copy
  // of op(a) holds 65536 values).
  [3, 5, 257],
  [17, 19, 600],
  [9, 13, 1_030],
  [520, 9, 512],
  [300, 3, 270],
  // Smaller versions of the training shapes: a dense layer's forward, its
  // weight and input gradients, convolutions over im2col matrices.
  [32, 100, 78],
  [78, 100, 32],
  [32, 78, 100],
  [32, 10, 256],
  [16, 1_000, 9],
  [5, 230, 10],
  [32, 500, 144],
  // webgpu tiles: 18 x 18 = 324 of them (past a grid row of 256), one-wide
  // edge tiles, a partial step along k, and k = 0 on a whole tile row.
  [1_100, 1_100, 3],
  [65, 129, 17],
  [64, 64, 33],
  [70, 5, 0],
  [9, 17, 0],
  [1, 1, 0],
];

/**
 * The shapes also run with `accumulate`: a tile and its edges, blocks of k
 * (each adds to `c`'s running value on wasm), a convolution's weight gradient
 * and k = 0.
 */
const ACCUMULATE_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [4, 8, 4],
  [5, 9, 3],
  [7, 15, 31],
  [17, 19, 600],
  [520, 9, 512],
  [16, 9, 300],
  [65, 129, 17],
  [9, 17, 0],
];

const terms = withinTerms("matmul", 1e-5, "c");

/** A row of each transpose of one shape. */
function transposes(
  [m, n, k]: [number, number, number],
  accumulate: boolean,
): Row[] {
  return [false, true].flatMap((transA) =>
    [false, true].map((transB): Row => ({
      what: `m=${m} n=${n} k=${k} transA=${transA} transB=${transB}${
        accumulate ? " accumulate" : ""
      }`,
      tensors: {
        a: values(m * k, 12),
        b: values(k * n, 13),
        c: accumulate ? values(m * n, 14) : garbage(m * n),
      },
      scalars: { m, n, k, transA, transB, accumulate },
    }))
  );
}

export const matmul: KernelSpec = {
  rows: () => [
    ...SHAPES.flatMap((s) => transposes(s, false)),
    ...ACCUMULATE_SHAPES.flatMap((s) => transposes(s, true)),
  ],
  check(c, actual, expected, backend) {
    if (c.scalars.k === 0) {
      const before = c.scalars.accumulate
        ? c.tensors.c as Float32Array
        : new Float32Array(actual.c.length);
      assertSameBits(actual.c, before, c.what);
    }
    return terms(c, actual, expected, backend);
  },
};
