/**
 * Jumpout on shards of a batch split across data-parallel replicas: each
 * shard's forward, told where its rows sit (and, with scope "batch", the
 * whole batch's count of active inputs), must give exactly the slice of what
 * one layer gives the whole batch. Shards and the whole batch run the same
 * kernels on the same numbers, so every comparison is bit for bit, with no
 * tolerance.
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  type Backend,
  type BackendName,
  createBackend,
  Dropout,
  type ForwardOptions,
  Jumpout,
  type JumpoutStats,
  RATE_ONE,
  type Tensor,
} from "../mod.ts";
import { hash32, maskKey } from "../src/random.ts";
import { assertSameBits } from "./_helpers/assert.ts";
import { ignoreBackend, pattern, withBackend } from "./_helpers/backends.ts";
import { CountingBackend } from "./_helpers/counting_backend.ts";

const BACKENDS: BackendName[] = ["reference", "wasm", "webgpu"];
const reference = await createBackend("reference");

/** Pattern data with the values a layer meets at the edges: NaN, ±Inf, huge. */
function inputData(n: number, seed: number): Float32Array {
  const data = pattern(n, seed);
  const special = [NaN, Infinity, -Infinity, 3.3e38, -3.3e38, -0, 1e-45];
  for (let i = 3; i < n; i += 11) data[i] = special[(i - 3) / 11 % 7];
  return data;
}

/** The elements > 0 (NaN is not), counted in plain JavaScript. */
function activeIn(data: Float32Array): number {
  return data.filter((v) => v > 0).length;
}

/** What one step of a layer gives: output, gradient and statistics. */
interface StepResult {
  y: Float32Array;
  dx: Float32Array;
  stats: JumpoutStats[];
}

/** One forward, its stats and a backward of `dyData`; frees its tensors. */
async function step(
  backend: Backend,
  layer: Jumpout,
  data: Float32Array,
  dyData: Float32Array,
  shape: number[],
  options: ForwardOptions,
): Promise<StepResult> {
  const x = backend.tensor(data, shape);
  const y = layer.forward(x, { training: true, ...options });
  const stats = (await layer.readStats())!;
  const dx = layer.backward(backend.tensor(dyData, shape));
  const result = {
    y: await backend.read(y),
    dx: await backend.read(dx),
    stats,
  };
  for (const t of [x, y, dx] as Tensor[]) backend.release(t);
  return result;
}

/** Concatenated float arrays. */
function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Runs `steps` training steps of one layer on the whole batch and of one
 * layer per shard (rows `cuts[s]` to `cuts[s + 1]`), each shard told its
 * rows and, when `exchange`, the whole batch's active count (summed from
 * each replica's own {@linkcode Jumpout.countActive}, as replicas would).
 */
async function wholeAndShards(
  backend: Backend,
  make: () => Jumpout,
  shape: number[],
  cuts: number[],
  exchange: boolean,
  steps = 3,
) {
  const [batch, ...sample] = shape;
  const units = sample.reduce((a, b) => a * b, 1);
  const whole = make();
  const shards = cuts.slice(1).map(() => make());
  const out = [];
  for (let t = 0; t < steps; t++) {
    const data = inputData(batch * units, 17 + t);
    const dyData = pattern(batch * units, 91 + t);
    const expected = await step(backend, whole, data, dyData, shape, {});
    const slices = shards.map((_, s) => {
      const [from, to] = [cuts[s] * units, cuts[s + 1] * units];
      return {
        shape: [cuts[s + 1] - cuts[s], ...sample],
        data: data.slice(from, to),
        dy: dyData.slice(from, to),
        shard: { rowOffset: cuts[s], batchRows: batch },
      };
    });
    let activeCount: number | undefined;
    if (exchange) {
      const counts = await Promise.all(slices.map(async (part, s) => {
        const x = backend.tensor(part.data, part.shape);
        const count = await shards[s].countActive(x);
        backend.release(x);
        return count;
      }));
      activeCount = counts.reduce((a, b) => a + b, 0);
    }
    const parts = [];
    for (const [s, part] of slices.entries()) {
      parts.push(
        await step(backend, shards[s], part.data, part.dy, part.shape, {
          shard: part.shard,
          activeCount,
        }),
      );
    }
    out.push({ expected, parts, data, activeCount });
  }
  whole.dispose();
  for (const layer of shards) layer.dispose();
  return out;
}

