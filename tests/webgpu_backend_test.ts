/**
 * The webgpu backend itself, not its kernels' results (those are rows of
 * `kernel_conformance_test.ts`): empty and oversized buffers, argument checks
 * before uniforms are packed, disposal, a missing adapter, dispatch grids,
 * the uniforms and buffers of many kernels queued into one submission (at
 * any uniform offset alignment), and the padded-image limit of its shaders.
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  createWebGpuBackend,
  dispatchGrid,
  WebGpuBackend,
} from "../src/backends/webgpu.ts";
import { reference } from "./_helpers/kernels.ts";
import { ignoreBackend } from "./_helpers/backends.ts";
import { assertSameBits } from "./_helpers/assert.ts";
import { values } from "./_helpers/conformance/_spec.ts";

// Without an adapter these tests are ignored (ignoreBackend says so) unless
// CI=true, where the module fails to load.
const ignore = await ignoreBackend("webgpu");

/** A test on a fresh webgpu backend that fails on any uncaptured GPU error. */
function gpuTest(
  name: string,
  fn: (gpu: WebGpuBackend) => Promise<void> | void,
): void {
  Deno.test({
    name: `webgpu backend: ${name}`,
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

gpuTest("tensors of size 0 allocate, upload, read and release", async (gpu) => {
  for (const dtype of ["float32", "uint32"] as const) {
    const t = gpu.allocate([2, 0, 3], dtype);
    gpu.upload(
      t,
      dtype === "float32" ? new Float32Array(0) : new Uint32Array(0) as never,
    );
    equal((await gpu.read(t)).length, 0);
    gpu.release(t);
  }
});

gpuTest(
  "jumpout_params refuses a maxDrop that is not a uint32",
  (gpu) => {
    const t = gpu.allocate([1], "uint32"), s = gpu.allocate([1]);
    const args = {
      counts: t,
      rate: t,
      keep: t,
      scale: s,
      rows: 1,
      cols: 1,
      normalize: true,
      power: 1,
    };
    throws(() => gpu.run("jumpout_params", { ...args, maxDrop: 0.5 }), {
      name: "RangeError",
      message:
        "Cannot run jumpout_params: maxDrop must be an integer in [0, 2^32), got 0.5",
    });
  },
);

gpuTest(
  "a tensor larger than a binding is refused at allocation",
  (gpu) => {
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    const size = limit / 4 + 1;
    throws(() => gpu.allocate([size]), {
      name: "RangeError",
      message:
        `Cannot allocate a tensor: the webgpu backend's buffers hold at most ${limit} bytes, got ${size} elements (${
          4 * size
        } bytes)`,
    });
  },
);

gpuTest(
  "a disposed backend refuses work; a device it was given stays alive",
  async (gpu) => {
    const borrowed = new WebGpuBackend(gpu.device);
    const t = borrowed.tensor(new Float32Array([1, 2]), [2]);
    borrowed.dispose();
    const message = "the webgpu backend must be live, got a disposed backend";
    throws(() => borrowed.allocate([1]), {
      message: `Cannot allocate a tensor: ${message}`,
    });
    await rejects(borrowed.read(t), {
      message: `Cannot read a tensor: ${message}`,
    });
    // The device still works for the backend that owns it.
    const u = gpu.tensor(new Float32Array([3]), [1]);
    deepEqual([...(await gpu.read(u))], [3]);
  },
);

Deno.test("webgpu backend: createWebGpuBackend without an adapter says so", async () => {
  Object.defineProperty(navigator, "gpu", {
    value: undefined,
    configurable: true,
  });
  try {
    await rejects(createWebGpuBackend(), {
      message: "Cannot create the webgpu backend: no GPU adapter found",
    });
  } finally {
    delete (navigator as { gpu?: GPU }).gpu;
  }
});

Deno.test("webgpu backend: dispatch grids cover every workgroup within the limits", () => {
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
    "webgpu backend: uniform slots stay aligned on a device whose uniform offset alignment is 32",
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
