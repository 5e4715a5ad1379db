/**
 * Conformance cases of `im2col`, `col2im` and `transpose`. Tolerances:
 * `im2col` and `transpose` only move values, so they must be bit-identical;
 * `col2im` sums the overlapping taps, so within 1e-5 of Σ|cols| per pixel.
 */
import { type ConvGeometry, outputSize } from "../../../mod.ts";
import {
  exact,
  garbage,
  type KernelSpec,
  values,
  withinTerms,
  withSpecials,
} from "./_spec.ts";

/** Square kernels 1, 3, 5 × strides 1, 2 × paddings 0, 1, 2, then edge cases. */
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
  cases: () =>
    geometries().map((g) => ({
      what: describe(g),
      tensors: {
        x: withSpecials(sizes(g).image, 14),
        cols: garbage(sizes(g).cols),
      },
      scalars: { ...g },
    })),
  check: exact("cols"),
};

export const col2im: KernelSpec = {
  cases: () =>
    geometries().map((g) => ({
      what: describe(g),
      tensors: { cols: values(sizes(g).cols, 15), x: garbage(sizes(g).image) },
      scalars: { ...g },
    })),
  check: withinTerms("col2im", 1e-5, "x"),
};

/** `[rows, cols, inner]`: empty axes, plain matrices, and channel blocks. */
const TRANSPOSES: [number, number, number][] = [
  [0, 3, 2],
  [3, 0, 2],
  [3, 2, 0],
  [1, 1, 1],
  [5, 7, 1],
  [13, 17, 3],
  [64, 49, 8],
  [256, 256, 1],
];

export const transpose: KernelSpec = {
  cases: () =>
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
