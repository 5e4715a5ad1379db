import {
  deepEqual,
  equal,
  notDeepEqual,
  ok as assert,
  throws,
} from "node:assert/strict";
import {
  createBackend,
  Dropout,
  FLOAT32_MAX,
  Jumpout,
  RATE_ONE,
} from "../mod.ts";
import { hash32, maskKey } from "../src/random.ts";
import type { Tensor } from "../src/backend.ts";
import { pattern } from "./_helpers/backends.ts";
import { CountingBackend } from "./_helpers/counting_backend.ts";

const backend = await createBackend("reference");
const read = (t: Tensor) => backend.readSync!(t) as Float32Array;

/** The kept mask of the last training forward: dx != 0 for dy = 1. */
function keptMask(layer: Jumpout, shape: number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const dx = layer.backward(
    backend.tensor(new Float32Array(size).fill(1), shape),
  );
  return backend.readSync!(dx);
}

Deno.test("Jumpout follows Algorithm 1 step by step", () => {
  const data = pattern(4096);
  const x = backend.tensor(data, [64, 64]);
  const layer = new Jumpout({ sigma: 0.2, seed: 11 });
  const y = backend.readSync!(layer.forward(x, { training: true }));
  const [s] = layer.lastStats!;
  const active = data.filter((v) => v > 0).length;
  deepEqual(s.qPlus, active / data.length);
  const pFix = Math.round(s.p * RATE_ONE);
  const drop = Math.min(
    Math.floor(pFix * data.length / active),
    Math.round(0.6 * RATE_ONE),
  );
  deepEqual(s.rate, 1 - (RATE_ONE - drop) / RATE_ONE);
  assert(Math.abs(s.scale - (1 - s.rate) ** -0.75) < 1e-6 * s.scale);
  const key = maskKey(11, 0);
  data.forEach((v, i) => {
    const kept = (hash32((i ^ key) >>> 0) >>> 8) < RATE_ONE - drop;
    deepEqual(y[i], kept ? Math.fround(v * s.scale) : 0);
  });
});

Deno.test("p' is capped at pMax and is 0 when no unit is active", () => {
  const sparse = new Float32Array(1000);
  sparse[0] = 1; // q+ = 0.001, so p / q+ is far above pMax
  const layer = new Jumpout({ sigma: 0.1, seed: 3, pMax: 0.5 });
  layer.forward(backend.tensor(sparse, [1000]), { training: true });
  deepEqual(layer.lastStats![0].rate, 0.5);
  layer.forward(backend.tensor(new Float32Array(1000).fill(-1), [1000]), {
    training: true,
  });
  deepEqual(layer.lastStats![0].qPlus, 0);
  deepEqual(layer.lastStats![0].rate, 0);
  deepEqual(layer.lastStats![0].scale, 1);
});

Deno.test("inference is the identity and consumes no randomness", async () => {
  const x = backend.tensor(pattern(100), [10, 10]);
  const a = new Jumpout({ seed: 5 });
  const b = new Jumpout({ seed: 5 });
  deepEqual(a.forward(x), x);
  deepEqual(a.forward(x, { training: false }), x);
  deepEqual(a.step, 0);
  const ya = await backend.read(a.forward(x, { training: true }));
  const yb = await backend.read(b.forward(x, { training: true }));
  deepEqual(ya, yb);
});

Deno.test("Dropout is exactly Jumpout with monotone, normalize off and power 1", () => {
  const x = backend.tensor(pattern(5000), [50, 100]);
  for (const scope of ["batch", "sample"] as const) {
    const d = new Dropout({ rate: 0.3, seed: 9, scope });
    const j = new Jumpout({
      monotone: false,
      normalize: false,
      rescalePower: 1,
      rate: 0.3,
      seed: 9,
      scope,
    });
    for (let step = 0; step < 3; step++) {
      deepEqual(
        backend.readSync!(d.forward(x, { training: true })),
        backend.readSync!(j.forward(x, { training: true })),
      );
      deepEqual(keptMask(d, [50, 100]), keptMask(j, [50, 100]));
    }
    deepEqual(d.lastStats![0].scale, Math.fround(1 / 0.7));
  }
});

