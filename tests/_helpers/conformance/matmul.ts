/**
 * Conformance cases of `matmul`. Tolerance: a sum of k products in any order,
 * so within 1e-5 · Σ_p |op(a)_ip · op(b)_pj| (the reference product of |a|
 * and |b|); k = 0 must give exact zeros.
 */
import { garbage, type KernelSpec, values, withinTerms } from "./_spec.ts";

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
];

export const matmul: KernelSpec = {
  cases: () =>
    SHAPES.flatMap(([m, n, k]) =>
      [false, true].flatMap((transA) =>
        [false, true].map((transB) => ({
          what: `m=${m} n=${n} k=${k} transA=${transA} transB=${transB}`,
          tensors: {
            a: values(m * k, 12),
            b: values(k * n, 13),
            c: garbage(m * n),
          },
          scalars: { m, n, k, transA, transB },
        }))
      )
    ),
  check: withinTerms("matmul", 1e-5, "c"),
};
