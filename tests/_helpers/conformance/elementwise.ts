/**
 * Rows of the element-wise kernels. Tolerances: `relu` and `relu_backward`
 * select or zero values, and `bias_add` adds once (one rounding, as float64's
 * rounded), so they must be bit-identical; `axpby` rounds two float32
 * operations, so within 1e-6 of Σ|terms| (a few ulp); `bias_grad`, a
 * reduction, within 1e-5 · Σ|dy|.
 */
import {
  CHANNEL_SHAPES,
  exact,
  garbage,
  type KernelSpec,
  LENGTHS,
  type Row,
  values,
  withinTerms,
  withSpecials,
} from "./_spec.ts";

function layout(outer: number, channels: number, inner: number): string {
  return `outer=${outer} channels=${channels} inner=${inner}`;
}

export const bias_add: KernelSpec = {
  rows: () => [
    ...CHANNEL_SHAPES.map(([outer, channels, inner]) => ({
      what: layout(outer, channels, inner),
      tensors: {
        y: values(outer * channels * inner, 1),
        bias: values(channels, 2),
      },
      scalars: { outer, channels, inner },
    })),
    {
      // 16781312 elements, one per invocation: 65552 workgroups, a 2-D
      // dispatch grid of 257 rows on webgpu.
      what: `${layout(4097, 4096, 1)} past 65535 workgroups`,
      tensors: { y: values(4097 * 4096, 2), bias: values(4096, 3) },
      scalars: { outer: 4097, channels: 4096, inner: 1 },
    },
  ],
  check: exact("y"),
};

/**
 * Layouts of global average pooling's sums besides the shared ones: one
 * sample, `N·C` planes as channels, from short planes to long ones; on
 * webgpu, 70001 rows of 3 share workgroups 256 at a time (274 workgroups,
 * the last one partly empty), rows of 100 take 16 invocations each, rows of
 * 5000 a whole workgroup.
 */
const PLANE_SHAPES: [number, number, number][] = [
  [1, 7, 3],
  [1, 128, 49],
  [1, 64, 1_000],
  [1, 3, 100_003],
  [1, 70_001, 3],
  [1, 37, 100],
  [1, 3, 5_000],
  [1, 5, 0],
];

export const bias_grad: KernelSpec = {
  rows: () =>
    [...CHANNEL_SHAPES, ...PLANE_SHAPES].map(([outer, channels, inner]) => ({
      what: layout(outer, channels, inner),
      tensors: {
        dy: values(outer * channels * inner, 3),
        db: garbage(channels),
      },
      scalars: { outer, channels, inner },
    })),
  check: withinTerms("bias_grad", 1e-5, "db"),
};

/** Every length up to 70: each tail of the wasm SIMD loops and webgpu vec4s. */
const TAILS = Array.from({ length: 71 }, (_, n) => n).filter((n) =>
  !LENGTHS.includes(n)
);

export const relu: KernelSpec = {
  rows: () => [
    ...LENGTHS.flatMap((n): Row[] => [
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
    ...TAILS.map((n) => ({
      what: `n=${n}`,
      tensors: { x: withSpecials(n, 16), y: garbage(n) },
      scalars: { n },
    })),
  ],
  check: exact("y"),
};

export const relu_backward: KernelSpec = {
  rows: () => [
    ...LENGTHS.flatMap((n): Row[] => [
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
    ...TAILS.map((n): Row => ({
      what: `n=${n} in place`,
      tensors: { x: withSpecials(n, 17), dy: withSpecials(n, 18) },
      scalars: { n },
      same: { dx: "dy" },
    })),
  ],
  check: exact("dx"),
};

export const axpby: KernelSpec = {
  rows: () => [
    ...LENGTHS.flatMap((n) =>
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
    ...TAILS.flatMap((n) =>
      [0, 0.5].map((beta) => ({
        what: `n=${n} alpha=-0.75 beta=${beta}`,
        tensors: { x: values(n, 19), y: garbage(n).fill(beta ? 1.5 : NaN) },
        scalars: { n, alpha: -0.75, beta },
      }))
    ),
  ],
  check: withinTerms("axpby", 1e-6, "y"),
};