/** Row splits of a batch: halves, thirds and uneven ones with an empty shard. */
const CASES: { shape: number[]; cuts: number[] }[] = [
  { shape: [6, 10], cuts: [0, 3, 6] },
  { shape: [6, 10], cuts: [0, 1, 4, 6] },
  { shape: [5, 2, 3, 3], cuts: [0, 2, 5] },
  { shape: [5, 2, 3, 3], cuts: [0, 1, 1, 5] },
  { shape: [4, 1031], cuts: [0, 1, 3, 4] },
];

for (const name of BACKENDS) {
  const ignore = await ignoreBackend(name);

  Deno.test({
    name:
      `${name}: scope "batch" shards with the whole batch's activeCount give the whole batch's outputs, gradients and stats`,
    ignore,
  }, async () => {
    await withBackend(name, async (backend) => {
      const makers = [
        () => new Jumpout({ sigma: 0.3, seed: 42 }),
        () => new Jumpout({ monotone: false, rate: 0.2, seed: 7 }),
      ];
      for (const { shape, cuts } of CASES) {
        for (const make of makers) {
          const runs = await wholeAndShards(backend, make, shape, cuts, true);
          for (
            const [t, { expected, parts, data, activeCount }] of runs.entries()
          ) {
            const what = `shape=[${shape}] cuts=[${cuts}] step ${t}`;
            equal(activeCount, activeIn(data), `${what}: activeCount`);
            assertSameBits(
              concat(parts.map((p) => p.y)),
              expected.y,
              `${what}: y`,
            );
            assertSameBits(
              concat(parts.map((p) => p.dx)),
              expected.dx,
              `${what}: dx`,
            );
            // Every shard reports the whole batch's one scope unit.
            for (const p of parts) deepEqual(p.stats, expected.stats, what);
            equal(expected.stats[0].qPlus, activeIn(data) / data.length);
          }
        }
      }
    });
  });

  Deno.test({
    name:
      `${name}: scope "sample" shards give the whole batch's outputs, gradients and per-row stats`,
    ignore,
  }, async () => {
    await withBackend(name, async (backend) => {
      const makers = [
        () => new Jumpout({ sigma: 0.3, seed: 42, scope: "sample" }),
        () => new Dropout({ rate: 0.3, seed: 9, scope: "sample" }),
      ];
      for (const { shape, cuts } of CASES) {
        for (const make of makers) {
          const runs = await wholeAndShards(backend, make, shape, cuts, false);
          for (const [t, { expected, parts }] of runs.entries()) {
            const what = `shape=[${shape}] cuts=[${cuts}] step ${t}`;
            assertSameBits(
              concat(parts.map((p) => p.y)),
              expected.y,
              `${what}: y`,
            );
            assertSameBits(
              concat(parts.map((p) => p.dx)),
              expected.dx,
              `${what}: dx`,
            );
            deepEqual(parts.flatMap((p) => p.stats), expected.stats, what);
          }
        }
      }
    });
  });

  Deno.test({
    name:
      `${name}: Dropout shards (scope "batch", no count needed) give the whole batch's outputs`,
    ignore,
  }, async () => {
    await withBackend(name, async (backend) => {
      const make = () => new Dropout({ rate: 0.4, seed: 3 });
      for (const { shape, cuts } of CASES) {
        const runs = await wholeAndShards(backend, make, shape, cuts, false);
        for (const [t, { expected, parts }] of runs.entries()) {
          const what = `shape=[${shape}] cuts=[${cuts}] step ${t}`;
          assertSameBits(
            concat(parts.map((p) => p.y)),
            expected.y,
            `${what}: y`,
          );
          assertSameBits(
            concat(parts.map((p) => p.dx)),
            expected.dx,
            `${what}: dx`,
          );
        }
      }
    });
  });

  Deno.test({
    name:
      `${name}: mask_scale on rows [r0, r1) with offset r0 · cols is that slice of the whole tensor's result`,
    ignore,
  }, async () => {
    await withBackend(name, async (backend) => {
      const rows = 9, cols = 4099, key = 0x0badf00d;
      const data = inputData(rows * cols, 5);
      const keep = Uint32Array.from(
        { length: rows },
        (_, r) => [12000000, 2 ** 24, 0, 7340032][r % 4],
      );
      const scale = Float32Array.from({ length: rows }, (_, r) => 1 + r / 8);
      const run = async (from: number, to: number) => {
        const n = (to - from) * cols;
        const x = backend.tensor(data.slice(from * cols, to * cols), [n]);
        const k = backend.allocate([to - from], "uint32");
        backend.upload(k, keep.slice(from, to));
        const s = backend.tensor(scale.slice(from, to), [to - from]);
        const y = backend.allocate([n]);
        backend.run("mask_scale", {
          x,
          keep: k,
          scale: s,
          y,
          rows: to - from,
          cols,
          key,
          offset: from * cols,
        });
        const out = await backend.read(y);
        for (const t of [x, k, s, y] as Tensor[]) backend.release(t);
        return out;
      };
      const whole = await run(0, rows);
      for (const [from, to] of [[0, 3], [3, 4], [4, 9], [2, 7], [5, 5]]) {
        assertSameBits(
          await run(from, to),
          whole.slice(from * cols, to * cols),
          `rows [${from}, ${to})`,
        );
      }
    });
  });
}

