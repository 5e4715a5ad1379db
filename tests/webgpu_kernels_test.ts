/**
 * The webgpu kernels against the reference backend, kernel by kernel, on the
 * shapes and values that stress them: empty and odd sizes, one row and many
 * short rows, workgroups that straddle rows, 2-D dispatch grids (from 257
 * workgroups on) and 2^24 + 3 elements, NaN, ±Inf, ±0, subnormals and products
 * that overflow.
 *
 * Keep thresholds and counts must be equal, masks identical, and values equal
 * to the bit given the same keep and scale (else within 1e-6 relative, the
 * scale's pow differing by an ulp or two).
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { FLOAT32_MAX, RATE_ONE } from "../src/backends/kernels.ts";
import { ReferenceBackend } from "../src/backends/reference.ts";
import { createWebGpuBackend, WebGpuBackend } from "../src/backends/webgpu.ts";
import { hash32 } from "../src/random.ts";
import type { Tensor } from "../src/tensor.ts";
import { GPU_REQUIRED, hasGpu } from "./_helpers/backends.ts";
import { assertSameBits } from "./_helpers/assert.ts";

// Without an adapter these tests are ignored (hasGpu says so) unless CI=true,
// where they run and fail.
const ignore = !GPU_REQUIRED && !(await hasGpu());
const reference = new ReferenceBackend();

/** A test on a fresh webgpu backend that fails on any uncaptured GPU error. */
function gpuTest(
  name: string,
  fn: (gpu: WebGpuBackend) => Promise<void> | void,
): void {
  Deno.test({
    name: `webgpu kernels: ${name}`,
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

/** [rows, cols] pairs: empty, tiny, one long row, many short rows, rows that straddle workgroups. */
const SHAPES: [number, number][] = [
  [0, 0],
  [0, 5],
  [3, 0],
  [1, 1],
  [1, 3],
  [1, 4],
  [1, 5],
  [1, 1023],
  [3, 5],
  [5, 1023],
  [1023, 1],
  [1000, 7],
  [7, 4097],
  [4096, 256],
  [1, 2 ** 20 + 3],
  [2 ** 20 + 3, 1],
  [5, 2 ** 18 + 1],
];

/** Deterministic values in [0, 1) from (seed, i). */
function unit(seed: number, i: number): number {
  return hash32((hash32(seed) ^ i) >>> 0) / 2 ** 32;
}

const SPECIALS = [
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  3.3e38,
  -3.3e38,
  1.1754944e-38, // the smallest normal
  -1e-30,
];

/**
 * Mixed data: mostly ordinary positives and negatives, and about 1 in 5 a
 * special value (plus subnormals when `subnormals`: the GPU may flush them in
 * arithmetic, but count_active must still see them as positive).
 */
function mixed(n: number, seed: number, subnormals = false): Float32Array {
  const out = new Float32Array(n);
  const specials = subnormals ? [...SPECIALS, 1e-45, 1e-40, -1e-41] : SPECIALS;
  for (let i = 0; i < n; i++) {
    const u = unit(seed, i);
    out[i] = u < 0.2
      ? specials[Math.floor(u * 5 * specials.length)]
      : (unit(seed + 1, i) - 0.45) * 10 ** (6 * unit(seed + 2, i) - 3);
  }
  return out;
}

/** Throws at the first value more than 1e-6 relative off (NaN matches NaN). */
function closeRelative(
  actual: Float32Array,
  expected: Float32Array,
  what: string,
): void {
  equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    ok(
      Math.abs(a - e) <= 1e-6 * Math.abs(e),
      `${what}[${i}]: got ${a}, expected ${e}`,
    );
  }
}

/** Throws unless the same elements are zero (dropped or zero input) in both. */
function sameMask(actual: Float32Array, expected: Float32Array, what: string) {
  equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    ok(
      (actual[i] === 0) === (expected[i] === 0),
      `${what}[${i}]: masks differ, got ${actual[i]}, expected ${expected[i]}`,
    );
  }
}

type Backendish = ReferenceBackend | WebGpuBackend;

/** Makes a tensor of any dtype with the given values. */
function tensorOf<T extends Float32Array | Uint32Array>(
  b: Backendish,
  data: T,
): Tensor<T extends Float32Array ? "float32" : "uint32"> {
  const t = b.allocate(
    [data.length],
    data instanceof Float32Array ? "float32" : "uint32",
  );
  b.upload(t, data as never);
  return t as never;
}

/** Reads `results` in order, then releases them and `others`. */
async function readAll(
  b: Backendish,
  results: Tensor[],
  others: Tensor[] = [],
): Promise<(Float32Array | Uint32Array)[]> {
  const out = [];
  for (const t of results) out.push(await b.read(t));
  for (const t of [...results, ...others]) b.release(t);
  return out;
}

gpuTest(
  "count_active counts exactly what the reference counts",
  async (gpu) => {
    for (const [rows, cols] of SHAPES) {
      const data = mixed(rows * cols, rows * 31 + cols, true);
      const run = async (b: Backendish) => {
        const x = tensorOf(b, data);
        // Stale counts, to check that the kernel overwrites them.
        const counts = tensorOf(b, new Uint32Array(rows).fill(7));
        b.run("count_active", { x, counts, rows, cols });
        const [result] = await readAll(b, [counts], [x]);
        return result;
      };
      const expected = await run(reference);
      assertSameBits(
        await run(gpu),
        expected,
        `rows=${rows} cols=${cols}: counts`,
      );
    }
  },
);

gpuTest(
  "count_active sees +Inf and subnormals as active, NaN and -0 not",
  async (gpu) => {
    const data = new Float32Array([
      NaN,
      -0,
      0,
      Infinity,
      -Infinity,
      1e-45,
      -1e-45,
      2,
    ]);
    const x = tensorOf(gpu, data);
    const counts = gpu.allocate([8], "uint32");
    gpu.run("count_active", { x, counts, rows: 8, cols: 1 });
    deepEqual([...(await gpu.read(counts))], [0, 0, 0, 1, 0, 1, 0, 1]);
  },
);

/** Runs jumpout_params on both backends and compares keep exactly, scale to 1e-6. */
async function checkParams(
  gpu: WebGpuBackend,
  counts: Uint32Array,
  rate: Uint32Array,
  options: { cols: number; maxDrop: number; normalize: boolean; power: number },
): Promise<void> {
  const rows = rate.length;
  const run = async (b: Backendish) => {
    const keep = b.allocate([rows], "uint32");
    const scale = b.allocate([rows]);
    const c = tensorOf(b, counts), r = tensorOf(b, rate);
    b.run("jumpout_params", {
      counts: c,
      rate: r,
      keep,
      scale,
      rows,
      ...options,
    });
    return await readAll(b, [keep, scale], [c, r]);
  };
  const [keep, scale] = await run(reference);
  const [gpuKeep, gpuScale] = await run(gpu);
  const what = `rows=${rows} ${JSON.stringify(options)}`;
  assertSameBits(gpuKeep, keep, `${what}: keep`);
  closeRelative(
    gpuScale as Float32Array,
    scale as Float32Array,
    `${what}: scale`,
  );
}

gpuTest(
  "jumpout_params gives the reference's keep exactly and its scale to 1e-6",
  async (gpu) => {
    for (const rows of [0, 1, 3, 4, 5, 1023, 2 ** 20 + 3]) {
      for (const cols of [1, 7, 1023, 2 ** 24 + 3, 2 ** 32 - 1]) {
        const counts = Uint32Array.from(
          { length: rows },
          // Zero, all, and in between; counts above cols are allowed too.
          (_, r) => r % 5 === 0 ? 0 : Math.floor(unit(cols, r) * (cols + 1)),
        );
        const rate = Uint32Array.from(
          { length: rows },
          (_, r) =>
            r % 7 === 0 ? RATE_ONE : Math.floor(unit(rows, r) * RATE_ONE),
        );
        for (const normalize of [true, false]) {
          for (const power of [0, 0.75, 2.5]) {
            if (rows > 5000 && (power !== 0.75 || cols !== 1023)) continue;
            await checkParams(gpu, counts, rate, {
              cols,
              maxDrop: Math.round(0.95 * RATE_ONE),
              normalize,
              power,
            });
          }
        }
      }
    }
  },
);

gpuTest(
  "jumpout_params divides 56- and 64-bit products exactly at the maxDrop cap",
  async (gpu) => {
    // Rows built so that rate * cols / count lands on, just below and just
    // above maxDrop, with products from below 2^32 up to above 2^56.
    const maxDrop = 15099494; // round(0.9 * 2^24)
    const counts: number[] = [], rate: number[] = [], cols = 2 ** 32 - 1;
    for (const count of [1, 3, 255, 65537, 2 ** 24 + 1, 2 ** 31 + 11, cols]) {
      for (const target of [0, 1, maxDrop - 1, maxDrop, maxDrop + 1, 2 ** 32]) {
        // The smallest rate with floor(rate * cols / count) >= target, and one more.
        const r = Number(
          (BigInt(target) * BigInt(count) + BigInt(count) - 1n) / BigInt(cols),
        );
        for (const v of [r, r + 1, RATE_ONE, 2 ** 32 - 1]) {
          counts.push(count);
          rate.push(Math.min(v, 2 ** 32 - 1));
        }
      }
    }
    const settings = [
      [cols, maxDrop],
      [2 ** 20, maxDrop],
      [cols, 0],
      [cols, 2 ** 32 - 1],
    ];
    for (const [c, d] of settings) {
      await checkParams(gpu, new Uint32Array(counts), new Uint32Array(rate), {
        cols: c,
        maxDrop: d,
        normalize: true,
        power: 0.75,
      });
    }
  },
);

gpuTest(
  "jumpout_params rescales to 1e-6 over every keep threshold",
  async (gpu) => {
    // All 2^24 thresholds at once (keep = 2^24 - rate), for a few powers.
    const rows = RATE_ONE;
    const rate = new Uint32Array(rows);
    for (let r = 0; r < rows; r++) rate[r] = r;
    const counts = new Uint32Array(rows);
    for (const power of [0.3, 2]) {
      await checkParams(gpu, counts, rate, {
        cols: 1,
        maxDrop: 0,
        normalize: false,
        power,
      });
    }
  },
);

/**
 * Keep thresholds and (exact, shared) scales per row: row 0 keeps about 70%
 * with scale 8 (so one row overflows), then keep-all, drop-all and others.
 */
function rowParams(rows: number): { keep: Uint32Array; scale: Float32Array } {
  const keep = new Uint32Array(rows), scale = new Float32Array(rows);
  const scales = [8, 1, 1.25, 1.7320508, 2 ** 20];
  for (let r = 0; r < rows; r++) {
    const k = r % 6;
    keep[r] = k === 1
      ? RATE_ONE
      : k === 2
      ? 0
      : Math.floor((0.4 + 0.6 * unit(rows + 7, r)) * RATE_ONE);
    if (r === 0) keep[r] = Math.floor(0.7 * RATE_ONE);
    scale[r] = keep[r] === 0 ? 0 : scales[r % scales.length];
  }
  return { keep, scale };
}

gpuTest(
  "mask_scale matches the reference to the bit given the same keep and scale",
  async (gpu) => {
    // Plus one row of 2^24 + 3 elements (16385 workgroups in 65 grid rows).
    for (
      const [rows, cols] of [...SHAPES, [1, 2 ** 24 + 3] as [number, number]]
    ) {
      const n = rows * cols;
      const data = mixed(n, n + 99);
      const { keep, scale } = rowParams(rows);
      for (const key of [0, 0xdeadbeef]) {
        const run = async (b: Backendish) => {
          const x = tensorOf(b, data), y = b.allocate([n]);
          const k = tensorOf(b, keep), s = tensorOf(b, scale);
          b.run("mask_scale", {
            x,
            keep: k,
            scale: s,
            y,
            rows,
            cols,
            key,
            offset: 0,
          });
          const [result] = await readAll(b, [y], [x, k, s]);
          return result;
        };
        assertSameBits(
          await run(gpu),
          await run(reference),
          `rows=${rows} cols=${cols} key=${key}: y`,
        );
      }
    }
  },
);

gpuTest(
  "mask_scale keeps an element exactly when its hash is below keep",
  async (gpu) => {
    // One element per row, each row's threshold at or just above its hash.
    const rows = 64, key = 0x12345678;
    const keep = Uint32Array.from(
      { length: rows },
      (_, r) => (hash32((r ^ key) >>> 0) >>> 8) + (r % 2),
    );
    const x = tensorOf(gpu, new Float32Array(rows).fill(1));
    const y = gpu.allocate([rows]);
    const k = tensorOf(gpu, keep);
    const scale = tensorOf(gpu, new Float32Array(rows).fill(1));
    gpu.run("mask_scale", {
      x,
      keep: k,
      scale,
      y,
      rows,
      cols: 1,
      key,
      offset: 0,
    });
    deepEqual(
      [...(await gpu.read(y))],
      Array.from({ length: rows }, (_, r) => r % 2),
    );
  },
);

gpuTest(
  "mask_scale hashes i + offset, wrapping past 2^32",
  async (gpu) => {
    // Rows of one element straddling 2^32 - 1 → 0; each row's threshold at
    // or just above the hash of its own wrapped index.
    const rows = 64, key = 0x2545f491, offset = 2 ** 32 - 30;
    const keep = Uint32Array.from(
      { length: rows },
      (_, r) =>
        (hash32((((r + offset) % 2 ** 32) ^ key) >>> 0) >>> 8) + (r % 2),
    );
    const x = tensorOf(gpu, new Float32Array(rows).fill(1));
    const y = gpu.allocate([rows]);
    const k = tensorOf(gpu, keep);
    const scale = tensorOf(gpu, new Float32Array(rows).fill(1));
    gpu.run("mask_scale", { x, keep: k, scale, y, rows, cols: 1, key, offset });
    deepEqual(
      [...(await gpu.read(y))],
      Array.from({ length: rows }, (_, r) => r % 2),
    );
  },
);

gpuTest(
  "mask_scale with an offset matches the reference to the bit",
  async (gpu) => {
    for (const [rows, cols] of [[5, 1023], [1000, 7], [3, 2 ** 16 + 9]]) {
      const n = rows * cols;
      const data = mixed(n, n + 17);
      const { keep, scale } = rowParams(rows);
      for (const offset of [3, 2 ** 31 + 5, 2 ** 32 - 2 * cols]) {
        const run = async (b: Backendish) => {
          const x = tensorOf(b, data), y = b.allocate([n]);
          const k = tensorOf(b, keep), s = tensorOf(b, scale);
          b.run("mask_scale", {
            x,
            keep: k,
            scale: s,
            y,
            rows,
            cols,
            key: 0xdeadbeef,
            offset,
          });
          const [result] = await readAll(b, [y], [x, k, s]);
          return result;
        };
        assertSameBits(
          await run(gpu),
          await run(reference),
          `rows=${rows} cols=${cols} offset=${offset}: y`,
        );
      }
    }
  },
);

gpuTest(
  "mask_scale saturates finite overflows and keeps Inf and NaN",
  async (gpu) => {
    const data = new Float32Array([
      3e38,
      -3e38,
      Infinity,
      -Infinity,
      NaN,
      2,
      -0,
      1e38,
    ]);
    const x = tensorOf(gpu, data);
    const y = gpu.allocate([8]);
    const keep = tensorOf(gpu, new Uint32Array([RATE_ONE]));
    const scale = tensorOf(gpu, new Float32Array([4]));
    gpu.run("mask_scale", {
      x,
      keep,
      scale,
      y,
      rows: 1,
      cols: 8,
      key: 1,
      offset: 0,
    });
    const max = FLOAT32_MAX;
    deepEqual([...(await gpu.read(y))], [
      max,
      -max,
      Infinity,
      -Infinity,
      NaN,
      8,
      -0,
      max,
    ]);
  },
);

gpuTest("mask_scale runs in place when y is x", async (gpu) => {
  const rows = 3, cols = 1001, n = rows * cols;
  const data = mixed(n, 5);
  const { keep, scale } = rowParams(rows);
  const run = async (b: Backendish) => {
    const x = tensorOf(b, data), k = tensorOf(b, keep), s = tensorOf(b, scale);
    b.run("mask_scale", {
      x,
      keep: k,
      scale: s,
      y: x,
      rows,
      cols,
      key: 77,
      offset: 0,
    });
    const [result] = await readAll(b, [x], [k, s]);
    return result;
  };
  assertSameBits(await run(gpu), await run(reference), "in-place y");
});

gpuTest(
  "the three kernels in a row give the reference's masks, and values to 1e-6",
  async (gpu) => {
    for (const [rows, cols] of SHAPES) {
      const n = rows * cols;
      const data = mixed(n, n + 3);
      const rate = Uint32Array.from(
        { length: rows },
        (_, r) => Math.floor(unit(9, r) * 0.6 * RATE_ONE),
      );
      const run = async (b: Backendish) => {
        const x = tensorOf(b, data), y = b.allocate([n]);
        const counts = b.allocate([rows], "uint32"), r = tensorOf(b, rate);
        const keep = b.allocate([rows], "uint32"), scale = b.allocate([rows]);
        b.run("count_active", { x, counts, rows, cols });
        b.run("jumpout_params", {
          counts,
          rate: r,
          keep,
          scale,
          rows,
          cols,
          maxDrop: Math.round(0.9 * RATE_ONE),
          normalize: true,
          power: 0.75,
        });
        b.run("mask_scale", {
          x,
          keep,
          scale,
          y,
          rows,
          cols,
          key: 0x9e3779b9,
          offset: 0,
        });
        return await readAll(b, [y, keep], [x, counts, r, scale]);
      };
      const [y, keep] = await run(reference);
      const [gpuY, gpuKeep] = await run(gpu);
      const what = `rows=${rows} cols=${cols}`;
      assertSameBits(gpuKeep, keep, `${what}: keep`);
      sameMask(gpuY as Float32Array, y as Float32Array, `${what}: y`);
      closeRelative(gpuY as Float32Array, y as Float32Array, `${what}: y`);
    }
  },
);

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
  "an output sharing storage with an input it may not overwrite is refused",
  (gpu) => {
    const x = gpu.allocate([4]), scale = gpu.allocate([4]);
    const keep = gpu.allocate([4], "uint32");
    throws(
      () =>
        gpu.run("mask_scale", {
          x,
          keep,
          scale,
          y: scale,
          rows: 4,
          cols: 1,
          key: 0,
          offset: 0,
        }),
      {
        name: "TypeError",
        message:
          "Cannot run mask_scale: y must not share storage with scale, got the same tensor",
      },
    );
  },
);

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

Deno.test("webgpu kernels: createWebGpuBackend without an adapter says so", async () => {
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
