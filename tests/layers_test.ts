/**
 * Layer semantics against direct float64 computations, initialisation,
 * running statistics, convolutions sharing workspaces, the Layer contract of
 * Jumpout, and argument errors.
 */
import { deepEqual, equal, notDeepEqual, ok, throws } from "node:assert/strict";
import {
  type BackendName,
  createBackend,
  Dropout,
  Jumpout,
  type Tensor,
} from "../mod.ts";
import type { Layer } from "../src/layers/layer.ts";
import { BatchNorm } from "../src/layers/batch_norm.ts";
import { Conv2d } from "../src/layers/conv2d.ts";
import { Dense } from "../src/layers/dense.ts";
import { Flatten } from "../src/layers/flatten.ts";
import { GlobalAvgPool } from "../src/layers/global_avg_pool.ts";
import { MaxPool2d } from "../src/layers/max_pool2d.ts";
import { AvgPool2d } from "../src/layers/avg_pool2d.ts";
import { ReLU } from "../src/layers/relu.ts";
import { ignoreBackend, pattern, withBackend } from "./_helpers/backends.ts";
import { assertSameBits } from "./_helpers/assert.ts";
import { CountingBackend } from "./_helpers/counting_backend.ts";

const backend = await createBackend("reference");
const read = (t: Tensor) => backend.readSync!(t) as Float32Array;

/**
 * Each value within 1e-5 of the float64 one, relative to the sum of the
 * magnitudes that went into it (float32 rounding of the inputs' products is
 * about 6e-8 of that per term).
 */
function closeTo(
  actual: Float32Array,
  expected: Float64Array,
  magnitude: Float64Array,
  what: string,
): void {
  equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    ok(
      Math.abs(actual[i] - expected[i]) <= 1e-5 * (magnitude[i] + 1e-30),
      `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`,
    );
  }
}

Deno.test("Conv2d equals a direct float64 convolution", () => {
  const configs = [
    { k: 3, stride: 1, padding: 0 },
    { k: 3, stride: 1, padding: 1 },
    { k: 3, stride: 2, padding: 1 },
    { k: 2, stride: 2, padding: 0 },
    { k: 1, stride: 1, padding: 0 },
  ];
  for (const { k, stride, padding } of configs) {
    const [n, cin, h, w, cout] = [2, 3, 5, 6, 4];
    const conv = new Conv2d(cin, cout, k, { stride, padding });
    const outShape = conv.build(backend, [n, cin, h, w], 17, "");
    const [weight, bias] = conv.parameters();
    const b = pattern(cout, 3);
    backend.upload(bias.value, b);
    const W = read(weight.value);
    const xData = pattern(n * cin * h * w, 4);
    const y = read(conv.forward(backend.tensor(xData, [n, cin, h, w])));
    const [, , oh, ow] = outShape;
    deepEqual(outShape, [
      n,
      cout,
      Math.floor((h + 2 * padding - k) / stride) + 1,
      Math.floor((w + 2 * padding - k) / stride) + 1,
    ]);
    const expected = new Float64Array(n * cout * oh * ow);
    const magnitude = new Float64Array(expected.length);
    for (let b0 = 0; b0 < n; b0++) {
      for (let o = 0; o < cout; o++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let sum = b[o], mag = Math.abs(b[o]);
            for (let c = 0; c < cin; c++) {
              for (let ky = 0; ky < k; ky++) {
                for (let kx = 0; kx < k; kx++) {
                  const iy = oy * stride - padding + ky;
                  const ix = ox * stride - padding + kx;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const term = W[((o * cin + c) * k + ky) * k + kx] *
                    xData[((b0 * cin + c) * h + iy) * w + ix];
                  sum += term;
                  mag += Math.abs(term);
                }
              }
            }
            const i = ((b0 * cout + o) * oh + oy) * ow + ox;
            expected[i] = sum;
            magnitude[i] = mag;
          }
        }
      }
    }
    closeTo(y, expected, magnitude, `Conv2d k${k} s${stride} p${padding}`);
  }
});

