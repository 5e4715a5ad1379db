/**
 * The TensorFlow.js layer (`tfjs.ts`) on TensorFlow.js's cpu and wasm
 * backends: the rates, masks and factors of this library's `Jumpout`, the
 * statistics that layer passes, inference, `model.fit` on the embedded
 * Fashion-MNIST subset, save and load, and bad input. Statistical bounds are
 * those of `jumpout_stats_test.ts`, with fixed seeds.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { deepEqual, equal, notDeepEqual, ok, throws } from "node:assert/strict";
import {
  createBackend,
  Jumpout,
  type JumpoutOptions,
  loadFashionMnist,
} from "../mod.ts";
import { jumpout, JumpoutLayer } from "../tfjs.ts";
import { assertSameBits } from "./_helpers/assert.ts";
import { pattern } from "./_helpers/backends.ts";
import { erf, ksDistance } from "./_helpers/stats.ts";
import {
  TFJS_CPU_BACKENDS,
  UNREAD_CPU,
  useTfjsBackend,
} from "./_helpers/tfjs.ts";

const reference = await createBackend("reference");

/** One training call of the layer: its output and the input's gradient for `dy`. */
function trainingCall(
  layer: JumpoutLayer,
  x: tf.Tensor,
  dy: tf.Tensor,
): { y: Float32Array; dx: Float32Array } {
  return tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad((v: tf.Tensor) =>
      layer.apply(v, { training: true }) as tf.Tensor
    )(x, dy);
    return {
      y: value.dataSync() as Float32Array,
      dx: grad.dataSync() as Float32Array,
    };
  });
}

/**
 * Throws unless the same elements are 0 (+0 or -0 alike) and non-finite in
 * both, and the others agree within 4 float32 rounding steps.
 */
function assertCloseFloats(
  actual: Float32Array,
  expected: Float32Array,
  what: string,
): void {
  equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => {
    const a = actual[i];
    const close = Number.isFinite(e) && e !== 0
      ? Math.abs(a - e) <= 4 * 2 ** -24 * Math.abs(e)
      : Object.is(a, e) || (a === 0 && e === 0);
    ok(close, `${what}[${i}]: got ${a}, expected ${e}`);
  });
}

/** Inputs with every kind of value: active, inactive, zeros, ±0, NaN, ±∞. */
function mixedInput(n: number, seed: number): Float32Array {
  const data = pattern(n, seed);
  data.set([NaN, Infinity, -Infinity, -0], 3);
  return data;
}

const SAME_AS_LIBRARY: JumpoutOptions[] = [
  { sigma: 0.3, seed: 11 },
  { sigma: 0.3, seed: 12, scope: "sample" },
  { monotone: false, rate: 0.3, seed: 13 },
  { normalize: false, sigma: 0.2, rescalePower: 1, seed: 14 },
  { monotone: false, normalize: false, rate: 0.5, scope: "sample", seed: 15 },
  { sigma: 0.5, pMin: 0.1, pMax: 0.4, rescalePower: 2, seed: 16 },
];

