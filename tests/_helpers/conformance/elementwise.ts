/**
 * Conformance cases of the element-wise kernels. Tolerances: `relu` and
 * `relu_backward` select or zero values, so they must be bit-identical; the
 * others round one or two float32 operations, so they must be within 1e-6 of
 * Σ|terms| (a few ulp), except `bias_grad`, a reduction: 1e-5 · Σ|dy|.
 */
import type { KernelCase } from "../kernels.ts";
import {
  CHANNEL_SHAPES,
  exact,
  garbage,
  type KernelSpec,
  LENGTHS,
  values,
  withinTerms,
  withSpecials,
} from "./_spec.ts";

export const bias_add: KernelSpec = {
  cases: () =>
    CHANNEL_SHAPES.map(([outer, channels, inner]) => ({
      what: `outer=${outer} channels=${channels} inner=${inner}`,
      tensors: {
        y: values(outer * channels * inner, 1),
        bias: values(channels, 2),
      },
      scalars: { outer, channels, inner },
    })),
  check: withinTerms("bias_add", 1e-6, "y"),
};

/**
 * Layouts of global average pooling's sums besides the shared ones: one
 * sample, `N·C` planes as channels, from short planes to long ones.
 */
const PLANE_SHAPES: [number, number, number][] = [
  [1, 7, 3],
  [1, 128, 49],
  [1, 64, 1_000],
  [1, 3, 100_003],
];

export const bias_grad: KernelSpec = {
  cases: () =>
    [...CHANNEL_SHAPES, ...PLANE_SHAPES].map(([outer, channels, inner]) => ({
      what: `outer=${outer} channels=${channels} inner=${inner}`,
      tensors: {
        dy: values(outer * channels * inner, 3),
        db: garbage(channels),
      },
      scalars: { outer, channels, inner },
    })),
  check: withinTerms("bias_grad", 1e-5, "db"),
};

export const relu: KernelSpec = {
  cases: () =>
    LENGTHS.flatMap((n): KernelCase[] => [
      {
        what: `n=${n}`,
        tensors: { x: withSpecials(n, 4), y: garbage(n) },
        scalars: { n },
      },
      {
        what: `n=${n} in place`,
        tensors: { x: withSpecials(n, 5) },
        scalars: { n },
        same: { y: "x" },
      },
    ]),
  check: exact("x", "y"),
};

export const relu_backward: KernelSpec = {
  cases: () =>
    LENGTHS.flatMap((n): KernelCase[] => [
      {
        what: `n=${n}`,
        tensors: {
          x: withSpecials(n, 6),
          dy: withSpecials(n, 7),
          dx: garbage(n),
        },
        scalars: { n },
      },
      {
        what: `n=${n} in place`,
        tensors: { x: withSpecials(n, 8), dy: withSpecials(n, 9) },
        scalars: { n },
        same: { dx: "dy" },
      },
    ]),
  check: exact("dx", "dy"),
};

export const axpby: KernelSpec = {
  cases: () =>
    LENGTHS.flatMap((n) =>
      [[1.5, -0.5], [-0.3, 1], [0, 1], [2, 0], [0.1, 0]].map((
        [alpha, beta],
      ) => ({
        what: `n=${n} alpha=${alpha} beta=${beta}`,
        // With beta = 0 the old y must not be read: NaN there must not leak.
        tensors: {
          x: values(n, 10),
          y: beta === 0 ? garbage(n) : values(n, 11),
        },
        scalars: { n, alpha, beta },
      }))
    ),
  check: withinTerms("axpby", 1e-6, "y"),
};
