/**
 * The reference training kernels against facts that do not come from them:
 * hand-computed cases, float64 re-derivations, adjointness, and finite
 * differences. Hand cases use values whose results are exact in float32, so
 * they compare bit for bit; other tolerances are stated where they are used.
 * (The Jumpout kernels' hand-worked cases are `expect` rows of the
 * conformance table, `_helpers/conformance/jumpout.ts`, which every backend
 * runs, the reference included.)
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { KernelName } from "../mod.ts";
import { assertSameBits } from "./_helpers/assert.ts";
import { pattern } from "./_helpers/backends.ts";
import {
  batchnormLoss,
  crossEntropy,
  matmul64,
  numericGradient,
} from "./_helpers/float64.ts";
import {
  type HostData,
  type Outputs,
  reference,
  runKernel,
} from "./_helpers/kernels.ts";

/** Runs a reference kernel on host arrays and returns every tensor after. */
function run(
  kernel: KernelName,
  tensors: Record<string, HostData>,
  scalars: Record<string, number | boolean>,
): Promise<Outputs> {
  return runKernel(reference, kernel, { what: kernel, tensors, scalars });
}

const f32 = (...v: number[]) => new Float32Array(v);
const nan = (n: number) => new Float32Array(n).fill(NaN);
/** Small integers in [-4, 4]: sums and products of a few stay exact. */
const ints = (n: number, seed: number) => pattern(n, seed).map(Math.round);

Deno.test("reference bias_add and bias_grad: per channel, NCHW layout", async () => {
  const layout = { outer: 2, channels: 3, inner: 2 };
  const y = f32(...Array.from({ length: 12 }, (_, i) => i));
  const added = await run("bias_add", { y, bias: f32(100, 200, 300) }, layout);
  deepEqual([...added.y], [
    100,
    101,
    202,
    203,
    304,
    305,
    106,
    107,
    208,
    209,
    310,
    311,
  ]);
  const grad = await run("bias_grad", { dy: y, db: nan(3) }, layout);
  deepEqual([...grad.db], [0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11]);
  const empty = await run("bias_grad", { dy: f32(), db: nan(2) }, {
    outer: 0,
    channels: 2,
    inner: 5,
  });
  deepEqual([...empty.db], [0, 0]);
});

Deno.test("reference relu and relu_backward: NaN and -0 give +0", async () => {
  const x = f32(-2, -0, 0, 1.5, NaN, Infinity, -Infinity, 1e-45);
  const { y } = await run("relu", { x, y: nan(8) }, { n: 8 });
  assertSameBits(y, f32(0, 0, 0, 1.5, 0, Infinity, 0, 1e-45), "relu");
  const dy = f32(1, 2, 3, 4, 5, 6, 7, NaN);
  const { dx } = await run("relu_backward", { x, dy, dx: nan(8) }, { n: 8 });
  assertSameBits(dx, f32(0, 0, 0, 4, 0, 6, 0, NaN), "relu_backward");
});

Deno.test("reference axpby: beta = 0 never reads y", async () => {
  const x = f32(1, -2, 4);
  const scaled = await run("axpby", { x, y: f32(NaN, Infinity, 7) }, {
    n: 3,
    alpha: 0.5,
    beta: 0,
  });
  deepEqual([...scaled.y], [0.5, -1, 2]);
  const mixed = await run("axpby", { x, y: f32(8, 8, 8) }, {
    n: 3,
    alpha: 2,
    beta: -0.25,
  });
  deepEqual([...mixed.y], [0, -6, 6]);
});

Deno.test("reference matmul: a hand product, one added to c, and a float64 triple loop for every transpose", async () => {
  const hand = await run("matmul", {
    a: f32(1, 2, 3, 4),
    b: f32(5, 6, 7, 8),
    c: nan(4),
  }, { m: 2, n: 2, k: 2, transA: false, transB: false, accumulate: false });
  deepEqual([...hand.c], [19, 22, 43, 50]);
  const added = await run("matmul", {
    a: f32(1, 2, 3, 4),
    b: f32(5, 6, 7, 8),
    c: f32(1, -1, 0.5, 0),
  }, { m: 2, n: 2, k: 2, transA: false, transB: false, accumulate: true });
  deepEqual([...added.c], [20, 21, 43.5, 50]);
  for (
    const shape of [[0, 2, 3], [3, 4, 0], [1, 1, 1], [5, 7, 3], [17, 9, 33]]
  ) {
    const [m, n, k] = shape;
    const a = pattern(m * k, 3), b = pattern(k * n, 4);
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const { c } = await run("matmul", { a, b, c: nan(m * n) }, {
          m,
          n,
          k,
          transA,
          transB,
          accumulate: false,
        });
        // The same float64 sum in the same order, rounded once: bit-identical.
        const expected = Float32Array.from(
          matmul64(a, b, shape, transA, transB),
        );
        assertSameBits(
          c,
          expected,
          `[${shape}] transA=${transA} transB=${transB}`,
        );
      }
    }
  }
});

