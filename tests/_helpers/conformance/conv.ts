/**
 * Rows of `im2col`, `col2im` and `transpose`. Tolerances: `im2col` and
 * `transpose` only move values, so they must be bit-identical; `col2im` sums
 * the overlapping taps, so within 1e-5 of Σ|cols| per pixel.
 */
import { type ConvGeometry, outputSize } from "../../../mod.ts";
import {
  exact,
  garbage,
  type KernelSpec,
  type Row,
  skipWideImages,
  values,
  withinTerms,
  withSpecials,
} from "./_spec.ts";

/** A geometry from its eight numbers, in `ConvGeometry`'s order. */
function conv2d(
  batch: number,
  channels: number,
  height: number,
  width: number,
  kernelH: number,
  kernelW: number,
  stride: number,
  padding: number,
): ConvGeometry {
  return {
    batch,
    channels,
    height,
    width,
    kernelH,
    kernelW,
    stride,
    padding,
  };
}

/**
 * Square kernels 1, 3, 5 × strides 1, 2 × paddings 0, 1, 2, then edge cases,
 * the wasm gathers, windows that start in the padding, and strides, padding
 * and widths past 2^32 (which webgpu refuses).
 */
function geometries(): ConvGeometry[] {
  const out: ConvGeometry[] = [];
  for (const kernel of [1, 3, 5]) {
    for (const stride of [1, 2]) {
      for (const padding of [0, 1, 2]) {
        out.push({
          batch: 2,
          channels: 3,
          height: 7,
          width: 6,
          kernelH: kernel,
          kernelW: kernel,
          stride,
          padding,
        });
      }
    }
  }
  const g = {
    batch: 2,
    channels: 3,
    height: 5,
    width: 5,
    stride: 1,
    padding: 0,
  };
  return out.concat([
    { ...g, kernelH: 3, kernelW: 1, padding: 1 },
    { ...g, kernelH: 2, kernelW: 4, stride: 3 },
    { ...g, batch: 0, kernelH: 3, kernelW: 3 },
    { ...g, channels: 0, kernelH: 3, kernelW: 3 },
    { ...g, height: 2, kernelH: 5, kernelW: 5 }, // the window does not fit
    {
      ...g,
      batch: 1,
      channels: 1,
      height: 1,
      width: 1,
      kernelH: 1,
      kernelW: 1,
    },
    {
      ...g,
      batch: 4,
      channels: 8,
      height: 28,
      width: 28,
      kernelH: 3,
      kernelW: 3,
      padding: 1,
    },
    // Stride 2 on wide rows: the wasm four-at-a-time gather, then its tail.
    conv2d(2, 2, 9, 21, 3, 3, 2, 1),
    conv2d(1, 3, 6, 40, 1, 1, 2, 0),
    conv2d(1, 2, 11, 19, 2, 5, 3, 2),
    // Strides past the kernel (cells no window reads), a kernel larger than
    // the image, and windows that start in the padding.
    conv2d(2, 3, 7, 6, 2, 2, 3, 0),
    conv2d(1, 2, 3, 3, 5, 4, 1, 2),
    conv2d(2, 1, 5, 5, 3, 3, 2, 4),
    // Stride and padding past 2^32: only the middle output row and column
    // see the image (its first row and column).
    conv2d(1, 2, 3, 4, 1, 1, 2 ** 32 + 1, 2 ** 32 + 1),
    // No image rows, a width past 2^32: every entry is padding.
    conv2d(1, 1, 0, 2 ** 40, 1, 1, 2 ** 40, 1),
  ]);
}

function describe(g: ConvGeometry): string {
  return `batch=${g.batch} channels=${g.channels} ${g.height}x${g.width} ` +
    `kernel=${g.kernelH}x${g.kernelW} stride=${g.stride} padding=${g.padding}`;
}

function sizes(g: ConvGeometry): { image: number; cols: number } {
  const outH = outputSize(g.height, g.kernelH, g.stride, g.padding);
  const outW = outputSize(g.width, g.kernelW, g.stride, g.padding);
  return {
    image: g.batch * g.channels * g.height * g.width,
    cols: g.channels * g.kernelH * g.kernelW * g.batch * outH * outW,
  };
}

