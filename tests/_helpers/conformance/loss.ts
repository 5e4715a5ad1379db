/**
 * Rows of `softmax_cross_entropy`. Tolerances: the count of
 * correct rows must be identical (ties go to the first maximum); `dlogits`
 * within 1e-5 of (softmax + onehot) / rows, the scale of its two terms; the
 * mean loss within 1e-5 of the mean of |max| + |x[label]| + log Σ exp + 1 (the
 * 1 covers a log's absolute error near 1, which WGSL allows to be 2^-21).
 */
import { hash32 } from "../../../src/random.ts";
import { assertWithin, type KernelCase } from "../kernels.ts";
import { garbage, type KernelSpec, values } from "./_spec.ts";

/** Plain logits, logits on an integer grid (ties), and logits of ±1e4. */
const KINDS: [string, (v: number) => number][] = [
  ["plain", (v) => v],
  ["ties", (v) => Math.round(v)],
  ["huge", (v) => Math.round(v * 2) * 5e3],
];

/** Labels: a row's first maximum, its last maximum, or any column. */
function labelsFor(logits: Float32Array, rows: number, cols: number) {
  return Uint32Array.from({ length: rows }, (_, r) => {
    const row = [...logits.subarray(r * cols, (r + 1) * cols)];
    const max = Math.max(...row);
    if (r % 3 === 0) return row.indexOf(max);
    if (r % 3 === 1) return row.lastIndexOf(max);
    return hash32(r) % cols;
  });
}

/**
 * `[rows, cols]`: no rows, one class, one row, short and long rows; on
 * webgpu, several rows per invocation (600 rows) and rows longer than a
 * workgroup.
 */
const SHAPES = [
  [0, 10],
  [0, 4],
  [1, 1],
  [1, 10],
  [128, 1],
  [128, 10],
  [600, 10],
  [33, 1_000],
  [3, 1_000],
];

export const softmax_cross_entropy: KernelSpec = {
  rows: () =>
    SHAPES.flatMap((
      [rows, cols],
    ) =>
      KINDS.map(([kind, f]) => {
        const logits = values(rows * cols, 29).map(f);
        return {
          what: `rows=${rows} cols=${cols} ${kind}`,
          tensors: {
            logits,
            labels: labelsFor(logits, rows, cols),
            dlogits: garbage(rows * cols),
            result: garbage(2),
          },
          scalars: { rows, cols },
        };
      })
    ),
  check(c, actual, expected) {
    const { rows, cols } = c.scalars as Record<string, number>;
    const labels = c.tensors.labels as Uint32Array;
    const dBound = Float64Array.from(expected.dlogits, (e, i) => {
      const onehot = labels[Math.floor(i / cols)] === i % cols ? 1 : 0;
      return Math.abs(e) + 2 * onehot / rows;
    });
    assertWithin(
      actual.dlogits,
      expected.dlogits,
      dBound,
      1e-5,
      `${c.what}: dlogits`,
    );
    assertWithin(
      actual.result.subarray(0, 1),
      expected.result.subarray(0, 1),
      [lossTerms(c)],
      1e-5,
      `${c.what}: mean loss`,
    );
    assertWithin(
      actual.result.subarray(1),
      expected.result.subarray(1),
      [0],
      0,
      `${c.what}: correct rows`,
    );
  },
};

/** The mean over rows of |max| + |x[label]| + log Σ exp(x - max) + 1. */
function lossTerms(c: KernelCase): number {
  const { rows, cols } = c.scalars as Record<string, number>;
  const x = c.tensors.logits as Float32Array;
  const labels = c.tensors.labels as Uint32Array;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    total += Math.abs(max) + Math.abs(row[labels[r]]) + lse + 1;
  }
  return rows === 0 ? 0 : total / rows;
}