Deno.test("Dropout({ rate: 0.8 }) drops 80%: no normalisation, no cap", () => {
  const n = 100000;
  const layer = new Dropout({ rate: 0.8, seed: 1 });
  layer.forward(backend.tensor(new Float32Array(n).fill(1), [n]), {
    training: true,
  });
  const kept = keptMask(layer, [n]).filter((v) => v !== 0).length;
  // Binomial(n, 0.2): sd = 126; allow 5 sd.
  assert(Math.abs(kept - 0.2 * n) < 5 * Math.sqrt(n * 0.16), `kept ${kept}`);
  deepEqual(layer.lastStats![0].rate, Math.round(0.8 * RATE_ONE) / RATE_ONE);
});

Deno.test("backward is dy · mask · s with the forward's mask", () => {
  const x = backend.tensor(pattern(300, 4), [3, 100]);
  const dyData = pattern(300, 8);
  for (const scope of ["batch", "sample"] as const) {
    const layer = new Jumpout({ sigma: 0.3, seed: 21, scope });
    const y = backend.readSync!(layer.forward(x, { training: true }));
    const mask = keptMask(layer, [3, 100]);
    const dx = backend.readSync!(
      layer.backward(backend.tensor(dyData, [3, 100])),
    );
    const stats = layer.lastStats!;
    for (let i = 0; i < 300; i++) {
      const s = stats[scope === "sample" ? Math.floor(i / 100) : 0].scale;
      deepEqual(dx[i], mask[i] === 0 ? 0 : Math.fround(dyData[i] * s));
      if (mask[i] === 0) deepEqual(y[i], 0);
    }
  }
});

Deno.test("sample scope draws one p and one q+ per row (NCHW images per image)", () => {
  const data = pattern(2 * 3 * 4 * 4);
  const x = backend.tensor(data, [2, 3, 4, 4]);
  const layer = new Jumpout({ sigma: 0.3, seed: 2, scope: "sample" });
  layer.forward(x, { training: true });
  const stats = layer.lastStats!;
  deepEqual(stats.length, 2);
  for (let r = 0; r < 2; r++) {
    const row = data.subarray(r * 48, (r + 1) * 48);
    deepEqual(stats[r].qPlus, row.filter((v) => v > 0).length / 48);
  }
  assert(stats[0].p !== stats[1].p);
});

Deno.test("two layers with the same options give the same masks; seeds differ", () => {
  const x = backend.tensor(pattern(2000), [20, 100]);
  const a = new Jumpout({ seed: 100 });
  const b = new Jumpout({ seed: 100 });
  const c = new Jumpout({ seed: 101 });
  const ya = backend.readSync!(a.forward(x, { training: true }));
  deepEqual(ya, backend.readSync!(b.forward(x, { training: true })));
  notDeepEqual(
    keptMask(a, [20, 100]),
    keptMask(c.forward(x, { training: true }) && c, [20, 100]),
  );
});

Deno.test("a layer without a seed draws one", () => {
  const a = new Jumpout();
  const b = new Jumpout();
  assert(Number.isInteger(a.options.seed));
  assert(a.options.seed !== b.options.seed);
});

Deno.test("NaN is inactive, kept NaN and Inf pass, finite values never overflow", () => {
  const data = new Float32Array([
    NaN,
    Infinity,
    -Infinity,
    3e38,
    -3e38,
    1,
    -1,
    0,
  ]);
  const layer = new Dropout({ rate: 0.5, seed: 4 });
  const x = backend.tensor(data, [8]);
  let seenKeptHuge = false;
  for (let step = 0; step < 16; step++) {
    const y = backend.readSync!(layer.forward(x, { training: true }));
    y.forEach((v, i) => {
      if (v === 0) return;
      if (Number.isNaN(data[i])) assert(Number.isNaN(v));
      else if (!Number.isFinite(data[i])) deepEqual(v, data[i]);
      else assert(Number.isFinite(v), `element ${i} became ${v}`);
      if (i === 3) {
        deepEqual(v, FLOAT32_MAX);
        seenKeptHuge = true;
      }
    });
  }
  assert(seenKeptHuge);
  const j = new Jumpout({ seed: 1 });
  j.forward(x, { training: true });
  deepEqual(j.lastStats![0].qPlus, 3 / 8); // Inf, 3e38, 1
});

Deno.test("empty tensors work in forward, backward and stats", () => {
  for (const shape of [[0], [0, 5], [3, 0]]) {
    for (const scope of ["batch", "sample"] as const) {
      const layer = new Jumpout({ seed: 1, scope });
      const y = layer.forward(backend.tensor(new Float32Array(0), shape), {
        training: true,
      });
      deepEqual(y.shape, shape);
      const dx = layer.backward(backend.tensor(new Float32Array(0), shape));
      deepEqual(dx.size, 0);
      assert(layer.lastStats!.every((s) => s.rate === 0));
    }
  }
});

