/**
 * Rows of the pooling kernels. Tolerances: `maxpool_forward`
 * selects values, so its maxima and argmax indices must be bit-identical (ties
 * included); `maxpool_backward`, `avgpool_forward` and `avgpool_backward` sum,
 * so within 1e-5 of Σ|terms|; `row_broadcast` is one product, within 1e-6.
 */
import { outputSize, type PoolGeometry } from "../../../mod.ts";
import { reference } from "../kernels.ts";
import {
  exact,
  garbage,
  type KernelSpec,
  skipWideImages,
  values,
  withinTerms,
} from "./_spec.ts";

/**
 * Windows 2/2, 3/2 padded, 3/1 padded, on even, odd and empty planes; the
 * wasm 2×2 path (rows of 8 to 17) and its four-window path at strides 1 to 3
 * between clipped border windows; windows wholly in the padding (padding >=
 * kernel: they see no cell, give -Inf at index 0 and send their gradient to
 * cell 0); and strides and padding past 2^32.
 */
const GEOMETRIES: PoolGeometry[] = [
  [0, 4, 4, 2, 2, 0],
  [3, 0, 4, 2, 2, 0],
  [1, 1, 1, 1, 1, 0],
  [6, 8, 8, 2, 2, 0],
  [5, 7, 9, 2, 2, 0],
  [4, 9, 7, 3, 2, 1],
  [3, 8, 8, 3, 2, 1],
  [2, 6, 5, 3, 1, 1],
  [16, 15, 15, 3, 2, 1],
  [64, 28, 28, 2, 2, 0],
  [3, 4, 8, 2, 2, 0],
  [2, 5, 17, 2, 2, 0],
  [2, 6, 10, 2, 2, 0],
  [2, 9, 13, 3, 1, 1],
  [2, 10, 23, 3, 2, 0],
  [1, 7, 30, 4, 3, 2],
  [3, 4, 5, 2, 1, 2],
  [2, 1, 1, 1, 1, 3],
  [2, 5, 3, 2, 3, 2],
  [2, 3, 2, 1, 2 ** 32 + 1, 2 ** 32 + 1],
].map(([planes, height, width, kernel, stride, padding]) => ({
  planes,
  height,
  width,
  kernel,
  stride,
  padding,
}));

function describe(g: PoolGeometry): string {
  return `planes=${g.planes} ${g.height}x${g.width} kernel=${g.kernel} ` +
    `stride=${g.stride} padding=${g.padding}`;
}

function outSize(g: PoolGeometry): number {
  return g.planes * outputSize(g.height, g.kernel, g.stride, g.padding) *
    outputSize(g.width, g.kernel, g.stride, g.padding);
}

/**
 * Values on a 0.5 grid (many ties), some NaN (never replaced, never a
 * replacement, first in some windows) and -∞, and a first plane all -∞.
 */
function poolInput(g: PoolGeometry): Float32Array {
  const x = values(g.planes * g.height * g.width, 25)
    .map((v, i) =>
      i % 13 === 0 || i % 13 === 5
        ? NaN
        : i % 11 === 3 || i % 7 === 2
        ? -Infinity
        : Math.round(v * 2) / 2
    );
  if (g.planes > 1) x.fill(-Infinity, 0, g.height * g.width);
  return x;
}

export const maxpool_forward: KernelSpec = {
  rows: () =>
    GEOMETRIES.map((g) => ({
      what: describe(g),
      tensors: {
        x: poolInput(g),
        y: garbage(outSize(g)),
        argmax: new Uint32Array(outSize(g)).fill(0xffffffff),
      },
      scalars: { ...g },
      skip: skipWideImages(g),
    })),
  check: exact("y", "argmax"),
};

export const maxpool_backward: KernelSpec = {
  rows: () =>
    GEOMETRIES.map((g) => {
      // Argmax indices as the forward makes them, on the reference.
      const x = reference.tensor(poolInput(g), [g.planes * g.height * g.width]);
      const y = reference.allocate([outSize(g)]);
      const argmax = reference.allocate([outSize(g)], "uint32");
      reference.run("maxpool_forward", { x, y, argmax, ...g });
      const indices = reference.readSync(argmax);
      for (const t of [x, y, argmax]) reference.release(t);
      return {
        what: describe(g),
        tensors: {
          dy: values(outSize(g), 26),
          argmax: indices,
          dx: garbage(g.planes * g.height * g.width),
        },
        scalars: { ...g },
        skip: skipWideImages(g),
      };
    }),
  check: withinTerms("maxpool_backward", 1e-5, "dx"),
};

/**
 * The max pooling geometries, then: windows overlapping at stride 1 (the
 * wasm four-window path at kernels 3 to 5) and 2, strides past the kernel
 * (cells in no window), windows larger than the padded image (no output, a
 * zero gradient), an empty image whose padding still makes windows (of
 * zeros); rows longer than the wasm scratch row of sums (69,632 floats:
 * forward over the image's width, backward over the outputs'); and large
 * planes past 256 webgpu workgroups (its 2-D grid) on the wasm 2×2, strided
 * and overlapping paths.
 */