Deno.test("reference mask_scale keeps element i by the hash of (i + offset) mod 2^32", () => {
  // Written from the definition, not from the reference's code; the offset
  // makes the indices wrap past 2^32 half way through.
  const n = 4000, key = 0x9e3779b9, offset = 2 ** 32 - 2000, keep = 9000000;
  const data = inputData(n, 8);
  const x = reference.tensor(data, [n]);
  const k = reference.allocate([1], "uint32");
  reference.upload(k, new Uint32Array([keep]));
  const s = reference.tensor(new Float32Array([2]), [1]);
  const y = reference.allocate([n]);
  reference.run("mask_scale", {
    x,
    keep: k,
    scale: s,
    y,
    rows: 1,
    cols: n,
    key,
    offset,
  });
  const want = Float32Array.from(data, (v, i) => {
    const index = (i + offset) % 2 ** 32;
    const kept = hash32(Number(BigInt(index) ^ BigInt(key))) >>> 8 < keep;
    if (!kept) return 0;
    const p = Math.fround(v * 2);
    return Number.isFinite(v) && !Number.isFinite(p)
      ? Math.sign(p) * 3.4028234663852886e38
      : p;
  });
  assertSameBits(reference.readSync!(y), want, "y");
});

Deno.test("without activeCount each shard reports its own q+ and keeps the whole batch's mask indices", () => {
  const shape = [6, 50], units = 50, seed = 21;
  const data = inputData(300, 4);
  const whole = new Jumpout({ sigma: 0.3, seed });
  whole.forward(reference.tensor(data, shape), { training: true });
  for (const [from, to] of [[0, 2], [2, 6]]) {
    const part = data.slice(from * units, to * units);
    const layer = new Jumpout({ sigma: 0.3, seed });
    const x = reference.tensor(part, [to - from, units]);
    layer.forward(x, {
      training: true,
      shard: { rowOffset: from, batchRows: 6 },
    });
    const [stats] = layer.lastStats!;
    equal(stats.qPlus, activeIn(part) / part.length);
    equal(stats.p, whole.lastStats![0].p);
    // dy = 1 gives the mask; element i of the shard is element
    // from · units + i of the batch.
    const dx = reference.readSync!(
      layer.backward(
        reference.tensor(new Float32Array(part.length).fill(1), x.shape),
      ),
    );
    const threshold = Math.round((1 - stats.rate) * RATE_ONE);
    const key = maskKey(seed, 0);
    dx.forEach((v, i) => {
      const kept = hash32(((from * units + i) ^ key) >>> 0) >>> 8 < threshold;
      equal(v !== 0, kept, `rows [${from}, ${to}) element ${i}`);
    });
  }
});