/** Two convolutions of different sizes, whose workspaces are shared. */
const SHARING_CONVS = [
  { make: () => new Conv2d(2, 3, 3, { padding: 1 }), shape: [2, 2, 5, 5] },
  {
    make: () => new Conv2d(3, 4, 3, { stride: 2, padding: 1 }),
    shape: [3, 3, 9, 8],
  },
];

/**
 * Runs `steps` ("f0": forward of conv 0, "b1": backward of conv 1, …) on
 * one backend and reads each conv's y, dx, dW and db.
 */
async function convSteps(
  name: BackendName,
  steps: string[],
): Promise<Map<number, Float32Array[]>> {
  const results = new Map<number, Float32Array[]>();
  await withBackend(name, async (b) => {
    const used = new Set(steps.map((s) => Number(s[1])));
    const convs = new Map<number, { conv: Conv2d; x: Tensor; y?: Tensor }>();
    for (const i of used) {
      const { make, shape } = SHARING_CONVS[i];
      const conv = make();
      conv.build(b, shape, 5 + i, "");
      // A nonzero bias, so that y's check covers bias_add too.
      b.upload(conv.parameters()[1].value, pattern(conv.outChannels, 9 + i));
      convs.set(i, { conv, x: b.tensor(pattern(size(shape), 3 + i), shape) });
    }
    for (const step of steps) {
      const i = Number(step[1]);
      const c = convs.get(i)!;
      if (step[0] === "f") {
        c.y = c.conv.forward(c.x, { training: true });
        continue;
      }
      const dy = b.tensor(pattern(c.y!.size, 7 + i), c.y!.shape);
      const dx = c.conv.backward(dy);
      const [weight, bias] = c.conv.parameters();
      results.set(
        i,
        await Promise.all(
          [c.y!, dx, weight.grad, bias.grad].map((t) =>
            b.read(t) as Promise<Float32Array>
          ),
        ),
      );
    }
  });
  return results;
}

for (const name of ["reference", "wasm", "webgpu"] as BackendName[]) {
  Deno.test({
    name:
      `${name}: Conv2d layers interleaved on one backend give what each gives alone`,
    ignore: await ignoreBackend(name),
    async fn() {
      const alone = [
        (await convSteps(name, ["f0", "b0"])).get(0)!,
        (await convSteps(name, ["f1", "b1"])).get(1)!,
      ];
      const orders = [
        ["f0", "f1", "b0", "b1"],
        ["f0", "f1", "b1", "b0"],
        ["f1", "f0", "b0", "b1"],
      ];
      for (const order of orders) {
        const together = await convSteps(name, order);
        for (const i of [0, 1]) {
          ["y", "dx", "dW", "db"].forEach((what, j) =>
            assertSameBits(
              together.get(i)![j],
              alone[i][j],
              `${order.join(" ")}: conv ${i} ${what}`,
            )
          );
        }
      }
    },
  });
}

Deno.test("Dense equals x · W + b in float64, W stored [in, out]", () => {
  const dense = new Dense(5, 3);
  dense.build(backend, [4, 5], 2, "");
  const [weight, bias] = dense.parameters();
  deepEqual(weight.value.shape, [5, 3]);
  const b = pattern(3, 7);
  backend.upload(bias.value, b);
  const W = read(weight.value);
  const x = pattern(20, 8);
  const y = read(dense.forward(backend.tensor(x, [4, 5])));
  const expected = new Float64Array(12), magnitude = new Float64Array(12);
  for (let r = 0; r < 4; r++) {
    for (let o = 0; o < 3; o++) {
      let sum = b[o], mag = Math.abs(b[o]);
      for (let i = 0; i < 5; i++) {
        sum += x[r * 5 + i] * W[i * 3 + o];
        mag += Math.abs(x[r * 5 + i] * W[i * 3 + o]);
      }
      expected[r * 3 + o] = sum;
      magnitude[r * 3 + o] = mag;
    }
  }
  closeTo(y, expected, magnitude, "Dense");
});