/** A convolution geometry with the usual NCHW input. */
type Geometry = {
  batch: number;
  channels: number;
  height: number;
  width: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  padding: number;
};

function outSide(size: number, kernel: number, g: Geometry): number {
  return Math.max(
    0,
    Math.floor((size + 2 * g.padding - kernel) / g.stride) + 1,
  );
}

Deno.test("reference im2col: a padded hand case", async () => {
  // A 2×2 image, 2×2 kernel, padding 1: nine windows, each sees one or more pixels.
  const g = {
    batch: 1,
    channels: 1,
    height: 2,
    width: 2,
    kernelH: 2,
    kernelW: 2,
    stride: 1,
    padding: 1,
  };
  const { cols } = await run(
    "im2col",
    { x: f32(1, 2, 3, 4), cols: nan(36) },
    g,
  );
  deepEqual([...cols], [
    ...[0, 0, 0, 0, 1, 2, 0, 3, 4], // top-left tap
    ...[0, 0, 0, 1, 2, 0, 3, 4, 0], // top-right
    ...[0, 1, 2, 0, 3, 4, 0, 0, 0], // bottom-left
    ...[1, 2, 0, 3, 4, 0, 0, 0, 0], // bottom-right
  ]);
});

const CONV_GEOMETRIES: Geometry[] = [
  {
    batch: 2,
    channels: 3,
    height: 5,
    width: 4,
    kernelH: 3,
    kernelW: 3,
    stride: 1,
    padding: 1,
  },
  {
    batch: 1,
    channels: 2,
    height: 7,
    width: 6,
    kernelH: 5,
    kernelW: 5,
    stride: 2,
    padding: 2,
  },
  {
    batch: 2,
    channels: 1,
    height: 6,
    width: 7,
    kernelH: 1,
    kernelW: 1,
    stride: 2,
    padding: 0,
  },
  {
    batch: 3,
    channels: 2,
    height: 4,
    width: 9,
    kernelH: 2,
    kernelW: 3,
    stride: 3,
    padding: 1,
  },
  {
    batch: 1,
    channels: 2,
    height: 3,
    width: 3,
    kernelH: 3,
    kernelW: 3,
    stride: 1,
    padding: 2,
  },
];

Deno.test("reference im2col then a matrix product is a direct convolution", async () => {
  for (const g of CONV_GEOMETRIES) {
    const outH = outSide(g.height, g.kernelH, g),
      outW = outSide(g.width, g.kernelW, g);
    const P = g.batch * outH * outW, K = g.channels * g.kernelH * g.kernelW;
    const x = ints(g.batch * g.channels * g.height * g.width, 5);
    const w = ints(2 * K, 6); // two filters
    const { cols } = await run("im2col", { x, cols: nan(K * P) }, g);
    for (let f = 0; f < 2; f++) {
      for (let b = 0; b < g.batch; b++) {
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            let direct = 0, viaCols = 0;
            for (let ch = 0; ch < g.channels; ch++) {
              for (let ky = 0; ky < g.kernelH; ky++) {
                for (let kx = 0; kx < g.kernelW; kx++) {
                  const row = (ch * g.kernelH + ky) * g.kernelW + kx;
                  const iy = oy * g.stride - g.padding + ky;
                  const ix = ox * g.stride - g.padding + kx;
                  const inside = iy >= 0 && iy < g.height && ix >= 0 &&
                    ix < g.width;
                  const pixel = inside
                    ? x[((b * g.channels + ch) * g.height + iy) * g.width + ix]
                    : 0;
                  direct += w[f * K + row] * pixel;
                  viaCols += w[f * K + row] *
                    cols[row * P + (b * outH + oy) * outW + ox];
                }
              }
            }
            equal(
              viaCols,
              direct,
              `${JSON.stringify(g)} filter ${f} at ${b},${oy},${ox}`,
            );
          }
        }
      }
    }
  }
});