for (const name of TFJS_CPU_BACKENDS) {
  Deno.test(
    `tfjs ${name}: the library's masks and statistics; its outputs and gradients ${
      name === UNREAD_CPU ? "within float32 rounding of s" : "bit for bit"
    }`,
    async () => {
      await useTfjsBackend(name);
      const shape = [6, 4, 5];
      const data = mixedInput(120, 5);
      const dyData = pattern(120, 9);
      for (const options of SAME_AS_LIBRARY) {
        const ours = new Jumpout(options);
        const theirs = jumpout(options);
        const x = tf.tensor(data, shape);
        const dy = tf.tensor(dyData, shape);
        // Counts left where they are: the factor is worked out in float32.
        const unread = name === UNREAD_CPU && options.normalize !== false;
        for (let step = 0; step < 4; step++) {
          const what = `${JSON.stringify(options)} step ${step}`;
          const y = ours.forward(reference.tensor(data, shape), {
            training: true,
          });
          const dx = ours.backward(reference.tensor(dyData, shape));
          const got = trainingCall(theirs, x, dy);
          const same = unread ? assertCloseFloats : assertSameBits;
          same(got.y, reference.readSync!(y), `${what}: y`);
          same(got.dx, reference.readSync!(dx), `${what}: dx`);
          if (unread) {
            throws(
              () => theirs.lastStats,
              /^Error: Cannot read lastStats: the cpu-unread backend reads asynchronously, got a synchronous read; use await layer\.readStats\(\)$/,
            );
          } else {
            deepEqual(theirs.lastStats, ours.lastStats, what);
          }
          deepEqual(await theirs.readStats(), ours.lastStats, what);
          deepEqual(theirs.lastStats, ours.lastStats, what);
          equal(theirs.step, ours.step);
        }
        tf.dispose([x, dy]);
      }
    },
  );

  Deno.test(`tfjs ${name}: the share dropped matches p', q+ is the input's, kept units are scaled by (1 - p')^-0.75`, async () => {
    await useTfjsBackend(name);
    const rows = 8, cols = 2048;
    // Where the counts are not read, s is worked out in float32.
    const sameFactor = (a: number, b: number) =>
      name === UNREAD_CPU
        ? Math.abs(a - b) <= 4 * 2 ** -24 * Math.abs(b)
        : a === b;
    const data = pattern(rows * cols, 77);
    const x = tf.tensor(data, [rows, cols]);
    const ones = tf.ones([rows, cols]);
    for (const scope of ["batch", "sample"] as const) {
      const layer = jumpout({ sigma: 0.2, seed: 99, scope });
      const perUnit = scope === "batch" ? rows * cols : cols;
      let zSum = 0, units = 0;
      for (let step = 0; step < 30; step++) {
        const { y, dx } = trainingCall(layer, x, ones);
        (await layer.readStats())!.forEach((s, u) => {
          const what = `${scope} step ${step} unit ${u}`;
          let dropped = 0, active = 0;
          for (let i = u * perUnit; i < (u + 1) * perUnit; i++) {
            if (data[i] > 0) active++;
            if (dx[i] === 0) {
              dropped++;
              ok(Object.is(y[i], 0), `${what}: a dropped unit is +0`);
            } else {
              ok(sameFactor(dx[i], s.scale), `${what}: the gradient ${dx[i]}`);
              const expected = Math.fround(data[i] * s.scale);
              ok(sameFactor(y[i], expected), `${what}: y[${i}] ${y[i]}`);
            }
          }
          equal(s.qPlus, active / perUnit, `${what}: q+`);
          ok(s.p >= 0.01 - 2 ** -24 && s.p <= 0.6 + 2 ** -24, `${what}: p`);
          // p' = min(p / q+, pMax), rounded down to 2^-24.
          const expected = Math.min(s.p / s.qPlus, 0.6);
          ok(Math.abs(s.rate - expected) <= 2 ** -23, `${what}: p' ${s.rate}`);
          const scale = Math.fround((1 - s.rate) ** -0.75);
          equal(s.scale, scale, `${what}: s`);
          const sd = Math.sqrt(perUnit * s.rate * (1 - s.rate));
          const z = (dropped - perUnit * s.rate) / sd;
          ok(
            Math.abs(z) < 5,
            `${what}: ${dropped} of ${perUnit}, p' ${s.rate}`,
          );
          zSum += z;
          units++;
        });
      }
      // The standardised counts summed over all steps and units are N(0, units).
      const aggregate = zSum / Math.sqrt(units);
      ok(Math.abs(aggregate) < 4, `${scope}: aggregate z ${aggregate}`);
    }
    tf.dispose([x, ones]);
  });

  Deno.test(`tfjs ${name}: outside training the layer passes its input and draws nothing`, async () => {
    await useTfjsBackend(name);
    const layer = jumpout({ seed: 1 });
    const x = tf.tensor(mixedInput(24, 2), [4, 6]);
    for (const kwargs of [undefined, {}, { training: false }]) {
      const y = layer.apply(x, kwargs) as tf.Tensor;
      assertSameBits(
        y.dataSync() as Float32Array,
        x.dataSync() as Float32Array,
        "y",
      );
      y.dispose();
    }
    deepEqual([layer.step, layer.lastStats], [0, undefined]);
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [6], units: 5, activation: "relu" }),
        jumpout({ seed: 2 }),
        tfl.layers.dense({ units: 2 }),
      ],
    });
    const a = model.predict(x) as tf.Tensor;
    const b = model.predict(x) as tf.Tensor;
    assertSameBits(
      a.dataSync() as Float32Array,
      b.dataSync() as Float32Array,
      "predictions",
    );
    equal((model.layers[1] as JumpoutLayer).step, 0);
    tf.dispose([x, a, b]);
    model.dispose();
  });

  Deno.test(`tfjs ${name}: training calls leave no tensors behind`, async () => {
    await useTfjsBackend(name);
    const layer = jumpout({ seed: 4, scope: "sample" });
    const x = tf.tensor(pattern(64, 3), [8, 8]);
    const dy = tf.ones([8, 8]);
    trainingCall(layer, x, dy);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) trainingCall(layer, x, dy);
    tf.tidy(() => {
      layer.apply(x, { training: true });
    });
    equal(tf.memory().numTensors, before);
    tf.dispose([x, dy]);
  });

  Deno.test(`tfjs ${name}: model.fit lowers the loss of a small network on the embedded Fashion-MNIST subset`, async () => {
    await useTfjsBackend(name);
    const { train, test } = await loadFashionMnist({ source: "embedded" });
    const n = 1024, m = 500;
    const init = (seed: number) => tfl.initializers.glorotNormal({ seed });
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({
          inputShape: [784],
          units: 64,
          activation: "relu",
          kernelInitializer: init(1),
        }),
        jumpout({ seed: 5 }),
        tfl.layers.dense({
          units: 10,
          activation: "softmax",
          kernelInitializer: init(2),
        }),
      ],
    });
    model.compile({
      optimizer: tf.train.adam(0.003),
      loss: "categoricalCrossentropy",
      metrics: ["accuracy"],
    });
    const tensors = (images: Float32Array, labels: Uint8Array, k: number) => [
      tf.tensor2d(images.subarray(0, k * 784), [k, 784]),
      tf.oneHot(
        tf.tensor1d(Int32Array.from(labels.subarray(0, k)), "int32"),
        10,
      ),
    ];
    const [x, y] = tensors(train.images, train.labels, n);
    const [xTest, yTest] = tensors(test.images, test.labels, m);
    const evaluate = async () => {
      const [loss, accuracy] = model.evaluate(xTest, yTest) as tf.Scalar[];
      const out = [await loss.data(), await accuracy.data()].map((v) => v[0]);
      tf.dispose([loss, accuracy]);
      return out;
    };
    const [lossBefore] = await evaluate();
    const history = await model.fit(x, y, {
      epochs: 3,
      batchSize: 64,
      shuffle: false,
      verbose: 0,
    });
    const [lossAfter, accuracy] = await evaluate();
    const losses = history.history.loss as number[];
    const layer = model.layers[1] as JumpoutLayer;
    // 16 steps per epoch, each a training call of the layer.
    equal(layer.step, 48);
    const [{ qPlus }] = (await layer.readStats())!;
    ok(qPlus > 0 && qPlus < 1, `q+ ${qPlus}`);
    ok(losses[2] < losses[0], `training loss ${losses}`);
    // From about ln 10 = 2.3 at the start, this 784-64-10 perceptron reaches
    // a test loss of 0.71 and an accuracy of 0.72 on these 500 images.
    ok(lossAfter < lossBefore - 1, `test loss ${lossBefore} → ${lossAfter}`);
    ok(accuracy > 0.65, `test accuracy ${accuracy}`);
    tf.dispose([x, y, xTest, yTest]);
    model.dispose();
  });

  Deno.test(`tfjs ${name}: save and load a functional model that contains the layer`, async () => {
    await useTfjsBackend(name);
    const input = tfl.input({ shape: [6] });
    const hidden = tfl.layers.dense({ units: 8, activation: "relu" })
      .apply(input) as tfl.SymbolicTensor;
    const dropped = jumpout({
      sigma: 0.25,
      scope: "sample",
      rescalePower: 0.5,
      name: "regulariser",
    }).apply(hidden) as tfl.SymbolicTensor;
    const skip = tfl.layers.add().apply([
      dropped,
      hidden,
    ]) as tfl.SymbolicTensor;
    const output = tfl.layers.dense({ units: 3 }).apply(
      skip,
    ) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    model.compile({ optimizer: "sgd", loss: "meanSquaredError" });
    const x = tf.tensor(pattern(60, 8), [10, 6]);
    const target = tf.tensor(pattern(30, 9), [10, 3]);
    await model.fit(x, target, { epochs: 2, batchSize: 5, verbose: 0 });
    const layer = model.getLayer("regulariser") as JumpoutLayer;
    equal(layer.step, 4);

    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
        },
      });
    }));
    const topology = JSON.stringify(saved!.modelTopology);
    ok(topology.includes('"class_name":"Jumpout"'), topology);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const again = loaded.getLayer("regulariser") as JumpoutLayer;
    ok(again instanceof JumpoutLayer);
    deepEqual(again.getConfig(), layer.getConfig());
    deepEqual(
      [again.options.seed, again.options.scope, again.step],
      [layer.options.seed, "sample", 4],
    );
    const [a, b] = [model, loaded].map((m) => m.predict(x) as tf.Tensor);
    deepEqual(b.dataSync(), a.dataSync());
    // The mask stream continues where the saved model stopped.
    const h = tf.tensor(pattern(40, 10), [5, 8]);
    const dy = tf.ones([5, 8]);
    const next = trainingCall(layer, h, dy);
    deepEqual(trainingCall(again, h, dy), next);
    deepEqual(await again.readStats(), await layer.readStats());
    tf.dispose([x, target, a, b, h, dy]);
    model.dispose();
    loaded.dispose();
  });
}

