/**
 * The webgpu training kernels where a GPU differs from a loop: grids of more
 * than 65535 workgroups' worth of elements, one workgroup per row or channel
 * past a grid row, matmul tiles at the matrix edges, which tensors may share a
 * buffer, pooling windows wholly in the padding, and the uniforms of many
 * kernels queued into one submission, at any uniform offset alignment.
 *
 * Values are compared with the reference backend: bit-identical where a
 * kernel moves, selects or adds once (transpose, relu, maxpool_forward,
 * bias_add), within 1e-6 · Σ|terms| for other element-wise arithmetic and
 * within 1e-5 · Σ|terms| for reductions and products (Σ|terms| is the
 * reference run on absolute values), as in the conformance suite.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import type { KernelName } from "../src/backends/kernels.ts";
import {
  createWebGpuBackend,
  dispatchGrid,
  type WebGpuBackend,
} from "../src/backends/webgpu.ts";
import { assertSameBits } from "./_helpers/assert.ts";
import { ignoreBackend, pattern } from "./_helpers/backends.ts";
import {
  absCase,
  assertWithin,
  type KernelCase,
  reference,
  runKernel,
} from "./_helpers/kernels.ts";

const ignore = await ignoreBackend("webgpu");

/** A test on a fresh webgpu backend that fails on any uncaptured GPU error. */
function gpuTest(
  name: string,
  fn: (gpu: WebGpuBackend) => Promise<void> | void,
): void {
  Deno.test({
    name: `webgpu training kernels: ${name}`,
    ignore,
    async fn() {
      const gpu = await createWebGpuBackend();
      const errors: string[] = [];
      gpu.device.addEventListener("uncapturederror", (event) => {
        errors.push((event as GPUUncapturedErrorEvent).error.message);
      });
      try {
        await fn(gpu);
      } finally {
        gpu.dispose();
      }
      if (errors.length > 0) {
        throw new Error(`Uncaptured GPU errors: ${errors.join("; ")}`);
      }
    },
  });
}

/** Seeded values in about [-1.8, 2.2], 15% zeros. */
function values(n: number, seed: number): Float32Array {
  return pattern(n, seed * 7919 + n);
}

/** An output prefilled with NaN, so that an element a kernel skips shows. */
function garbage(n: number): Float32Array {
  return new Float32Array(n).fill(NaN);
}

/** Runs a case on both backends; every output must have the same bits. */
async function sameBits(
  gpu: WebGpuBackend,
  kernel: KernelName,
  c: KernelCase,
  ...outputs: string[]
): Promise<void> {
  const expected = await runKernel(reference, kernel, c);
  const actual = await runKernel(gpu, kernel, c);
  for (const name of outputs) {
    assertSameBits(actual[name], expected[name], `${c.what}: ${name}`);
  }
}

/** Runs a case on both backends; outputs within `tol` · Σ|terms|. */
async function withinTerms(
  gpu: WebGpuBackend,
  kernel: KernelName,
  c: KernelCase,
  tol: number,
  ...outputs: string[]
): Promise<void> {
  const expected = await runKernel(reference, kernel, c);
  const actual = await runKernel(gpu, kernel, c);
  const bound = await runKernel(reference, kernel, absCase(c));
  for (const name of outputs) {
    assertWithin(
      actual[name],
      expected[name],
      bound[name],
      tol,
      `${c.what}: ${name}`,
    );
  }
}

Deno.test("webgpu training kernels: dispatch grids cover every workgroup within the limits", () => {
  const side = 65535;
  for (
    const groups of [
      1,
      255,
      256,
      257,
      65535,
      256 * side,
      256 * side + 1,
      2 ** 30,
      side * side,
    ]
  ) {
    const [x, y] = dispatchGrid(groups);
    ok(x >= 1 && x <= side && y >= 1 && y <= side, `${groups}: ${x} x ${y}`);
    ok(x * y >= groups, `${groups}: ${x} x ${y} too small`);
    // No empty grid row: the last one holds at least one workgroup.
    ok(x * (y - 1) < groups, `${groups}: ${x} x ${y} too large`);
  }
  deepEqual(dispatchGrid(1000), [256, 4]);
});

