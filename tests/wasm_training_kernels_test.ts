/**
 * The wasm training kernels on the paths of their own that the conformance
 * suite's shapes do not reach: per-channel kernels past one block of the
 * scratch channels (inner = 1), strided gathers and the 2×2 pooling path on
 * wide rows, tiled transposes with ragged edges, sizes beyond 32 bits, and
 * in-place calls. Each output is compared with the reference under the
 * conformance suite's own check (bit-identical, or within its stated multiple
 * of Σ|terms|).
 */
import { createWasmBackend } from "../src/backends/wasm.ts";
import type { ConvGeometry, KernelName, PoolGeometry } from "../mod.ts";
import { type KernelCase, reference, runKernel } from "./_helpers/kernels.ts";
import type { KernelSpec } from "./_helpers/conformance/_spec.ts";
import { garbage, values, withSpecials } from "./_helpers/conformance/_spec.ts";
import * as batchnorm from "./_helpers/conformance/batchnorm.ts";
import * as conv from "./_helpers/conformance/conv.ts";
import * as elementwise from "./_helpers/conformance/elementwise.ts";
import * as pool from "./_helpers/conformance/pool.ts";
import { outputSize } from "../src/backends/kernels.ts";

const wasm = await createWasmBackend();

/** Runs `c` on both backends and applies the kernel's conformance check. */
async function agree(
  kernel: KernelName,
  spec: KernelSpec,
  c: KernelCase,
): Promise<void> {
  const expected = await runKernel(reference, kernel, c);
  const actual = await runKernel(wasm, kernel, c);
  await spec.check(c, actual, expected);
}

/** Dense layouts (inner = 1) wider than one channel block, and a narrow inner. */
const WIDE: [number, number, number][] = [
  [33, 200, 1],
  [5, 65, 1],
  [3, 64, 1],
  [2, 130, 2],
];

Deno.test("wasm per-channel kernels match the reference across channel blocks", async () => {
  for (const [outer, channels, inner] of WIDE) {
    const n = outer * channels * inner;
    const what = `outer=${outer} channels=${channels} inner=${inner}`;
    const scalars = { outer, channels, inner };
    await agree("bias_add", elementwise.bias_add, {
      what,
      tensors: { y: values(n, 1), bias: values(channels, 2) },
      scalars,
    });
    await agree("bias_grad", elementwise.bias_grad, {
      what,
      tensors: { dy: values(n, 3), db: garbage(channels) },
      scalars,
    });
    for (const offset of [0, 100]) {
      await agree("channel_stats", batchnorm.channel_stats, {
        what: `${what} offset=${offset}`,
        tensors: {
          x: values(n, 4).map((v) => v + offset),
          mean: garbage(channels),
          variance: garbage(channels),
        },
        scalars,
      });
    }
    const x = values(n, 5);
    const params = {
      mean: values(channels, 6),
      variance: values(channels, 7).map((v) => v * v + 0.01),
      gamma: values(channels, 8),
      beta: values(channels, 9),
    };
    const forward = {
      what,
      tensors: { x, ...params, y: garbage(n) },
      scalars: { ...scalars, epsilon: 1e-5 },
    };
    await agree("batchnorm_forward", batchnorm.batchnorm_forward, forward);
    await agree("batchnorm_forward", batchnorm.batchnorm_forward, {
      ...forward,
      what: `${what} in place`,
      tensors: { x, ...params },
      same: { y: "x" },
    });
    const stats = await runKernel(reference, "channel_stats", {
      what,
      tensors: { x, mean: garbage(channels), variance: garbage(channels) },
      scalars,
    });
    const backward = {
      what,
      tensors: {
        x,
        dy: values(n, 10),
        mean: stats.mean,
        variance: stats.variance,
        gamma: params.gamma,
        dx: garbage(n),
        dgamma: garbage(channels),
        dbeta: garbage(channels),
      },
      scalars: { ...scalars, epsilon: 1e-5 },
    };
    await agree("batchnorm_backward", batchnorm.batchnorm_backward, backward);
    const { dx: _, ...inPlace } = backward.tensors;
    await agree("batchnorm_backward", batchnorm.batchnorm_backward, {
      ...backward,
      what: `${what} in place`,
      tensors: inPlace,
      same: { dx: "dy" },
    });
  }
});

/** Images and windows that exercise the wasm-only paths of im2col and col2im. */
const CONV: ConvGeometry[] = [
  // Stride 2 on wide rows: the four-at-a-time gather, then its tail.
  conv2d(2, 2, 9, 21, 3, 3, 2, 1),
  conv2d(1, 3, 6, 40, 1, 1, 2, 0),
  conv2d(1, 2, 11, 19, 2, 5, 3, 2),
  // Stride and padding past 2^32: only the middle output row and column see
  // the image (its first row and column).
  conv2d(1, 2, 3, 4, 1, 1, 2 ** 32 + 1, 2 ** 32 + 1),
  // No image rows, a width past 2^32: every entry is padding.
  conv2d(1, 1, 0, 2 ** 40, 1, 1, 2 ** 40, 1),
];

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