Deno.test("shard and activeCount errors name the option and change nothing", () => {
  const layer = new Jumpout({ seed: 2 });
  const x = reference.tensor(inputData(60, 1), [6, 10]);
  const dy = reference.tensor(pattern(60, 2), [6, 10]);
  layer.forward(x, { training: true });
  const stats = layer.lastStats;
  const dx = reference.readSync!(layer.backward(dy));
  const bad: [object, ErrorConstructor, string][] = [
    [
      { shard: 5 },
      TypeError,
      "shard must be an object { rowOffset, batchRows }, got 5",
    ],
    [
      { shard: null },
      TypeError,
      "shard must be an object { rowOffset, batchRows }, got null",
    ],
    [
      { shard: { rowOffset: -1, batchRows: 6 } },
      RangeError,
      "shard.rowOffset must be an integer >= 0, got -1",
    ],
    [
      { shard: { rowOffset: 1.5, batchRows: 6 } },
      RangeError,
      "shard.rowOffset must be an integer >= 0, got 1.5",
    ],
    [
      { shard: { rowOffset: 0 } },
      RangeError,
      "shard.batchRows must be an integer >= 0, got undefined",
    ],
    [
      { shard: { rowOffset: 2, batchRows: 7 } },
      RangeError,
      "shard.rowOffset + x.shape[0] must not exceed shard.batchRows, got 2 + 6 > 7",
    ],
    [
      { shard: { rowOffset: 0, batchRows: 2 ** 29 } },
      RangeError,
      "shard.batchRows × 10 units per row must be below 2^32, got 536870912 rows (5368709120 units)",
    ],
    [
      { activeCount: 3 },
      TypeError,
      "activeCount needs shard (where the rows sit in the whole batch), got activeCount 3 without shard",
    ],
    [
      { shard: { rowOffset: 0, batchRows: 12 }, activeCount: 121 },
      RangeError,
      "activeCount must be an integer in [0, 120] (the whole batch's units), got 121",
    ],
    [
      { shard: { rowOffset: 0, batchRows: 12 }, activeCount: -1 },
      RangeError,
      "activeCount must be an integer in [0, 120] (the whole batch's units), got -1",
    ],
    [
      { shard: { rowOffset: 0, batchRows: 12 }, activeCount: 2.5 },
      RangeError,
      "activeCount must be an integer in [0, 120] (the whole batch's units), got 2.5",
    ],
  ];
  for (const [options, Err, detail] of bad) {
    for (const training of [true, false]) {
      throws(
        () => layer.forward(x, { training, ...options }),
        (e: Error) =>
          e instanceof Err &&
          e.message === `Cannot run Jumpout forward: ${detail}`,
        `${JSON.stringify(options)} training: ${training}`,
      );
    }
  }
  // Nothing changed: same step, same stats, and backward still differentiates
  // the last good forward.
  equal(layer.step, 1);
  equal(layer.lastStats, stats);
  assertSameBits(reference.readSync!(layer.backward(dy)), dx, "dx");
});

Deno.test("activeCount is refused where q+ is not one count of the whole batch", () => {
  const x = reference.tensor(pattern(12), [3, 4]);
  const shard = { rowOffset: 0, batchRows: 3 };
  const cases: [Jumpout, string][] = [
    [
      new Jumpout({ seed: 1, scope: "sample" }),
      'Cannot run Jumpout forward: activeCount needs scope: "batch" (each sample counts its own units), got scope: "sample"',
    ],
    [
      new Jumpout({ seed: 1, normalize: false }),
      "Cannot run Jumpout forward: activeCount needs normalize: true (it only sets q+), got normalize: false",
    ],
    [
      new Dropout({ rate: 0.5, seed: 1 }),
      "Cannot run Dropout forward: activeCount needs normalize: true (it only sets q+), got normalize: false",
    ],
  ];
  for (const [layer, message] of cases) {
    throws(
      () => layer.forward(x, { training: true, shard, activeCount: 5 }),
      { name: "TypeError", message },
    );
    equal(layer.step, 0);
  }
});

Deno.test("a shard needs a batch dimension", () => {
  const scalar = reference.tensor(new Float32Array([1]), []);
  throws(
    () =>
      new Jumpout({ seed: 1 }).forward(scalar, {
        training: true,
        shard: { rowOffset: 0, batchRows: 1 },
      }),
    {
      name: "RangeError",
      message:
        "Cannot run Jumpout forward: x must have a batch dimension with shard, got shape []",
    },
  );
});