Deno.test("readStats agrees with lastStats", async () => {
  const layer = new Jumpout({ seed: 8, scope: "sample" });
  layer.forward(backend.tensor(pattern(400), [4, 100]), { training: true });
  deepEqual(await layer.readStats(), layer.lastStats);
  layer.dispose();
  deepEqual(layer.lastStats, undefined);
});

Deno.test("a built layer rejects another backend after any number of training forwards", () => {
  const other = new CountingBackend();
  for (const scope of ["batch", "sample"] as const) {
    const layer = new Jumpout({ seed: 1, scope });
    layer.build(backend, [4, 3], 0, "0.");
    // A new batch size makes the layer reallocate its per-row tensors.
    for (const batch of [4, 4, 2]) {
      layer.forward(backend.tensor(pattern(batch * 3), [batch, 3]), {
        training: true,
      });
      for (const training of [true, false]) {
        throws(
          () => layer.forward(other.allocate([4, 3]), { training }),
          (e: Error) =>
            e instanceof TypeError &&
            e.message ===
              "Cannot run Jumpout forward: x must be on the reference backend the layer was built for, got a tensor of the reference backend",
          `${scope}, batch ${batch}, training ${training}`,
        );
      }
    }
    // dispose forgets the build: any backend again.
    layer.dispose();
    other.release(layer.forward(other.allocate([4, 3]), { training: true }));
  }
});

Deno.test("build restarts the mask stream: a rebuilt layer draws a fresh layer's masks", () => {
  const x = backend.tensor(pattern(200, 3), [4, 50]);
  const fresh = new Jumpout({ sigma: 0.3, seed: 4 });
  fresh.build(backend, [4, 50], 0, "");
  const first = read(fresh.forward(x, { training: true }));
  const rebuilt = new Jumpout({ sigma: 0.3, seed: 4 });
  rebuilt.build(backend, [4, 50], 0, "");
  rebuilt.forward(x, { training: true });
  const second = read(rebuilt.forward(x, { training: true }));
  notDeepEqual(second, first); // the stream moved on
  rebuilt.build(backend, [4, 50], 0, "");
  equal(rebuilt.step, 0);
  // Nothing of the earlier forwards is left to differentiate or report.
  equal(rebuilt.lastStats, undefined);
  throws(
    () => rebuilt.backward(backend.allocate([4, 50])),
    /needs a training forward first/,
  );
  deepEqual(read(rebuilt.forward(x, { training: true })), first);
  equal(rebuilt.step, 1);
});

Deno.test("a built layer takes only its built shape past the batch; unbuilt, any shape", () => {
  const layer = new Jumpout({ seed: 2 });
  layer.build(backend, [8, 3], 0, "");
  for (const training of [true, false]) {
    throws(
      () => layer.forward(backend.allocate([2, 5]), { training }),
      (e: Error) =>
        e instanceof RangeError &&
        e.message ===
          "Cannot run Jumpout forward: x must have shape [N, 3] as built, got [2, 5]",
    );
  }
  equal(layer.step, 0); // a refused forward draws nothing
  deepEqual(layer.forward(backend.allocate([5, 3])).shape, [5, 3]);
  const free = new Jumpout({ seed: 2 });
  for (const shape of [[2, 5], [3], [1, 2, 3, 4]]) {
    deepEqual(free.forward(backend.allocate(shape)).shape, shape);
  }
});

Deno.test("backward needs the last forward to be a training one; lastStats outlives inference", () => {
  for (const build of [false, true]) {
    const layer = new Dropout({ rate: 0.5, seed: 3 });
    if (build) layer.build(backend, [2, 50], 0, "");
    const x = backend.tensor(pattern(100, 2), [2, 50]);
    layer.forward(x, { training: true });
    const stats = layer.lastStats;
    const mask = keptMask(layer, [2, 50]);
    equal(layer.forward(x), x);
    throws(
      () => layer.backward(backend.allocate([2, 50])),
      (e: Error) =>
        e instanceof TypeError &&
        e.message ===
          "Cannot run Dropout backward: dy needs a training forward first, got backward without a pending forward with training: true",
      `built: ${build}`,
    );
    deepEqual(layer.lastStats, stats);
    // The next training forward draws the next step's mask.
    layer.forward(x, { training: true });
    notDeepEqual(keptMask(layer, [2, 50]), mask);
  }
});