Deno.test("tfjs: the drawn p follows the truncated half-normal (Kolmogorov–Smirnov)", async () => {
  await useTfjsBackend("cpu");
  const sigma = 0.3, pMin = 0.01, pMax = 0.6;
  const layer = jumpout({ sigma, pMin, pMax, seed: 1234 });
  const x = tf.tensor(pattern(40), [4, 10]);
  const dy = tf.ones([4, 10]);
  const ps: number[] = [];
  for (let step = 0; step < 1500; step++) {
    tf.tidy(() => {
      layer.apply(x, { training: true });
    });
    ps.push(layer.lastStats![0].p);
  }
  const cdf = (p: number) =>
    p < pMin ? 0 : erf((p - pMin) / (sigma * Math.SQRT2));
  const d = ksDistance(ps, cdf, pMax);
  ok(d < 1.95 / Math.sqrt(ps.length), `KS distance ${d}`);
  // The atom at pMax: P(pMin + |z| >= pMax) with a binomial 5-sd bound.
  const tail = 1 - erf((pMax - pMin) / (sigma * Math.SQRT2));
  const atAtom = ps.filter((p) => p === Math.round(pMax * 2 ** 24) / 2 ** 24)
    .length;
  const sd = Math.sqrt(ps.length * tail * (1 - tail));
  ok(Math.abs(atAtom - ps.length * tail) < 5 * sd, `${atAtom} at pMax`);
  // Masks differ between steps; setting the step replays one.
  const replay = jumpout({ sigma, pMin, pMax, seed: 1234 });
  replay.step = 7;
  const first = jumpout({ sigma, pMin, pMax, seed: 1234 });
  const masks = Array.from({ length: 8 }, () => trainingCall(first, x, dy).dx);
  deepEqual(trainingCall(replay, x, dy).dx, masks[7]);
  notDeepEqual(masks[6], masks[7]);
  tf.dispose([x, dy]);
});