Deno.test("wasm im2col and col2im match the reference on strided and huge geometries", async () => {
  for (const g of CONV) {
    const outH = outputSize(g.height, g.kernelH, g.stride, g.padding);
    const outW = outputSize(g.width, g.kernelW, g.stride, g.padding);
    const image = g.batch * g.channels * g.height * g.width;
    const cols = g.channels * g.kernelH * g.kernelW * g.batch * outH * outW;
    const what = JSON.stringify(g);
    await agree("im2col", conv.im2col, {
      what,
      tensors: { x: withSpecials(image, 11), cols: garbage(cols) },
      scalars: { ...g },
    });
    await agree("col2im", conv.col2im, {
      what,
      tensors: { cols: values(cols, 12), x: garbage(image) },
      scalars: { ...g },
    });
  }
});

Deno.test("wasm transpose matches the reference on ragged tiles", async () => {
  for (const [rows, cols] of [[37, 70], [4, 4], [67, 3], [3, 67], [33, 1]]) {
    await agree("transpose", conv.transpose, {
      what: `rows=${rows} cols=${cols}`,
      tensors: { x: withSpecials(rows * cols, 13), y: garbage(rows * cols) },
      scalars: { rows, cols, inner: 1 },
    });
  }
});

/**
 * Pooling geometries of the 2×2 path (rows of 8 to 17), of the four-window
 * path at strides 1 to 3 between clipped border windows, and past 2^32.
 */
const POOL: PoolGeometry[] = [
  { planes: 3, height: 4, width: 8, kernel: 2, stride: 2, padding: 0 },
  { planes: 2, height: 5, width: 17, kernel: 2, stride: 2, padding: 0 },
  { planes: 2, height: 6, width: 10, kernel: 2, stride: 2, padding: 0 },
  { planes: 2, height: 9, width: 13, kernel: 3, stride: 1, padding: 1 },
  { planes: 2, height: 10, width: 23, kernel: 3, stride: 2, padding: 0 },
  { planes: 1, height: 7, width: 30, kernel: 4, stride: 3, padding: 2 },
  {
    planes: 2,
    height: 3,
    width: 2,
    kernel: 1,
    stride: 2 ** 32 + 1,
    padding: 2 ** 32 + 1,
  },
];

Deno.test("wasm max pooling matches the reference with ties, NaN and huge strides", async () => {
  for (const g of POOL) {
    const n = g.planes * g.height * g.width;
    const out = g.planes * outputSize(g.height, g.kernel, g.stride, g.padding) *
      outputSize(g.width, g.kernel, g.stride, g.padding);
    // A 0.5 grid makes ties; NaN lands first and later in some windows.
    const x = values(n, 14).map((v, i) =>
      i % 13 === 0 ? NaN : i % 7 === 2 ? -Infinity : Math.round(v * 2) / 2
    );
    const what = JSON.stringify(g);
    await agree("maxpool_forward", pool.maxpool_forward, {
      what,
      tensors: {
        x,
        y: garbage(out),
        argmax: new Uint32Array(out).fill(0xffffffff),
      },
      scalars: { ...g },
    });
    const forward = await runKernel(reference, "maxpool_forward", {
      what,
      tensors: { x, y: garbage(out), argmax: new Uint32Array(out) },
      scalars: { ...g },
    });
    await agree("maxpool_backward", pool.maxpool_backward, {
      what,
      tensors: {
        dy: values(out, 15),
        argmax: forward.argmax,
        dx: garbage(n),
      },
      scalars: { ...g },
    });
  }
});

Deno.test("wasm element-wise kernels match the reference on every tail length", async () => {
  for (let n = 0; n <= 70; n++) {
    await agree("relu", elementwise.relu, {
      what: `n=${n}`,
      tensors: { x: withSpecials(n, 16), y: garbage(n) },
      scalars: { n },
    });
    await agree("relu_backward", elementwise.relu_backward, {
      what: `n=${n} in place`,
      tensors: { x: withSpecials(n, 17), dy: withSpecials(n, 18) },
      scalars: { n },
      same: { dx: "dy" },
    });
    for (const beta of [0, 0.5]) {
      await agree("axpby", elementwise.axpby, {
        what: `n=${n} beta=${beta}`,
        tensors: { x: values(n, 19), y: garbage(n).fill(beta ? 1.5 : NaN) },
        scalars: { n, alpha: -0.75, beta },
      });
    }
  }
});