Deno.test("reference matmul_im2col is a product with im2col's matrix, and flipped it gives a stride-1 convolution's input gradient", async () => {
  // Small integers: every sum is exact in float32, so results compare bit for bit.
  const m = 2;
  for (const g of CONV_GEOMETRIES) {
    const P = g.batch * outSide(g.height, g.kernelH, g) *
      outSide(g.width, g.kernelW, g);
    const K = g.channels * g.kernelH * g.kernelW;
    const x = ints(g.batch * g.channels * g.height * g.width, 11);
    const { cols } = await run("im2col", { x, cols: nan(K * P) }, g);
    for (const transCols of [false, true]) {
      const [k, n] = transCols ? [P, K] : [K, P];
      const a = ints(m * k, 12);
      const { c: expected } = await run(
        "matmul",
        { a, b: cols, c: nan(m * n) },
        {
          m,
          n,
          k,
          transA: false,
          transB: transCols,
          accumulate: false,
        },
      );
      const { c } = await run("matmul_im2col", { a, x, c: nan(m * n) }, {
        m,
        ...g,
        transCols,
        flip: false,
        accumulate: false,
      });
      assertSameBits(
        c,
        expected,
        `${JSON.stringify(g)} transCols=${transCols}`,
      );
    }
  }
  // dx = col2im(Wᵀ · dy) of a 3×3 convolution with padding 1 on one image
  // equals dy convolved with the flipped kernel, its channel axes swapped.
  const [inC, outC, h, w] = [3, 2, 5, 4];
  const g = {
    batch: 1,
    height: h,
    width: w,
    kernelH: 3,
    kernelW: 3,
    stride: 1,
  };
  const weight = ints(outC * inC * 9, 13);
  const dy = ints(outC * h * w, 14);
  const { c: dcols } = await run("matmul", {
    a: weight,
    b: dy,
    c: nan(inC * 9 * h * w),
  }, {
    m: inC * 9,
    n: h * w,
    k: outC,
    transA: true,
    transB: false,
    accumulate: false,
  });
  const { x: expected } = await run("col2im", {
    cols: dcols,
    x: nan(inC * h * w),
  }, { ...g, channels: inC, padding: 1 });
  const { y: swapped } = await run("transpose", {
    x: weight,
    y: nan(weight.length),
  }, { rows: outC, cols: inC, inner: 9 });
  const { c: dx } = await run("matmul_im2col", {
    a: swapped,
    x: dy,
    c: nan(inC * h * w),
  }, {
    m: inC,
    ...g,
    channels: outC,
    padding: 3 - 1 - 1,
    transCols: false,
    flip: true,
    accumulate: false,
  });
  assertSameBits(dx, expected, "dx");
});

Deno.test("reference col2im: a hand case, and the adjoint of im2col: <col2im(c), x> = <c, im2col(x)>", async () => {
  for (const g of CONV_GEOMETRIES) {
    const n = g.batch * g.channels * g.height * g.width;
    const K = g.channels * g.kernelH * g.kernelW;
    const P = g.batch * outSide(g.height, g.kernelH, g) *
      outSide(g.width, g.kernelW, g);
    // Integer taps: col2im's sums are exact in float32, so both sides are
    // float64 sums of the same products, equal to 1e-9 of Σ|terms|.
    const x = pattern(n, 9), c = ints(K * P, 10);
    const { cols } = await run("im2col", { x, cols: nan(K * P) }, g);
    const { x: folded } = await run("col2im", { cols: c, x: nan(n) }, g);
    let left = 0, right = 0, scale = 0;
    for (let i = 0; i < n; i++) left += folded[i] * x[i];
    for (let i = 0; i < K * P; i++) {
      right += c[i] * cols[i];
      scale += Math.abs(c[i] * cols[i]);
    }
    ok(
      Math.abs(left - right) <= 1e-9 * scale,
      `${JSON.stringify(g)}: ${left} vs ${right}`,
    );
  }
  // 1×3 image, 1×2 kernel, stride 1: the middle pixel is in both windows.
  const g = {
    batch: 1,
    channels: 1,
    height: 1,
    width: 3,
    kernelH: 1,
    kernelW: 2,
    stride: 1,
    padding: 0,
  };
  const { x } = await run("col2im", { cols: f32(1, 2, 10, 20), x: nan(3) }, g);
  deepEqual([...x], [1, 12, 20]);
});