gpuTest(
  "one element per invocation past 65535 workgroups (a 2-D grid of 257 rows)",
  async (gpu) => {
    // 4099 * 4093 = 16777207 elements, 65536 workgroups of 256.
    const rows = 4099, cols = 4093;
    await sameBits(gpu, "transpose", {
      what: `transpose ${rows}x${cols}`,
      tensors: { x: values(rows * cols, 1), y: garbage(rows * cols) },
      scalars: { rows, cols, inner: 1 },
    }, "y");
    // 4097 * 4096 = 16781312 elements: one rounding, the same as float64's.
    const outer = 4097, channels = 4096;
    await sameBits(gpu, "bias_add", {
      what: `bias_add outer=${outer} channels=${channels}`,
      tensors: {
        y: values(outer * channels, 2),
        bias: values(channels, 3),
      },
      scalars: { outer, channels, inner: 1 },
    }, "y");
  },
);

gpuTest(
  "reductions of short and long rows, several per workgroup, over several grid rows",
  async (gpu) => {
    // Rows (channels of one sample, as global average pooling sums them) of
    // 3 values share a workgroup 256 at a time (70001 rows: 274 workgroups,
    // the last one partly empty); 100 values take 16 invocations each, 5000
    // a whole workgroup.
    for (const [rows, cols] of [[70001, 3], [37, 100], [3, 5000], [5, 0]]) {
      await withinTerms(
        gpu,
        "bias_grad",
        {
          what: `bias_grad rows=${rows} cols=${cols}`,
          tensors: { dy: values(rows * cols, 4), db: garbage(rows) },
          scalars: { outer: 1, channels: rows, inner: cols },
        },
        1e-5,
        "db",
      );
    }
    const layouts = [[3, 1000, 2], [4, 13, 30], [2, 3, 3001], [0, 7, 5]];
    for (const [outer, channels, inner] of layouts) {
      const n = outer * channels * inner;
      const what = `outer=${outer} channels=${channels} inner=${inner}`;
      await withinTerms(
        gpu,
        "bias_grad",
        {
          what: `bias_grad ${what}`,
          tensors: { dy: values(n, 5), db: garbage(channels) },
          scalars: { outer, channels, inner },
        },
        1e-5,
        "db",
      );
      await withinTerms(
        gpu,
        "channel_stats",
        {
          what: `channel_stats ${what}`,
          tensors: {
            x: values(n, 6),
            mean: garbage(channels),
            variance: garbage(channels),
          },
          scalars: { outer, channels, inner },
        },
        1e-5,
        "mean",
        "variance",
      );
      await checkBatchnormBackward(gpu, outer, channels, inner);
    }
  },
);

/**
 * batchnorm_backward's dgamma and dbeta within 1e-5 of Σ|terms|, on channel
 * statistics from the reference (so that both backends see the same).
 */
async function checkBatchnormBackward(
  gpu: WebGpuBackend,
  outer: number,
  channels: number,
  inner: number,
): Promise<void> {
  const n = outer * channels * inner;
  const x = values(n, 7), dy = values(n, 8);
  const stats = await runKernel(reference, "channel_stats", {
    what: "stats",
    tensors: { x, mean: garbage(channels), variance: garbage(channels) },
    scalars: { outer, channels, inner },
  });
  const c: KernelCase = {
    what:
      `batchnorm_backward outer=${outer} channels=${channels} inner=${inner}`,
    tensors: {
      x,
      dy,
      mean: stats.mean,
      variance: stats.variance,
      gamma: values(channels, 9),
      dx: garbage(n),
      dgamma: garbage(channels),
      dbeta: garbage(channels),
    },
    scalars: { outer, channels, inner, epsilon: 1e-5 },
  };
  const expected = await runKernel(reference, "batchnorm_backward", c);
  const actual = await runKernel(gpu, "batchnorm_backward", c);
  // Σ|terms| of the sums: the reference on |dy| and on x reflected above its
  // channel's mean, where every xhat is |xhat|.
  const mean = stats.mean as Float32Array;
  const bound = await runKernel(reference, "batchnorm_backward", {
    ...c,
    tensors: {
      ...c.tensors,
      dy: dy.map(Math.abs),
      x: x.map((v, i) => {
        const m = mean[Math.floor(i / inner) % channels];
        return m + Math.abs(v - m);
      }),
    },
  });
  for (const name of ["dgamma", "dbeta"]) {
    assertWithin(
      actual[name],
      expected[name],
      bound[name],
      1e-5,
      `${c.what}: ${name}`,
    );
  }
}