Deno.test("He-normal initialisation: N(0, 2 / fanIn) from the seed, biases 0, gamma 1", () => {
  const dense = new Dense(500, 200);
  dense.build(backend, [1, 500], 11, "");
  const w = read(dense.parameters()[0].value);
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
  // 100000 draws: the mean's sd is 2e-4, the variance's relative sd 0.45%.
  ok(Math.abs(mean) < 1e-3, `mean ${mean}`);
  ok(Math.abs(variance / (2 / 500) - 1) < 0.03, `variance ${variance}`);
  ok(read(dense.parameters()[1].value).every((v) => v === 0));

  const conv = (seed: number) => {
    const layer = new Conv2d(4, 8, 3);
    layer.build(backend, [1, 4, 3, 3], seed, "");
    return read(layer.parameters()[0].value);
  };
  deepEqual(conv(5), conv(5));
  notDeepEqual(conv(5), conv(6));
  const cw = conv(5);
  const cv = cw.reduce((a, b) => a + b * b, 0) / cw.length;
  ok(Math.abs(cv / (2 / 36) - 1) < 0.25, `conv variance ${cv}`); // 288 draws

  const bn = new BatchNorm(3);
  bn.build(backend, [2, 3], 0, "");
  const [gamma, beta, mean0, var0] = [...bn.state().values()].map(read);
  deepEqual([...gamma, ...beta, ...mean0, ...var0], [
    ...[1, 1, 1],
    ...[0, 0, 0],
    ...[0, 0, 0],
    ...[1, 1, 1],
  ]);
});

Deno.test("BatchNorm: batch statistics in training, PyTorch's running update, running statistics in evaluation", () => {
  for (const shape of [[6, 2], [3, 2, 2, 2]]) {
    const bn = new BatchNorm(2, { momentum: 0.3, epsilon: 1e-3 });
    bn.build(backend, shape, 0, "bn.");
    const size = shape.reduce((a, b) => a * b, 1);
    const inner = shape.length === 4 ? 4 : 1;
    const channelOf = (i: number) => Math.floor(i / inner) % 2;
    const runMean = [0, 0], runVar = [1, 1];
    for (let step = 0; step < 3; step++) {
      const data = pattern(size, step + 1).map((v, i) => v + 2 * channelOf(i));
      const y = read(
        bn.forward(backend.tensor(data, shape), { training: true }),
      );
      for (let c = 0; c < 2; c++) {
        const values = [...data].filter((_, i) => channelOf(i) === c);
        const m = values.length;
        const mean = values.reduce((a, b) => a + b, 0) / m;
        const biased = values.reduce((a, b) => a + (b - mean) ** 2, 0) / m;
        data.forEach((v, i) => {
          if (channelOf(i) !== c) return;
          const expected = (v - mean) / Math.sqrt(biased + 1e-3);
          ok(Math.abs(y[i] - expected) < 1e-5, `${shape}: y[${i}]`);
        });
        runMean[c] = 0.7 * runMean[c] + 0.3 * mean;
        runVar[c] = 0.7 * runVar[c] + 0.3 * biased * m / (m - 1);
      }
      const state = bn.state();
      const gotMean = read(state.get("bn.running_mean")!);
      const gotVar = read(state.get("bn.running_var")!);
      for (let c = 0; c < 2; c++) {
        ok(Math.abs(gotMean[c] - runMean[c]) < 1e-5, `running mean ${c}`);
        ok(Math.abs(gotVar[c] - runVar[c]) < 1e-5, `running var ${c}`);
      }
    }
    const x = pattern(size, 9);
    const y = read(bn.forward(backend.tensor(x, shape)));
    x.forEach((v, i) => {
      const c = channelOf(i);
      const expected = (v - runMean[c]) / Math.sqrt(runVar[c] + 1e-3);
      ok(Math.abs(y[i] - expected) < 1e-5, `eval y[${i}]`);
    });
  }
  const bn = new BatchNorm(2);
  bn.build(backend, [1, 2], 0, "");
  throws(
    () => bn.forward(backend.allocate([1, 2]), { training: true }),
    /BatchNorm\(2\) forward: x must hold at least 2 values per channel in training, got \[1, 2\]/,
  );
  bn.forward(backend.allocate([1, 2])); // evaluation takes one sample
});