Deno.test("reference transpose: a hand case, and twice is the identity", async () => {
  const { y } = await run(
    "transpose",
    { x: f32(1, 2, 3, 4, 5, 6), y: nan(6) },
    {
      rows: 2,
      cols: 3,
      inner: 1,
    },
  );
  deepEqual([...y], [1, 4, 2, 5, 3, 6]);
  for (const [rows, cols, inner] of [[0, 3, 2], [4, 5, 1], [7, 3, 4]]) {
    const x = pattern(rows * cols * inner, 11);
    const once = await run("transpose", { x, y: nan(x.length) }, {
      rows,
      cols,
      inner,
    });
    const twice = await run("transpose", { x: once.y, y: nan(x.length) }, {
      rows: cols,
      cols: rows,
      inner,
    });
    assertSameBits(twice.y, x, `transpose twice [${rows}, ${cols}, ${inner}]`);
  }
});

Deno.test("reference channel_stats: two-pass mean and biased variance", async () => {
  // Channel 0 holds 1, 2, 3, 6 (mean 3, variance 14 / 4); channel 1 holds 4096 + 0.5·k.
  const x = f32(1, 2, 4096, 4096.5, 3, 6, 4097, 4097.5);
  const { mean, variance } = await run("channel_stats", {
    x,
    mean: nan(2),
    variance: nan(2),
  }, { outer: 2, channels: 2, inner: 2 });
  deepEqual([...mean], [3, 4096.75]);
  deepEqual([...variance], [3.5, 0.3125]);
  const empty = await run("channel_stats", {
    x: f32(),
    mean: nan(3),
    variance: nan(3),
  }, {
    outer: 0,
    channels: 3,
    inner: 4,
  });
  deepEqual([...empty.mean, ...empty.variance], [0, 0, 0, 0, 0, 0]);
});

Deno.test("reference batchnorm_forward: a hand case", async () => {
  const { y } = await run("batchnorm_forward", {
    x: f32(1, 3, 10, 14),
    mean: f32(2, 12),
    variance: f32(0.75, 3.75),
    gamma: f32(2, -1),
    beta: f32(0, 5),
    y: nan(4),
  }, { outer: 1, channels: 2, inner: 2, epsilon: 0.25 });
  deepEqual([...y], [-2, 2, 6, 4]); // r = 1 and 1/2
});

Deno.test("reference batchnorm_backward matches finite differences of channel_stats then batchnorm_forward", async () => {
  const shape = [3, 2, 4], [outer, channels, inner] = shape, epsilon = 1e-3;
  const x = pattern(24, 12), dy = pattern(24, 13);
  const gamma = f32(1.5, -0.75), beta = f32(0.25, 2);
  const stats = await run("channel_stats", {
    x,
    mean: nan(2),
    variance: nan(2),
  }, {
    outer,
    channels,
    inner,
  });
  const grads = await run("batchnorm_backward", {
    x,
    dy,
    mean: stats.mean,
    variance: stats.variance,
    gamma,
    dx: nan(24),
    dgamma: nan(2),
    dbeta: nan(2),
  }, { outer, channels, inner, epsilon });
  const [x64, g64, b64] = [x, gamma, beta].map((v) => Float64Array.from(v));
  const loss = () => batchnormLoss(x64, g64, b64, dy, shape, epsilon);
  // Central differences in float64 with h = 1e-5 are good to ~1e-9; the
  // kernel's float32 statistics and results to ~1e-7: 1e-5 of the largest
  // component leaves room for both and none for a wrong formula.
  for (
    const [name, v] of [["dx", x64], ["dgamma", g64], ["dbeta", b64]] as const
  ) {
    const numeric = numericGradient(v, loss, 1e-5);
    const scale = Math.max(...numeric.map(Math.abs));
    numeric.forEach((e, i) => {
      const a = grads[name][i];
      ok(
        Math.abs(a - e) <= 1e-5 * scale,
        `${name}[${i}]: got ${a}, expected ${e}`,
      );
    });
  }
});