export const im2col: KernelSpec = {
  rows: () =>
    geometries().map((g) => ({
      what: describe(g),
      tensors: {
        x: withSpecials(sizes(g).image, 14),
        cols: garbage(sizes(g).cols),
      },
      scalars: { ...g },
      skip: skipWideImages(g),
    })),
  check: exact("cols"),
};

export const col2im: KernelSpec = {
  rows: () =>
    geometries().map((g) => ({
      what: describe(g),
      tensors: { cols: values(sizes(g).cols, 15), x: garbage(sizes(g).image) },
      scalars: { ...g },
      skip: skipWideImages(g),
    })),
  check: withinTerms("col2im", 1e-5, "x"),
};

/**
 * `[rows, cols, inner]`: empty axes, plain matrices, channel blocks, the
 * wasm tiles' ragged edges, and one element per invocation past 65535
 * workgroups (16777207 elements: a webgpu 2-D grid of 257 rows).
 */
const TRANSPOSES: [number, number, number][] = [
  [0, 3, 2],
  [3, 0, 2],
  [3, 2, 0],
  [1, 1, 1],
  [5, 7, 1],
  [13, 17, 3],
  [64, 49, 8],
  [256, 256, 1],
  [37, 70, 1],
  [4, 4, 1],
  [67, 3, 1],
  [3, 67, 1],
  [33, 1, 1],
  [4_099, 4_093, 1],
];

export const transpose: KernelSpec = {
  rows: () =>
    TRANSPOSES.map(([rows, cols, inner]) => ({
      what: `rows=${rows} cols=${cols} inner=${inner}`,
      tensors: {
        x: withSpecials(rows * cols * inner, 16),
        y: garbage(rows * cols * inner),
      },
      scalars: { rows, cols, inner },
    })),
  check: exact("y"),
};

/**
 * Same-size, stride-1 geometries (the wasm masked runs): planes that are not
 * whole panels, so that panels and blocks of k cross from one sample to the
 * next; 1×1 images (a sample shorter than four positions); more than one
 * block of k either way; and a kernel of 5.
 */
const SAME_SIZE: ConvGeometry[] = [
  conv2d(4, 3, 7, 7, 3, 3, 1, 1),
  conv2d(3, 2, 5, 6, 3, 3, 1, 1),
  conv2d(5, 2, 1, 1, 3, 3, 1, 1),
  conv2d(3, 40, 13, 13, 3, 3, 1, 1),
  conv2d(1, 4, 28, 28, 3, 3, 1, 1),
  conv2d(2, 3, 9, 8, 5, 5, 1, 2),
  conv2d(3, 5, 4, 4, 1, 1, 1, 0),
];

/** Rows of `m`, each transpose and flip, overwriting and accumulating. */
function unfoldedProducts(g: ConvGeometry, m: number): Row[] {
  const image = sizes(g).image;
  const depth = g.channels * g.kernelH * g.kernelW;
  const positions = g.batch *
    outputSize(g.height, g.kernelH, g.stride, g.padding) *
    outputSize(g.width, g.kernelW, g.stride, g.padding);
  return [false, true].flatMap((transCols) =>
    [false, true].flatMap((flip) =>
      [false, true].map((accumulate): Row => {
        const [inner, outer] = transCols
          ? [positions, depth]
          : [depth, positions];
        return {
          what: `${describe(g)} m=${m}${transCols ? " transCols" : ""}${
            flip ? " flip" : ""
          }${accumulate ? " accumulate" : ""}`,
          tensors: {
            a: values(m * inner, 17),
            x: withSpecials(image, 18),
            c: accumulate ? values(m * outer, 19) : garbage(m * outer),
          },
          scalars: { m, ...g, transCols, flip, accumulate },
          skip: skipWideImages(g),
        };
      })
    )
  );
}

export const matmul_im2col: KernelSpec = {
  rows: () => [
    ...geometries().flatMap((g) => unfoldedProducts(g, 3)),
    ...SAME_SIZE.flatMap((g) =>
      [1, 5, 16].flatMap((m) => unfoldedProducts(g, m))
    ),
    ...unfoldedProducts(conv2d(2, 3, 5, 5, 3, 3, 1, 1), 0),
  ],
  check: withinTerms("matmul_im2col", 1e-5, "c"),
};