Deno.test("MaxPool2d and GlobalAvgPool match direct computations", () => {
  const x = pattern(2 * 3 * 5 * 5, 12);
  const pool = new MaxPool2d(3, { stride: 2, padding: 1 });
  deepEqual(pool.build(backend, [2, 3, 5, 5], 0, ""), [2, 3, 3, 3]);
  const y = read(pool.forward(backend.tensor(x, [2, 3, 5, 5])));
  for (let p = 0; p < 6; p++) {
    for (let oy = 0; oy < 3; oy++) {
      for (let ox = 0; ox < 3; ox++) {
        let max = -Infinity;
        for (let iy = oy * 2 - 1; iy <= oy * 2 + 1; iy++) {
          for (let ix = ox * 2 - 1; ix <= ox * 2 + 1; ix++) {
            if (iy >= 0 && iy < 5 && ix >= 0 && ix < 5) {
              max = Math.max(max, x[p * 25 + iy * 5 + ix]);
            }
          }
        }
        equal(y[p * 9 + oy * 3 + ox], max);
      }
    }
  }
  const gap = new GlobalAvgPool();
  gap.build(backend, [2, 3, 5, 5], 0, "");
  const means = read(gap.forward(backend.tensor(x, [2, 3, 5, 5])));
  for (let p = 0; p < 6; p++) {
    const expected = x.slice(p * 25, p * 25 + 25).reduce((a, b) => a + b, 0) /
      25;
    ok(Math.abs(means[p] - expected) < 1e-6);
  }
});

Deno.test("AvgPool2d equals a direct float64 average, padding counted in the divisor", () => {
  // [kernel, stride, padding, height, width]: disjoint windows on a ragged
  // image, padded and overlapping, stride 1, and a stride past the kernel.
  const cases: [number, number, number, number, number][] = [
    [2, 2, 0, 4, 5],
    [3, 2, 1, 5, 5],
    [3, 1, 1, 4, 6],
    [2, 3, 1, 7, 5],
  ];
  for (const [k, stride, padding, h, w] of cases) {
    const pool = new AvgPool2d(k, { stride, padding });
    const outH = Math.floor((h + 2 * padding - k) / stride) + 1;
    const outW = Math.floor((w + 2 * padding - k) / stride) + 1;
    const inShape = [2, 3, h, w], outShape = [2, 3, outH, outW];
    deepEqual(pool.build(backend, inShape, 0, ""), outShape);
    const x = pattern(size(inShape), 12);
    const dy = pattern(size(outShape), 13);
    const xt = backend.tensor(x, inShape);
    const y = read(pool.forward(xt, { training: true }));
    const dx = read(pool.backward(backend.tensor(dy, outShape)));
    const sums = new Float64Array(y.length);
    const sumsAbs = new Float64Array(y.length);
    const grads = new Float64Array(x.length);
    const gradsAbs = new Float64Array(x.length);
    const area = k * k;
    for (let p = 0; p < 6; p++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const o = (p * outH + oy) * outW + ox;
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * stride - padding + ky;
              const ix = ox * stride - padding + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const i = (p * h + iy) * w + ix;
              sums[o] += x[i] / area;
              sumsAbs[o] += Math.abs(x[i]) / area;
              grads[i] += dy[o] / area;
              gradsAbs[i] += Math.abs(dy[o]) / area;
            }
          }
        }
      }
    }
    closeTo(y, sums, sumsAbs, `${pool.name} y`);
    closeTo(dx, grads, gradsAbs, `${pool.name} dx`);
  }
  equal(new AvgPool2d(2).name, "AvgPool2d(2×2)");
  equal(
    new AvgPool2d(3, { stride: 2, padding: 1 }).name,
    "AvgPool2d(3×3, stride 2, padding 1)",
  );
});

Deno.test("scratch tensors are reused while shapes stay, replaced when the batch changes", () => {
  const counting = new CountingBackend();
  const layers: [Layer, number[]][] = [
    [new Conv2d(2, 3, 3, { padding: 1 }), [2, 2, 4, 4]],
    [new BatchNorm(2), [2, 2, 4, 4]],
    [new MaxPool2d(2), [2, 2, 4, 4]],
  ];
  for (const [layer, shape] of layers) {
    const out = layer.build(counting, shape, 1, "");
    const step = (batch: number) => {
      const x = counting.allocate([batch, ...shape.slice(1)]);
      const y = layer.forward(x, { training: true });
      const dy = counting.allocate([batch, ...out.slice(1)]);
      const dx = layer.backward(dy);
      for (const t of [x, y, dy, dx]) counting.release(t);
    };
    step(2);
    const held = new Set(counting.live);
    for (let i = 0; i < 3; i++) step(2);
    ok(
      counting.live.size === held.size &&
        [...held].every((t) => counting.live.has(t)),
      `${layer.name} reuses its scratch`,
    );
    step(3);
    equal(counting.live.size, held.size, `${layer.name} replaces its scratch`);
    layer.dispose();
  }
  equal(counting.live.size, 0, "dispose frees every tensor");
});