gpuTest(
  "matmul over more than a grid row of tiles, partial tiles and every transpose",
  async (gpu) => {
    // 18 x 18 = 324 tiles; 65 and 129 leave one-wide edge tiles; k = 17 and
    // 33 leave a partial step along k; k = 0 must overwrite with zeros.
    const shapes = [[1100, 1100, 3], [65, 129, 17], [64, 64, 33], [70, 5, 0]];
    for (const [m, n, k] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          await withinTerms(
            gpu,
            "matmul",
            {
              what: `m=${m} n=${n} k=${k} transA=${transA} transB=${transB}`,
              tensors: {
                a: values(m * k, 10),
                b: values(k * n, 11),
                c: garbage(m * n),
              },
              scalars: { m, n, k, transA, transB },
            },
            1e-5,
            "c",
          );
        }
      }
    }
  },
);

gpuTest(
  "element-wise kernels run in place on a shared buffer",
  async (gpu) => {
    const n = 1001;
    const x = values(n, 12), dy = values(n, 13);
    const relu: KernelCase = {
      what: "relu y = x",
      tensors: { x, y: x },
      scalars: { n },
      same: { y: "x" },
    };
    await sameBits(gpu, "relu", relu, "x");
    for (const same of [{ dx: "dy" }, { dx: "x" }]) {
      await sameBits(gpu, "relu_backward", {
        what: `relu_backward ${JSON.stringify(same)}`,
        tensors: { x, dy, dx: dy },
        scalars: { n },
        same,
      }, "dx");
    }
    await withinTerms(
      gpu,
      "axpby",
      {
        what: "axpby y = x",
        tensors: { x, y: x },
        scalars: { n, alpha: 0.3, beta: -1.7 },
        same: { y: "x" },
      },
      1e-6,
      "x",
    );
    const outer = 7, channels = 11, inner = 13, size = outer * channels * inner;
    const bx = values(size, 14);
    const stats = await runKernel(reference, "channel_stats", {
      what: "stats",
      tensors: { x: bx, mean: garbage(11), variance: garbage(11) },
      scalars: { outer, channels, inner },
    });
    const common = {
      mean: stats.mean,
      variance: stats.variance,
      gamma: values(channels, 15),
    };
    // Σ|terms| does not bound batchnorm's rounding (a square root and a
    // division): the same relative 1e-5 as its conformance cases, checked
    // here against each output's magnitude plus the spread of x.
    const run = async (kernel: KernelName, c: KernelCase, name: string) => {
      const expected = await runKernel(reference, kernel, c);
      const actual = await runKernel(gpu, kernel, c);
      const scale = Math.max(...[...expected[name]].map(Math.abs));
      assertWithin(
        actual[name],
        expected[name],
        new Float32Array(size).fill(scale),
        1e-5,
        `${c.what}: ${name}`,
      );
    };
    await run("batchnorm_forward", {
      what: "batchnorm_forward y = x",
      tensors: { x: bx, y: bx, ...common, beta: values(channels, 16) },
      scalars: { outer, channels, inner, epsilon: 1e-5 },
      same: { y: "x" },
    }, "x");
    for (const same of [{ dx: "dy" }, { dx: "x" }]) {
      const dy = values(size, 17);
      await run("batchnorm_backward", {
        what: `batchnorm_backward ${JSON.stringify(same)}`,
        tensors: {
          x: bx,
          dy,
          ...common,
          dx: dy,
          dgamma: garbage(channels),
          dbeta: garbage(channels),
        },
        scalars: { outer, channels, inner, epsilon: 1e-5 },
        same,
      }, "dx");
    }
  },
);

gpuTest(
  "an output that shares a buffer with an input is refused before WebGPU sees it",
  (gpu) => {
    const a = gpu.allocate([16]), b = gpu.allocate([16]);
    const message = (
      kernel: string,
      output: string,
      input: string,
      got: string,
    ) => ({
      name: "TypeError",
      message:
        `Cannot run ${kernel}: ${output} must not share storage with ${input}, got ${got}`,
    });
    const mm = { m: 4, n: 4, k: 4, transA: false, transB: false };
    throws(
      () => gpu.run("matmul", { a, b, c: a, ...mm }),
      message("matmul", "c", "a", "the same tensor"),
    );
    // A reshaped view shares its base's buffer.
    const view = gpu.reshape(b, [4, 4]);
    throws(
      () => gpu.run("matmul", { a, b, c: view, ...mm }),
      message("matmul", "c", "b", "views of the same storage"),
    );
    throws(
      () => gpu.run("transpose", { x: a, y: a, rows: 4, cols: 4, inner: 1 }),
      message("transpose", "y", "x", "the same tensor"),
    );
    throws(
      () =>
        gpu.run("bias_grad", {
          dy: a,
          db: gpu.reshape(a, [16]),
          outer: 1,
          channels: 16,
          inner: 1,
        }),
      message("bias_grad", "db", "dy", "views of the same storage"),
    );
  },
);