Deno.test("reference maxpool_forward: padding, ties to the first cell, all -Infinity", async () => {
  // 3×3 plane, kernel 2, stride 2, padding 1: 2×2 windows over rows/cols {-1,0}, {1,2}.
  const g = {
    planes: 2,
    height: 3,
    width: 3,
    kernel: 2,
    stride: 2,
    padding: 1,
  };
  const x = f32(
    ...[5, 1, 1, 2, 7, 7, 2, 7, 7], // plane 0: ties of 1, 2 and 7
    ...Array(9).fill(-Infinity),
  );
  const { y, argmax } = await run("maxpool_forward", {
    x,
    y: nan(8),
    argmax: new Uint32Array(8).fill(99),
  }, g);
  deepEqual([...y], [5, 1, 2, 7, -Infinity, -Infinity, -Infinity, -Infinity]);
  // Window (0,1) sees x[0,1] = x[0,2] = 1: the first wins; window (1,1) sees four 7s.
  deepEqual([...argmax], [0, 1, 3, 4, 0, 1, 3, 4]);
});

Deno.test("reference maxpool_backward: routes and sums gradients to argmax cells", async () => {
  const g = {
    planes: 2,
    height: 2,
    width: 3,
    kernel: 2,
    stride: 1,
    padding: 0,
  };
  const { dx } = await run("maxpool_backward", {
    dy: f32(1, 10, 100, 1000),
    argmax: new Uint32Array([4, 4, 0, 5]),
    dx: nan(12),
  }, g);
  deepEqual([...dx], [0, 0, 0, 0, 11, 0, 100, 0, 0, 0, 0, 1000]);
});

Deno.test("reference row_broadcast", async () => {
  const spread = await run("row_broadcast", { dy: f32(4, -8), dx: nan(6) }, {
    rows: 2,
    cols: 3,
    alpha: 0.25,
  });
  deepEqual([...spread.dx], [1, 1, 1, -2, -2, -2]);
});

Deno.test("reference softmax_cross_entropy: a hand case, first-maximum accuracy, rows = 0", async () => {
  // Row 0: logits 0, ln 3 → softmax 1/4, 3/4, label 1. Row 1: tie 2, 2, label 1.
  const logits = f32(0, Math.log(3), 2, 2);
  const out = await run("softmax_cross_entropy", {
    logits,
    labels: new Uint32Array([1, 1]),
    dlogits: nan(4),
    result: nan(2),
  }, { rows: 2, cols: 2 });
  const close = (a: number, e: number) =>
    ok(Math.abs(a - e) <= 1e-7, `${a} vs ${e}`);
  [0.25 / 2, -0.25 / 2, 0.5 / 2, -0.5 / 2].forEach((e, i) =>
    close(out.dlogits[i], e)
  );
  close(out.result[0], (-Math.log(Math.fround(0.75)) + Math.LN2) / 2);
  equal(out.result[1], 1, "row 1's first maximum is column 0, not its label");
  const empty = await run("softmax_cross_entropy", {
    logits: f32(),
    labels: new Uint32Array(),
    dlogits: f32(),
    result: nan(2),
  }, { rows: 0, cols: 10 });
  deepEqual([...empty.result], [0, 0]);
});

Deno.test("reference softmax_cross_entropy gradient matches finite differences", async () => {
  const rows = 4, cols = 5;
  const logits = pattern(rows * cols, 14),
    labels = new Uint32Array([0, 3, 4, 2]);
  const out = await run("softmax_cross_entropy", {
    logits,
    labels,
    dlogits: nan(rows * cols),
    result: nan(2),
  }, { rows, cols });
  const x64 = Float64Array.from(logits);
  const numeric = numericGradient(
    x64,
    () => crossEntropy(x64, labels, cols),
    1e-5,
  );
  // Gradients are at most 1/rows; float32 storage and h = 1e-5 are good to ~1e-8.
  numeric.forEach((e, i) =>
    ok(
      Math.abs(out.dlogits[i] - e) <= 1e-6,
      `dlogits[${i}]: ${out.dlogits[i]} vs ${e}`,
    )
  );
  ok(Math.abs(out.result[0] - crossEntropy(x64, labels, cols)) <= 1e-6);
});

Deno.test("reference softmax_cross_entropy is stable at logits of ±1e4", async () => {
  const out = await run("softmax_cross_entropy", {
    logits: f32(1e4, -1e4, 0, 1e4, -1e4, 0, 1e4, 1e4, -1e4),
    labels: new Uint32Array([0, 1, 1]),
    dlogits: nan(9),
    result: nan(2),
  }, { rows: 3, cols: 3 });
  // Row 0 is certain and right (loss 0), row 1 certain and wrong by 2e4,
  // row 2 a coin toss between its two 1e4 logits (loss ln 2).
  ok(Math.abs(out.result[0] - (0 + 2e4 + Math.LN2) / 3) <= 1e-3);
  equal(out.result[1], 1);
  const expected = [0, 0, 0, 1, -1, 0, 0.5, -0.5, 0].map((v) => v / 3);
  expected.forEach((e, i) =>
    ok(Math.abs(out.dlogits[i] - e) <= 1e-7, `dlogits[${i}]`)
  );
});