Deno.test("Jumpout and Dropout are layers: no parameters, shape kept, build seed unless given", () => {
  const other = new CountingBackend();
  const free = new Jumpout();
  deepEqual(free.build(backend, [4, 3, 2, 2], 123, "5."), [4, 3, 2, 2]);
  equal(free.options.seed, 123);
  equal(free.name, "Jumpout");
  deepEqual([free.parameters(), free.state().size], [[], 0]);
  throws(
    () => free.forward(other.allocate([4, 12]), { training: true }),
    /Jumpout forward: x must be on the reference backend the layer was built for/,
  );
  const seeded = new Dropout({ rate: 0.5, seed: 9 });
  seeded.build(backend, [4, 12], 123, "");
  equal(seeded.options.seed, 9);
  equal(seeded.name, "Dropout");
  // The built seed gives the masks of a layer made with that seed.
  const x = backend.tensor(pattern(48, 3).map((v) => v + 3), [4, 3, 2, 2]);
  deepEqual(
    read(free.forward(x, { training: true })),
    read(new Jumpout({ seed: 123 }).forward(x, { training: true })),
  );
  throws(() => free.build(backend, [], 1, ""), /batchShape must hold/);
  throws(() => free.build(backend, [2], -1, ""), /seed must be an integer/);
});