const AVG_GEOMETRIES: PoolGeometry[] = [
  ...GEOMETRIES,
  ...[
    [3, 11, 12, 4, 1, 0],
    [2, 10, 23, 5, 2, 2],
    [2, 8, 9, 3, 1, 0],
    [2, 10, 23, 2, 3, 0],
    [3, 13, 17, 1, 3, 0],
    [2, 9, 19, 3, 5, 1],
    [2, 3, 4, 7, 1, 1],
    [2, 3, 4, 6, 2, 1],
    [2, 0, 3, 1, 1, 1],
    [1, 3, 70_001, 3, 2, 1],
    [1, 4, 70_003, 3, 1, 1],
    [32, 96, 98, 2, 2, 0],
    [16, 130, 130, 3, 2, 1],
    [4, 140, 150, 3, 1, 1],
  ].map(([planes, height, width, kernel, stride, padding]) => ({
    planes,
    height,
    width,
    kernel,
    stride,
    padding,
  })),
];

/** A 3×3 plane of 1 to 9 and a 2×4 one, for the rows worked by hand. */
const NINE = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
const EIGHT = new Float32Array([1, 5, 2, 0, 3, 4, 8, 1]);

export const avgpool_forward: KernelSpec = {
  rows: () => [
    ...AVG_GEOMETRIES.map((g) => ({
      what: describe(g),
      tensors: {
        x: values(g.planes * g.height * g.width, 29),
        y: garbage(outSize(g)),
      },
      scalars: { ...g },
      skip: skipWideImages(g),
    })),
    {
      // Padding cells count in the divisor: a corner window holds one cell.
      what: "by hand: 3x3 plane, kernel=2 stride=2 padding=1",
      tensors: { x: NINE, y: garbage(4) },
      scalars: {
        planes: 1,
        height: 3,
        width: 3,
        kernel: 2,
        stride: 2,
        padding: 1,
      },
      expect: { y: new Float32Array([0.25, 1.25, 2.75, 7]) },
    },
    {
      // Windows rows {0}, {0, 1}, {1, 2}, {2}, likewise columns.
      what: "by hand: 3x3 plane, kernel=2 stride=1 padding=1",
      tensors: { x: NINE, y: garbage(16) },
      scalars: {
        planes: 1,
        height: 3,
        width: 3,
        kernel: 2,
        stride: 1,
        padding: 1,
      },
      expect: {
        y: new Float32Array([
          ...[0.25, 0.75, 1.25, 0.75],
          ...[1.25, 3, 4, 2.25],
          ...[2.75, 6, 7, 3.75],
          ...[1.75, 3.75, 4.25, 2.25],
        ]),
      },
    },
    {
      what: "by hand: 2x4 plane, kernel=2 stride=2",
      tensors: { x: EIGHT, y: garbage(2) },
      scalars: {
        planes: 1,
        height: 2,
        width: 4,
        kernel: 2,
        stride: 2,
        padding: 0,
      },
      expect: { y: new Float32Array([3.25, 2.75]) },
    },
  ],
  check: withinTerms("avgpool_forward", 1e-5, "y"),
};

export const avgpool_backward: KernelSpec = {
  rows: () => [
    ...AVG_GEOMETRIES.map((g) => ({
      what: describe(g),
      tensors: {
        dy: values(outSize(g), 30),
        dx: garbage(g.planes * g.height * g.width),
      },
      scalars: { ...g },
      skip: skipWideImages(g),
    })),
    {
      // dy / 4 is 1 to 16 row-major; each cell sums a 2×2 block of it.
      what: "by hand: 3x3 plane, kernel=2 stride=1 padding=1",
      tensors: {
        dy: new Float32Array(16).map((_, i) => 4 * (i + 1)),
        dx: garbage(9),
      },
      scalars: {
        planes: 1,
        height: 3,
        width: 3,
        kernel: 2,
        stride: 1,
        padding: 1,
      },
      expect: { dx: new Float32Array([14, 18, 22, 30, 34, 38, 46, 50, 54]) },
    },
    {
      // Cells 2·ox and 2·ox + 1 of both rows share dy[ox] / 4.
      what: "by hand: 2x4 plane, kernel=2 stride=2",
      tensors: { dy: new Float32Array([4, 8]), dx: garbage(8) },
      scalars: {
        planes: 1,
        height: 2,
        width: 4,
        kernel: 2,
        stride: 2,
        padding: 0,
      },
      expect: { dx: new Float32Array([1, 1, 2, 2, 1, 1, 2, 2]) },
    },
    {
      // Stride 3 past kernel 2: columns 2 and 5 and row 2 are in no window.
      what: "by hand: 3x6 plane, kernel=2 stride=3",
      tensors: { dy: new Float32Array([4, -8]), dx: garbage(18) },
      scalars: {
        planes: 1,
        height: 3,
        width: 6,
        kernel: 2,
        stride: 3,
        padding: 0,
      },
      expect: {
        dx: new Float32Array([
          ...[1, 1, 0, -2, -2, 0],
          ...[1, 1, 0, -2, -2, 0],
          ...[0, 0, 0, 0, 0, 0],
        ]),
      },
    },
  ],
  check: withinTerms("avgpool_backward", 1e-5, "dx"),
};

/** `[rows, cols]`: empty, single, odd, and long rows. */
const ROWS: [number, number][] = [
  [0, 5],
  [3, 0],
  [1, 1],
  [7, 3],
  [128, 49],
  [64, 1_000],
  [3, 100_003],
];

export const row_broadcast: KernelSpec = {
  rows: () =>
    ROWS.flatMap(([rows, cols]) =>
      [1 / Math.max(cols, 1), -0.37].map((alpha) => ({
        what: `rows=${rows} cols=${cols} alpha=${alpha}`,
        tensors: { dy: values(rows, 28), dx: garbage(rows * cols) },
        scalars: { rows, cols, alpha },
      }))
    ),
  check: withinTerms("row_broadcast", 1e-6, "dx"),
};