Deno.test("tfjs: bad options are refused at construction with the library's messages", () => {
  const bad: unknown[] = [
    { sigma: -0.1 },
    { sigma: NaN },
    { pMin: 1 },
    { pMax: 1.5 },
    { pMin: 0.5, pMax: 0.2 },
    { rate: 0.3 },
    { monotone: false, rate: 2 },
    { monotone: false },
    { rescalePower: -1 },
    { rescalePower: 200, pMax: 0.9 },
    { scope: "row" },
    { seed: 1.5 },
    { seed: -1 },
    { monotone: "yes" },
    { normalize: 0 },
    null,
    5,
  ];
  for (const options of bad) {
    let expected: Error | undefined;
    try {
      new Jumpout(options as JumpoutOptions);
    } catch (e) {
      expected = e as Error;
    }
    ok(expected, `the library refuses ${JSON.stringify(options)}`);
    throws(
      () => jumpout(options as JumpoutOptions),
      (e: Error) =>
        e.constructor === expected!.constructor &&
        e.message === expected!.message,
      `${JSON.stringify(options)}: ${expected!.message}`,
    );
  }
  throws(
    () => jumpout({ sigmma: 0.2 } as JumpoutOptions),
    /^TypeError: Cannot create Jumpout: options has an unknown field "sigmma" \(known fields of Jumpout options and layer arguments: sigma, pMin, pMax, rescalePower, scope, seed, monotone, normalize, rate, step, name, inputShape, batchInputShape, batchSize, dtype, trainable\)$/,
  );
  throws(
    () => jumpout({ step: -1 }),
    /^RangeError: Cannot create Jumpout: step must be a safe integer >= 0, got -1$/,
  );
  throws(
    () => {
      jumpout().step = 0.5;
    },
    /^RangeError: Cannot set Jumpout step: step must be a safe integer >= 0, got 0\.5$/,
  );
});

Deno.test("tfjs: calls with two tensors, or in training with a tensor that is not float32, are refused", async () => {
  await useTfjsBackend("cpu");
  const layer = jumpout({ seed: 1 });
  const x = tf.ones([2, 3]);
  throws(
    () => layer.apply([x, x], { training: true }),
    /^TypeError: Cannot run Jumpout forward: inputs must be one tensor, got 2$/,
  );
  const ints = tf.ones([2, 3], "int32");
  throws(
    () => layer.apply(ints, { training: true }),
    /^TypeError: Cannot run Jumpout forward: x must be a float32 tensor, got int32$/,
  );
  equal(layer.step, 0);
  tf.dispose([x, ints]);
});