gpuTest(
  "an input bound read-only and read_write at once reads the batch's latest values",
  async (gpu) => {
    // batchnorm_forward binds x read_write (y may be x) and gamma read-only:
    // passed as one tensor, gamma is read from a copy, which must be taken
    // after the kernels queued before it in the same batch.
    const channels = 300,
      x0 = values(channels, 20),
      beta = values(channels, 21);
    const mean = values(channels, 22);
    const variance = values(channels, 23).map((v) => v * v + 0.01);
    const run = async (b: typeof gpu | typeof reference) => {
      const x = b.tensor(x0, [channels]);
      const [m, v, bt] = [mean, variance, beta].map((d) =>
        b.tensor(d, [channels])
      );
      const y = b.allocate([channels]);
      b.run("axpby", { x, y: x, n: channels, alpha: 3, beta: 0 }); // x = 3 x0
      b.run("batchnorm_forward", {
        x,
        mean: m,
        variance: v,
        gamma: x,
        beta: bt,
        y,
        outer: 1,
        channels,
        inner: 1,
        epsilon: 1e-5,
      });
      b.run("axpby", { x, y: x, n: channels, alpha: -1, beta: 0 }); // x = -3 x0
      const out = [await b.read(y), await b.read(x)];
      for (const t of [x, m, v, bt, y]) b.release(t);
      return out;
    };
    const [expectedY, expectedX] = await run(reference);
    const [actualY, actualX] = await run(gpu);
    assertSameBits(actualX, expectedX, "x"); // products by 3 and -1: exact
    // (x - mean) · r · gamma + beta with x = gamma = 3 x0: a few roundings.
    for (let i = 0; i < channels; i++) {
      const bound =
        (Math.abs(3 * x0[i]) + Math.abs(mean[i])) * Math.abs(3 * x0[i]) /
          Math.sqrt(variance[i] + 1e-5) + Math.abs(beta[i]);
      ok(
        Math.abs(actualY[i] - expectedY[i]) <= 1e-6 * bound,
        `y[${i}]: got ${actualY[i]}, expected ${expectedY[i]}`,
      );
    }
  },
);

Deno.test({
  name:
    "webgpu training kernels: uniform slots stay aligned on a device whose uniform offset alignment is 32",
  ignore,
  async fn() {
    const adapter = await navigator.gpu.requestAdapter();
    // 32 is the alignment at which slots of the largest Params (48 bytes)
    // went misaligned; an adapter that cannot go below 256 checks 256.
    const alignment = Math.max(
      32,
      adapter!.limits.minUniformBufferOffsetAlignment,
    );
    const device = await adapter!.requestDevice({
      requiredLimits: { minUniformBufferOffsetAlignment: alignment },
    });
    equal(device.limits.minUniformBufferOffsetAlignment, alignment);
    const gpu = await createWebGpuBackend(device);
    try {
      device.pushErrorScope("validation");
      // Three dispatches in one batch, each with its own uniforms.
      const n = 5;
      const x = gpu.tensor(new Float32Array([1, -2, 3, -4, 5]), [n]);
      const y = gpu.tensor(new Float32Array([10, 20, 30, 40, 50]), [n]);
      gpu.run("axpby", { x, y, n, alpha: 2, beta: 1 }); // y = 2x + y
      gpu.run("relu", { x: y, y, n }); // all positive already
      gpu.run("axpby", { x, y, n, alpha: -1, beta: 0.5 }); // y = y/2 - x
      const got = await gpu.read(y);
      equal(await device.popErrorScope(), null);
      // Small integers and halves: exact in float32.
      deepEqual([...got], [5, 10, 15, 20, 25]);
    } finally {
      gpu.dispose();
      device.destroy();
    }
  },
});