Deno.test("layer errors: arguments, build, forward before build, backward without a training forward", () => {
  throws(
    () => new Dense(0, 3),
    /^RangeError: Cannot create Dense: inFeatures must be an integer >= 1, got 0$/,
  );
  throws(
    () => new Conv2d(1, 2, 3, { stride: 0 }),
    /Cannot create Conv2d: stride must be an integer >= 1, got 0/,
  );
  throws(
    () => new Conv2d(1, 2, 3, { bias: 1 as unknown as boolean }),
    /Cannot create Conv2d: bias must be a boolean, got 1/,
  );
  throws(
    () => new MaxPool2d(2, { padding: 2 }),
    /Cannot create MaxPool2d: padding must be at most half the kernel size \(1\), got 2/,
  );
  throws(
    () => new AvgPool2d(0),
    /^RangeError: Cannot create AvgPool2d: kernelSize must be an integer >= 1, got 0$/,
  );
  throws(
    () => new AvgPool2d(2, { stride: 1.5 }),
    /^RangeError: Cannot create AvgPool2d: stride must be an integer >= 1, got 1.5$/,
  );
  throws(
    () => new AvgPool2d(3, { padding: -1 }),
    /^RangeError: Cannot create AvgPool2d: padding must be an integer >= 0, got -1$/,
  );
  throws(
    () => new AvgPool2d(3, { padding: 2 }),
    /^RangeError: Cannot create AvgPool2d: padding must be at most half the kernel size \(1\), got 2$/,
  );
  throws(
    () => new AvgPool2d(3).build(backend, [1, 2, 2, 5], 0, ""),
    /^RangeError: Cannot build AvgPool2d\(3×3\): needs inputs \[N, C, H, W\] with H, W >= 3, got \[N, 2, 2, 5\]$/,
  );
  throws(
    () => new BatchNorm(2, { momentum: 1.5 }),
    /momentum must be in \[0, 1\], got 1.5/,
  );
  throws(
    () => new BatchNorm(2, { epsilon: 0 }),
    /epsilon must be a finite number > 0, got 0/,
  );
  throws(
    () => new Dense(4, 2).build(backend, [3, 5], 0, ""),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot build Dense(4 → 2): needs inputs [N, 4], got [N, 5]",
  );
  throws(
    () => new Conv2d(1, 2, 5).build(backend, [1, 1, 4, 9], 0, ""),
    /needs inputs \[N, 1, H, W\] with H, W >= 5, got \[N, 1, 4, 9\]/,
  );

  const layers: [Layer, number[], number[]][] = [
    [new Dense(4, 2), [3, 4], [3, 2]],
    [new Conv2d(1, 2, 3), [1, 1, 4, 4], [1, 2, 2, 2]],
    [new BatchNorm(2), [3, 2], [3, 2]],
    [new ReLU(), [3, 2], [3, 2]],
    [new MaxPool2d(2), [1, 1, 4, 4], [1, 1, 2, 2]],
    [new AvgPool2d(2), [1, 1, 4, 4], [1, 1, 2, 2]],
    [new GlobalAvgPool(), [1, 2, 2, 2], [1, 2]],
    [new Flatten(), [2, 2, 2], [2, 4]],
  ];
  for (const [layer, shape, out] of layers) {
    const name = layer.name.replace(/[()→×]/g, ".");
    throws(
      () => layer.forward(backend.allocate(shape)),
      new RegExp(`${name} forward: the layer must be built first`),
    );
    layer.build(backend, shape, 0, "");
    throws(
      () =>
        layer.forward(
          backend.allocate([shape[0], ...shape.slice(1).map((d) => d + 1)]),
        ),
      new RegExp(
        `${name} forward: x must have shape \\[N, .*\\] as built, got`,
      ),
    );
    const dy = backend.allocate(out);
    throws(() => layer.backward(dy), /needs a training forward first/);
    layer.forward(backend.allocate(shape)); // evaluation allows no backward
    throws(() => layer.backward(dy), /needs a training forward first/);
    layer.forward(backend.allocate(shape), { training: true });
    throws(
      () => layer.backward(backend.allocate([out[0] + 1, ...out.slice(1)])),
      /dy must have the forward's output shape/,
    );
    deepEqual(layer.backward(dy).shape, shape);
    layer.dispose();
    throws(() => layer.forward(backend.allocate(shape)), /must be built first/);
  }
  // Conv2d's backward consumes its im2col matrix: once per training forward.
  const conv = new Conv2d(1, 1, 1);
  conv.build(backend, [1, 1, 2, 2], 0, "");
  conv.forward(backend.allocate([1, 1, 2, 2]), { training: true });
  conv.backward(backend.allocate([1, 1, 2, 2]));
  throws(
    () => conv.backward(backend.allocate([1, 1, 2, 2])),
    /needs a training forward first/,
  );
});

/** Elements of a shape. */
function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The error `run` throws. */
function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (e) {
    return e as Error;
  }
  throw new Error("nothing was thrown");
}

/** One layer of each kind, with an input shape it takes and one it does not. */
function everyLayer(): [Layer, number[], number[]][] {
  return [
    [new Dense(4, 2), [3, 4], [3, 5]],
    [new Conv2d(1, 2, 3, { stride: 2, padding: 1 }), [2, 1, 5, 4], [
      2,
      2,
      5,
      4,
    ]],
    [new BatchNorm(2), [3, 2, 2, 2], [3, 3]],
    [new ReLU(), [3, 2], [3, -2]],
    [new MaxPool2d(3, { stride: 2 }), [1, 2, 5, 7], [1, 2, 2, 7]],
    [new AvgPool2d(3, { stride: 2, padding: 1 }), [1, 2, 5, 7], [1, 2, 0, 7]],
    [new GlobalAvgPool(), [2, 3, 2, 2], [2, 3]],
    [new Flatten(), [2, 3, 2], []],
    [new Jumpout({ seed: 1 }), [2, 6], [2, 1.5]],
    [new Dropout({ rate: 0.5 }), [2, 3, 4, 4], []],
  ];
}

