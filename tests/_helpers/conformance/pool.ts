/**
 * Rows of the pooling kernels. Tolerances: `maxpool_forward`
 * selects values, so its maxima and argmax indices must be bit-identical (ties
 * included); `maxpool_backward` sums, so within 1e-5 of Σ|terms|;
 * `row_broadcast` is one product, within 1e-6.
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