gpuTest(
  "hundreds of kernels queued at once each get their own uniforms",
  async (gpu) => {
    // More dispatches than one submission takes, all before a single read:
    // y = alpha_i x + beta_i y with a different pair each time.
    const n = 37, x0 = values(n, 18), y0 = values(n, 19);
    const run = async (b: typeof gpu | typeof reference) => {
      const x = b.tensor(x0, [n]), y = b.tensor(y0, [n]);
      for (let i = 0; i < 300; i++) {
        const alpha = i % 7 === 0 ? 0.5 : (i % 13) / 8;
        b.run("axpby", { x, y, n, alpha, beta: i % 5 === 0 ? 0 : 0.75 });
      }
      const result = await b.read(y);
      b.release(x);
      b.release(y);
      return result;
    };
    const expected = await run(reference), actual = await run(gpu);
    // Each step rounds in float32 on both sides; 300 of them stay well inside.
    for (let i = 0; i < n; i++) {
      ok(
        Math.abs(actual[i] - expected[i]) <= 1e-5 * Math.abs(expected[i]),
        `y[${i}]: got ${actual[i]}, expected ${expected[i]}`,
      );
    }
  },
);

gpuTest(
  "uploads and releases between queued kernels keep program order",
  async (gpu) => {
    const n = 8;
    const x = gpu.tensor(new Float32Array(n).fill(1), [n]);
    const y = gpu.allocate([n]);
    gpu.run("axpby", { x, y, n, alpha: 2, beta: 0 }); // y = 2
    gpu.upload(x, new Float32Array(n).fill(10)); // after the kernel above
    gpu.run("axpby", { x, y, n, alpha: 1, beta: 1 }); // y = 12
    // A temporary released while a kernel that reads it is still queued.
    const t = gpu.tensor(new Float32Array(n).fill(100), [n]);
    gpu.run("axpby", { x: t, y, n, alpha: 1, beta: 1 }); // y = 112
    gpu.release(t);
    const u = gpu.tensor(new Float32Array(n).fill(1000), [n]);
    gpu.run("axpby", { x: u, y, n, alpha: 1, beta: 1 }); // y = 1112
    deepEqual([...(await gpu.read(y))], new Array(n).fill(1112));
    deepEqual([...(await gpu.read(x))], new Array(n).fill(10));
  },
);

gpuTest(
  "adam's bias corrections come from float64 (float32 would be 1.7e-4 off)",
  async (gpu) => {
    // With param 0 and no decay, param ends as -lr · update exactly; with
    // beta2 = 0.9999 at step 1, 1 - float32(beta2) is 1.66e-4 off 1e-4, which
    // moves the update by 8e-5 relative, against 4e-6 allowed here (the
    // float32 steps of the update, a few ulps each).
    const n = 64;
    for (const step of [1, 3, 1000]) {
      const c: KernelCase = {
        what: `adam step=${step}`,
        tensors: {
          param: new Float32Array(n),
          grad: values(n, 20).map((v) => v + 0.01),
          m: values(n, 21).map((v) => v / 10),
          v: values(n, 22).map((v) => v * v / 100),
        },
        scalars: {
          n,
          lr: 0.001,
          beta1: 0.99,
          beta2: 0.9999,
          epsilon: 1e-8,
          weightDecay: 0,
          step,
        },
      };
      const expected = await runKernel(reference, "adam_update", c);
      const actual = await runKernel(gpu, "adam_update", c);
      for (let i = 0; i < n; i++) {
        const a = actual.param[i], e = expected.param[i];
        ok(
          Math.abs(a - e) <= 4e-6 * Math.abs(e),
          `${c.what}: param[${i}] got ${a}, expected ${e}`,
        );
      }
    }
  },
);

gpuTest(
  "softmax_cross_entropy: several rows per invocation, and no rows",
  async (gpu) => {
    for (const [rows, cols] of [[600, 10], [3, 1000], [0, 4]]) {
      const labels = Uint32Array.from(
        { length: rows },
        (_, r) => (r * 7) % cols,
      );
      const logits = values(rows * cols, 23).map((v) => v * 4);
      // Some rows whose label is the (first) maximum, for the count.
      for (let r = 0; r < rows; r += 3) logits[r * cols + labels[r]] = 20;
      const c: KernelCase = {
        what: `rows=${rows} cols=${cols}`,
        tensors: {
          logits,
          labels,
          dlogits: garbage(rows * cols),
          result: garbage(2),
        },
        scalars: { rows, cols },
      };
      const expected = await runKernel(reference, "softmax_cross_entropy", c);
      const actual = await runKernel(gpu, "softmax_cross_entropy", c);
      equal(actual.result[1], expected.result[1], `${c.what}: right`);
      // Each loss is a few terms of magnitude below 30: 1e-5 of their sum.
      const loss = actual.result[0], want = expected.result[0];
      ok(
        Math.abs(loss - want) <= 1e-5 * (Math.abs(want) + 30),
        `${c.what}: loss got ${loss}, expected ${want}`,
      );
      // Probabilities: within 1e-6 of each row's Σ|terms| = 2 / rows.
      assertWithin(
        actual.dlogits,
        expected.dlogits,
        new Float32Array(rows * cols).fill(2 / rows),
        1e-6,
        `${c.what}: dlogits`,
      );
    }
  },
);