Deno.test("activeCount sets q+ and the rate from the whole batch's count", () => {
  // 3 active of the shard's 4 units, 5 of the batch's 16: q+ = 5/16.
  const x = reference.tensor(new Float32Array([1, 2, 3, -1]), [1, 4]);
  const layer = new Jumpout({ sigma: 0.2, seed: 4 });
  layer.forward(x, {
    training: true,
    shard: { rowOffset: 2, batchRows: 4 },
    activeCount: 5,
  });
  const [s] = layer.lastStats!;
  equal(s.qPlus, 5 / 16);
  const drop = Math.min(
    Math.floor(Math.round(s.p * RATE_ONE) * 16 / 5),
    Math.round(0.6 * RATE_ONE),
  );
  equal(s.rate, drop / RATE_ONE);
});

for (const name of BACKENDS) {
  Deno.test({
    name: `${name}: countActive counts elements > 0, NaN and -0 not included`,
    ignore: await ignoreBackend(name),
  }, async () => {
    await withBackend(name, async (backend) => {
      const layer = new Jumpout({ seed: 1 });
      const special = new Float32Array([
        NaN,
        -0,
        0,
        Infinity,
        -Infinity,
        1e-45,
        -1e-45,
        3.3e38,
      ]);
      equal(await layer.countActive(backend.tensor(special, [2, 4])), 3);
      const data = inputData(100003, 6);
      equal(
        await layer.countActive(backend.tensor(data, [100003])),
        activeIn(data),
      );
      equal(await layer.countActive(backend.allocate([0, 5])), 0);
    });
  });
}

Deno.test("countActive frees its temporary and checks its tensor", async () => {
  const counting = new CountingBackend();
  const x = counting.tensor(new Float32Array([1, -1, 2]), [3]);
  const layer = new Jumpout({ seed: 1 });
  const live = counting.live.size, allocations = counting.allocations;
  equal(await layer.countActive(x), 2);
  equal(counting.live.size, live);
  equal(counting.allocations, allocations + 1);
  layer.build(counting, [3], 0, "0.");
  await rejects(
    layer.countActive(reference.tensor(new Float32Array(3), [3])),
    {
      name: "TypeError",
      message:
        "Cannot run Jumpout countActive: x must be on the reference backend the layer was built for, got a tensor of the reference backend",
    },
  );
  counting.release(x);
  await rejects(layer.countActive(x), {
    name: "TypeError",
    message:
      "Cannot run Jumpout countActive: x was released, got a released tensor of shape [3]",
  });
});

Deno.test("setting step resumes the mask stream; bad steps are refused", async () => {
  const x = reference.tensor(inputData(200, 3), [4, 50]);
  const trained = new Jumpout({ sigma: 0.3, seed: 12, scope: "sample" });
  for (let t = 0; t < 4; t++) trained.forward(x, { training: true });
  const resumed = new Jumpout({ sigma: 0.3, seed: 12, scope: "sample" });
  resumed.step = 4;
  equal(resumed.step, 4);
  const a = await reference.read(trained.forward(x, { training: true }));
  const b = await reference.read(resumed.forward(x, { training: true }));
  assertSameBits(b, a, "y");
  deepEqual(resumed.lastStats, trained.lastStats);
  equal(resumed.step, 5);
  for (const value of [-1, 1.5, NaN, 2 ** 53, "3"]) {
    throws(
      () => {
        resumed.step = value as number;
      },
      {
        name: "RangeError",
        message:
          `Cannot set Jumpout step: step must be a safe integer >= 0, got ${
            String(value)
          }`,
      },
    );
    equal(resumed.step, 5);
  }
  // A set step differs from a fresh layer's, and build restarts it.
  const fresh = await reference.read(
    new Jumpout({ sigma: 0.3, seed: 12, scope: "sample" }).forward(x, {
      training: true,
    }),
  );
  ok(!a.every((v, i) => Object.is(v, fresh[i])));
  resumed.build(reference, [4, 50], 0, "0.");
  equal(resumed.step, 0);
});