Deno.test("reference sgd_update: momentum, Nesterov and weight decay by hand", async () => {
  const step = (nesterov: boolean, weightDecay: number, velocity: number) =>
    run(
      "sgd_update",
      { param: f32(2), grad: f32(1), velocity: f32(velocity) },
      {
        n: 1,
        lr: 0.25,
        momentum: 0.5,
        weightDecay,
        nesterov,
      },
    );
  // g = 1, v = 0.5·2 + 1 = 2, param = 2 - 0.25·2.
  let out = await step(false, 0, 2);
  deepEqual([out.param[0], out.velocity[0]], [1.5, 2]);
  // Nesterov: v = 0.5·0 + 1 = 1, param = 2 - 0.25·(g + 0.5·v) = 2 - 0.25·1.5.
  out = await step(true, 0, 0);
  deepEqual([out.param[0], out.velocity[0]], [1.625, 1]);
  // Weight decay 0.5: g = 1 + 0.5·2 = 2, v = 2, param = 2 - 0.5.
  out = await step(false, 0.5, 0);
  deepEqual([out.param[0], out.velocity[0]], [1.5, 2]);
});

Deno.test("reference adam_update: steps of exactly lr under a constant gradient", async () => {
  // With beta1 = 1/2, beta2 = 3/4 and epsilon 0 the bias-corrected moments of
  // a constant gradient g are exactly g and g², so each step moves by lr.
  const state = {
    param: f32(1, 1),
    grad: f32(4, -0.5),
    m: f32(0, 0),
    v: f32(0, 0),
  };
  for (let step = 1; step <= 6; step++) {
    const out = await run("adam_update", state, {
      n: 2,
      lr: 0.125,
      beta1: 0.5,
      beta2: 0.75,
      epsilon: 0,
      weightDecay: 0,
      step,
    });
    deepEqual(
      [...out.param],
      [1 - 0.125 * step, 1 + 0.125 * step],
      `step ${step}`,
    );
    deepEqual([...out.m], [4 * (1 - 0.5 ** step), -0.5 * (1 - 0.5 ** step)]);
    Object.assign(state, { param: out.param, m: out.m, v: out.v });
  }
});

Deno.test("reference adam_update: epsilon, weight decay and step 1000 bias correction", async () => {
  const options = { n: 1, lr: 0.5, beta1: 0.5, beta2: 0.75, weightDecay: 0 };
  // Step 1, g = 1: mhat = 1, vhat = 1, step = 1 / (1 + epsilon) with epsilon 1.
  let out = await run("adam_update", {
    param: f32(2),
    grad: f32(1),
    m: f32(0),
    v: f32(0),
  }, {
    ...options,
    epsilon: 1,
    step: 1,
  });
  equal(out.param[0], 1.75);
  // Weight decay 0.5 on param 2 turns grad -1 into g = 0: nothing moves
  // (epsilon > 0 keeps 0 / 0 away).
  out = await run("adam_update", {
    param: f32(2),
    grad: f32(-1),
    m: f32(0),
    v: f32(0),
  }, {
    ...options,
    epsilon: 1e-8,
    weightDecay: 0.5,
    step: 1,
  });
  deepEqual([out.param[0], out.m[0], out.v[0]], [2, 0, 0]);
  // Step 1000 from zero moments with PyTorch's betas: 1 - 0.9^1000 is 1 in
  // float64 and 1 - 0.999^1000 ≈ 0.632305, so the step is
  // 0.1 / sqrt(0.001 / 0.632305) ≈ 2.51457 times lr.
  out = await run("adam_update", {
    param: f32(0),
    grad: f32(3),
    m: f32(0),
    v: f32(0),
  }, {
    n: 1,
    lr: 0.01,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 0,
    weightDecay: 0,
    step: 1000,
  });
  ok(Math.abs(out.param[0] - -0.0251457) <= 1e-7, `param ${out.param[0]}`);
});