gpuTest(
  "pooling windows wholly in the padding, and convolutions with gaps",
  async (gpu) => {
    // padding >= kernel: the outer windows see no cell, give -Inf at index 0
    // and send their gradient to cell 0.
    const pools = [
      { planes: 3, height: 4, width: 5, kernel: 2, stride: 1, padding: 2 },
      { planes: 2, height: 1, width: 1, kernel: 1, stride: 1, padding: 3 },
      { planes: 2, height: 5, width: 3, kernel: 2, stride: 3, padding: 2 },
    ];
    for (const g of pools) {
      const outH =
        Math.floor((g.height + 2 * g.padding - g.kernel) / g.stride) +
        1;
      const outW = Math.floor((g.width + 2 * g.padding - g.kernel) / g.stride) +
        1;
      const out = g.planes * outH * outW, size = g.planes * g.height * g.width;
      const what = JSON.stringify(g);
      await sameBits(
        gpu,
        "maxpool_forward",
        {
          what,
          tensors: {
            x: values(size, 24),
            y: garbage(out),
            argmax: new Uint32Array(out).fill(0xffffffff),
          },
          scalars: g,
        },
        "y",
        "argmax",
      );
      const forward = await runKernel(reference, "maxpool_forward", {
        what,
        tensors: {
          x: values(size, 24),
          y: garbage(out),
          argmax: new Uint32Array(out),
        },
        scalars: g,
      });
      await withinTerms(
        gpu,
        "maxpool_backward",
        {
          what,
          tensors: {
            dy: values(out, 25),
            argmax: forward.argmax,
            dx: garbage(size),
          },
          scalars: g,
        },
        1e-5,
        "dx",
      );
    }
    // Strides past the kernel (cells no window reads), a kernel larger than
    // the image, and windows that start in the padding.
    const convs = [
      [2, 3, 7, 6, 2, 2, 3, 0],
      [1, 2, 3, 3, 5, 4, 1, 2],
      [2, 1, 5, 5, 3, 3, 2, 4],
    ];
    for (
      const [batch, channels, height, width, kernelH, kernelW, stride, padding]
        of convs
    ) {
      const g = {
        batch,
        channels,
        height,
        width,
        kernelH,
        kernelW,
        stride,
        padding,
      };
      const outH = Math.floor((height + 2 * padding - kernelH) / stride) + 1;
      const outW = Math.floor((width + 2 * padding - kernelW) / stride) + 1;
      const cols = channels * kernelH * kernelW * batch * outH * outW;
      const size = batch * channels * height * width;
      const what = JSON.stringify(g);
      await sameBits(gpu, "im2col", {
        what,
        tensors: { x: values(size, 26), cols: garbage(cols) },
        scalars: g,
      }, "cols");
      await withinTerms(
        gpu,
        "col2im",
        {
          what,
          tensors: { cols: values(cols, 27), x: garbage(size) },
          scalars: g,
        },
        1e-5,
        "x",
      );
    }
  },
);

gpuTest(
  "a padded image past 2^31 cells a side is refused",
  (gpu) => {
    // One pixel, padding 2^30: three windows a side, but signed 32-bit
    // coordinates would wrap.
    const x = gpu.allocate([1]), cols = gpu.allocate([9]);
    const g = {
      batch: 1,
      channels: 1,
      height: 1,
      width: 1,
      kernelH: 1,
      kernelW: 1,
      stride: 2 ** 30,
      padding: 2 ** 30,
    };
    throws(() => gpu.run("im2col", { x, cols, ...g }), {
      name: "RangeError",
      message:
        `Cannot run im2col: the padded image (height or width + 2 * padding) must be below 2^31 cells on the webgpu backend, got ${
          2 ** 31 + 1
        }`,
    });
  },
);