Deno.test("outputShape is build's result and build's errors, without allocating or changing anything", () => {
  const counting = new CountingBackend();
  for (const [layer, good, bad] of everyLayer()) {
    const fresh = everyLayer().find(([l]) => l.name === layer.name)![0];
    const expected = fresh.build(backend, good, 1, "");
    deepEqual(layer.outputShape(good), expected, layer.name);
    // Another batch gives the same shape with that batch.
    deepEqual(layer.outputShape([7, ...good.slice(1)]), [
      7,
      ...expected.slice(1),
    ]);
    const buildError = thrown(() => fresh.build(backend, bad, 1, ""));
    throws(
      () => layer.outputShape(bad),
      (e: Error) =>
        e.constructor === buildError.constructor &&
        e.message === buildError.message,
      layer.name,
    );
    // Built, outputShape leaves the layer as it was: same weights, same output.
    layer.build(counting, good, 2, "");
    const x = counting.tensor(pattern(size(good), 4), good);
    const run = () => {
      const y = layer.forward(x);
      const values = counting.readSync(y);
      if ((y.base ?? y) !== x) counting.release(y);
      return values;
    };
    const before = run();
    const allocations = counting.allocations;
    throws(() => layer.outputShape(bad));
    layer.outputShape(good);
    equal(counting.allocations, allocations, `${layer.name} allocates nothing`);
    deepEqual(run(), before, layer.name);
    layer.dispose();
    fresh.dispose();
    counting.release(x);
  }
  equal(counting.live.size, 0);
});

Deno.test("backward refuses a forward input that was released before it", () => {
  const layers: [Layer, number[]][] = [
    [new Dense(3, 2), [2, 3]],
    [new ReLU(), [2, 3]],
    [new BatchNorm(3), [2, 3]],
  ];
  for (const [layer, shape] of layers) {
    const out = layer.build(backend, shape, 1, "");
    const x = backend.tensor(pattern(6, 5), shape);
    layer.forward(x, { training: true });
    backend.release(x);
    throws(
      () => layer.backward(backend.allocate(out)),
      (e: Error) =>
        e instanceof TypeError &&
        e.message ===
          `Cannot run ${layer.name} backward: x must stay live until backward, got a released tensor of shape [2, 3]`,
    );
  }
  // A view of a released input is released too.
  const dense = new Dense(3, 2);
  dense.build(backend, [2, 3], 1, "");
  const base = backend.tensor(pattern(6, 6), [6]);
  dense.forward(backend.reshape(base, [2, 3]), { training: true });
  backend.release(base);
  throws(
    () => dense.backward(backend.allocate([2, 2])),
    /Dense\(3 → 2\) backward: x must stay live until backward/,
  );
  // Conv2d unfolds its input again in backward: it keeps it like Dense.
  const conv = new Conv2d(1, 2, 3, { padding: 1 });
  conv.build(backend, [1, 1, 3, 3], 1, "");
  const image = backend.tensor(pattern(9, 7), [1, 1, 3, 3]);
  conv.forward(image, { training: true });
  backend.release(image);
  throws(() => conv.backward(backend.allocate([1, 2, 3, 3])), {
    name: "TypeError",
    message:
      "Cannot run Conv2d(1 → 2, 3×3, padding 1) backward: x must stay live until backward, got a released tensor of shape [1, 1, 3, 3]",
  });
});

Deno.test("results follow the ownership rule: release a result only when its storage is not the argument's", () => {
  const counting = new CountingBackend();
  const storage = (t: Tensor) => t.base ?? t;
  for (const [layer, shape] of everyLayer()) {
    const out = layer.build(counting, shape, 1, "");
    for (const training of [true, false]) {
      const x = counting.tensor(pattern(size(shape), 7), shape);
      const y = layer.forward(x, { training });
      const results: [Tensor, Tensor][] = [[x, y]];
      if (training) {
        const dy = counting.tensor(pattern(size(out), 8), out);
        results.push([dy, layer.backward(dy)]);
      }
      for (const [arg, result] of results) {
        // What shares the argument's storage is the argument or a view of it.
        if (storage(result) === storage(arg)) {
          ok(result === arg || result.base === storage(arg), layer.name);
        } else {
          ok(counting.live.has(result), `${layer.name}: owned, fresh storage`);
          counting.release(result);
        }
        ok(!arg.released, `${layer.name}: the argument stays live`);
        counting.release(arg);
      }
    }
    // A result the rule leaves unreleased would still be live here.
    layer.dispose();
    equal(counting.live.size, 0, `${layer.name}: nothing leaked`);
  }
});
