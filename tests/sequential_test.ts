/**
 * Sequential: build errors, shapes, train/eval behaviour, ownership of what
 * forward and backward return, and memory over many steps.
 */
import { deepEqual, equal, notDeepEqual, ok, throws } from "node:assert/strict";
import { type Backend, createBackend, Jumpout, type Tensor } from "../mod.ts";
import type { Layer } from "../src/layers/layer.ts";
import { BatchNorm } from "../src/layers/batch_norm.ts";
import { Conv2d } from "../src/layers/conv2d.ts";
import { Dense } from "../src/layers/dense.ts";
import { Flatten } from "../src/layers/flatten.ts";
import { GlobalAvgPool } from "../src/layers/global_avg_pool.ts";
import { MaxPool2d } from "../src/layers/max_pool2d.ts";
import { ReLU } from "../src/layers/relu.ts";
import { Sequential } from "../src/layers/sequential.ts";
import type { ShardOptions } from "../src/layers/layer.ts";
import {
  ACCELERATED,
  ignoreBackend,
  pattern,
  withBackend,
} from "./_helpers/backends.ts";
import { CountingBackend } from "./_helpers/counting_backend.ts";

const backend = await createBackend("reference");
const read = (t: Tensor) => backend.readSync!(t) as Float32Array;

/** A small convolutional network for [N, 1, 8, 8] images. */
function cnn(): Layer[] {
  return [
    new Conv2d(1, 4, 3, { padding: 1, bias: false }),
    new BatchNorm(4),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(4, 6, 3, { stride: 2, padding: 1 }),
    new ReLU(),
    new Flatten(),
    new Dense(24, 16),
    new ReLU(),
    new Jumpout({ sigma: 0.2 }),
    new Dense(16, 10),
  ];
}

Deno.test("build returns each output shape and names a mismatched layer with both shapes", () => {
  const model = new Sequential([
    new Dense(784, 1024),
    new ReLU(),
    new Dense(512, 10),
  ]);
  throws(
    () => model.build(backend, [784]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot build Sequential: layer 2 (Dense(512 → 10)) needs inputs [N, 512], got [N, 1024]",
  );
  throws(
    () => new Sequential(cnn()).build(backend, [784]),
    /layer 0 \(Conv2d\(1 → 4, 3×3, padding 1\)\) needs inputs \[N, 1, H, W\], got \[N, 784\]/,
  );
  throws(
    () =>
      new Sequential([new Conv2d(3, 8, 3), new BatchNorm(4)]).build(backend, [
        3,
        8,
        8,
      ]),
    /layer 1 \(BatchNorm\(4\)\) needs inputs \[N, 4\] or \[N, 4, H, W\], got \[N, 8, 6, 6\]/,
  );
  throws(
    () =>
      new Sequential([new MaxPool2d(2), new MaxPool2d(2)]).build(backend, [
        1,
        3,
        3,
      ]),
    /layer 1 \(MaxPool2d\(2×2\)\) needs inputs \[N, C, H, W\] with H, W >= 2, got \[N, 1, 1, 1\]/,
  );
  throws(
    () => new Sequential([new GlobalAvgPool()]).build(backend, [10]),
    /layer 0 \(GlobalAvgPool\) needs inputs \[N, C, H, W\] with H, W >= 1, got \[N, 10\]/,
  );
  throws(
    () => new Sequential([new ReLU()]).build(backend, [2, -1]),
    /^RangeError: Cannot build Sequential: inputShape must hold non-negative integers \(one sample's shape, without the batch\), got \[2, -1\]$/,
  );
  throws(
    () => new Sequential([new ReLU()]).build(backend, 784 as never),
    /^TypeError: Cannot build Sequential: inputShape must be an array of integers \(one sample's shape, without the batch\), got number$/,
  );
  throws(
    () => new Sequential([new ReLU()]).build(backend, [2], { seed: -1 }),
    /seed must be an integer in \[0, 2\^32\), got -1/,
  );
  throws(
    () => new Sequential([{} as Layer]),
    /Cannot create Sequential: layers\[0\] must be a layer, got Object without build\(\)/,
  );
  deepEqual(new Sequential(cnn()).build(backend, [1, 8, 8]), [10]);
  // One number per sample: inputs [N], for layers that take them.
  deepEqual(new Sequential([new ReLU()]).build(backend, []), []);
});

Deno.test("build takes one sample's shape, and forward any batch", () => {
  const model = new Sequential(cnn());
  deepEqual(model.build(backend, [1, 8, 8], { seed: 1 }), [10]);
  deepEqual(model.sampleShape, [1, 8, 8]);
  for (const batch of [2, 7]) {
    const x = backend.tensor(pattern(batch * 64, batch), [batch, 1, 8, 8]);
    const y = model.forward(x, { training: false });
    deepEqual(y.shape, [batch, 10]);
    backend.release(y);
    backend.release(x);
  }
  // The layers' own protocol stays batch first.
  deepEqual(model.outputShape([3, 1, 8, 8]), [3, 10]);
  model.dispose();
});

Deno.test("a batch-first shape given to build names the layer and says what would fit", () => {
  const model = new Sequential([new Dense(784, 10)]);
  throws(
    () => model.build(backend, [32, 784]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot build Sequential: layer 0 (Dense(784 → 10)) needs inputs [N, 784], got [N, 32, 784]; inputShape is one sample's shape, without the batch: [784] would fit",
  );
  equal(model.sampleShape, undefined, "nothing was built");
  // A mismatch that dropping a dimension does not cure gets no such hint.
  throws(
    () => model.build(backend, [32, 783]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot build Sequential: layer 0 (Dense(784 → 10)) needs inputs [N, 784], got [N, 32, 783]",
  );
});

Deno.test("the constructor refuses a layer twice: its state would serve both places", () => {
  const relu = new ReLU();
  throws(
    () => new Sequential([new Dense(4, 4), relu, new Dense(4, 4), relu]),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot create Sequential: layers[3] must be a layer not already in the model, got the same object as layers[1]",
  );
  const jumpout = new Jumpout();
  throws(
    () => new Sequential([jumpout, jumpout]),
    /layers\[1\] must be a layer not already in the model, got the same object as layers\[0\]/,
  );
});

Deno.test("the constructor requires every method of a layer and a string name", () => {
  const without = (method: string): Layer => {
    const layer = new Dense(2, 2);
    // An own property hides the class's method.
    Object.defineProperty(layer, method, { value: undefined });
    return layer;
  };
  for (const method of ["outputShape", "dispose"]) {
    throws(
      () => new Sequential([new ReLU(), without(method)]),
      (e: Error) =>
        e instanceof TypeError &&
        e.message ===
          `Cannot create Sequential: layers[1] must be a layer, got Dense without ${method}()`,
    );
  }
  const unnamed = new ReLU();
  Object.defineProperty(unnamed, "name", { value: 3 });
  throws(
    () => new Sequential([unnamed]),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot create Sequential: layers[0] must be a layer with a string name, got a name of type number",
  );
});

Deno.test("a build that fails changes nothing: the built model still gives the same outputs", () => {
  const counting = new CountingBackend();
  const model = new Sequential([
    new Conv2d(1, 2, 3),
    new BatchNorm(2),
    new Flatten(),
    new Dense(2 * 4 * 4, 3),
    new Jumpout({ sigma: 0.3 }),
  ]);
  model.build(counting, [1, 6, 6], { seed: 1 });
  const x = counting.tensor(pattern(72, 2), [2, 1, 6, 6]);
  const dy = counting.tensor(pattern(6, 3), [2, 3]);
  // One step, so that the failed builds below must keep the running
  // statistics and the mask stream's position too.
  counting.release(model.forward(x));
  counting.release(model.backward(dy));
  const state = [...model.state().values()];
  const values = state.map((t) => counting.readSync(t).slice());
  const live = new Set(counting.live);
  const allocations = counting.allocations;
  const bad: [number[], RegExp][] = [
    [
      [1, 7, 7],
      /layer 3 \(Dense\(32 → 3\)\) needs inputs \[N, 32\], got \[N, 50\]/,
    ],
    [
      [3, 6, 6],
      /layer 0 .* needs inputs \[N, 1, H, W\], got \[N, 3, 6, 6\]/,
    ],
    [[1, 6], /layer 0 .* got \[N, 1, 6\]/],
    [[2, 1, 6, 6], /inputShape is one sample's shape, without the batch/],
    [[-1, 6, 6], /inputShape must hold non-negative integers/],
  ];
  for (const [shape, message] of bad) {
    throws(() => model.build(counting, shape, { seed: 1 }), message);
  }
  throws(
    () => model.build(counting, [1, 6, 6], { seed: -1 }),
    /seed must be an integer/,
  );
  equal(counting.allocations, allocations, "nothing allocated");
  deepEqual(new Set(counting.live), live, "nothing released");
  state.forEach((t, i) => deepEqual(counting.readSync(t), values[i]));

  // The same outputs as a twin that never saw the failed builds.
  const twin = new Sequential([
    new Conv2d(1, 2, 3),
    new BatchNorm(2),
    new Flatten(),
    new Dense(2 * 4 * 4, 3),
    new Jumpout({ sigma: 0.3 }),
  ]);
  twin.build(counting, [1, 6, 6], { seed: 1 });
  counting.release(twin.forward(x));
  counting.release(twin.backward(dy));
  for (const training of [true, false]) {
    const y = model.forward(x, { training });
    const expected = twin.forward(x, { training });
    deepEqual(counting.readSync(y), counting.readSync(expected), `${training}`);
    counting.release(y);
    counting.release(expected);
  }
});

Deno.test("building again starts afresh: a rebuilt model draws a fresh model's masks", () => {
  const make = () =>
    new Sequential([new Dense(8, 8), new Jumpout({ sigma: 0.3 })]);
  const x = backend.tensor(pattern(64, 7).map((v) => v + 2), [8, 8]);
  const fresh = make();
  fresh.build(backend, [8], { seed: 3 });
  const first = read(fresh.forward(x));
  const model = make();
  model.build(backend, [8], { seed: 3 });
  notDeepEqual(read(model.forward(x)), read(model.forward(x)));
  model.build(backend, [8], { seed: 3 });
  deepEqual(read(model.forward(x)), first);
  equal((model.layers[1] as Jumpout).step, 1);
});

Deno.test("forward checks x against the built input and names the first layer", () => {
  const model = new Sequential(cnn());
  throws(
    () => model.forward(backend.allocate([2, 1, 8, 8])),
    /Cannot run Sequential forward: the model must be built first/,
  );
  model.build(backend, [1, 8, 8], { seed: 1 });
  throws(
    () => model.forward(backend.allocate([2, 1, 8, 9])),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot run Sequential forward: x must have shape [N, 1, 8, 8] as built for layer 0 (Conv2d(1 → 4, 3×3, padding 1)), got [2, 1, 8, 9]",
  );
  throws(
    () => model.forward(backend.allocate([2, 64])),
    /x must have shape \[N, 1, 8, 8\] as built for layer 0 .*, got \[2, 64\]/,
  );
  const other = new CountingBackend();
  throws(
    () => model.forward(other.allocate([2, 1, 8, 8])),
    /x must be on the reference backend the model was built for/,
  );
  const x = backend.allocate([2, 1, 8, 8]);
  backend.release(x);
  throws(
    () => model.forward(x),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot run Sequential forward: x was released, got a released tensor of shape [2, 1, 8, 8]",
  );
});

Deno.test("forward and backward shapes, for any batch", () => {
  const model = new Sequential(cnn());
  model.build(backend, [1, 8, 8], { seed: 2 });
  for (const batch of [4, 3, 1 + 1]) {
    const x = backend.tensor(pattern(batch * 64, batch), [batch, 1, 8, 8]);
    const y = model.forward(x, { training: true });
    deepEqual(y.shape, [batch, 10]);
    const dx = model.backward(backend.tensor(pattern(batch * 10), [batch, 10]));
    deepEqual(dx.shape, [batch, 1, 8, 8]);
    ok(read(dx).some((v) => v !== 0));
    for (const p of model.parameters()) {
      deepEqual(p.grad.shape, p.value.shape);
      ok(read(p.grad).some((v) => v !== 0), `${p.name} has a gradient`);
    }
  }
});

Deno.test("backward needs a pending training forward and dy of the output's shape", () => {
  const model = new Sequential([new Dense(3, 2), new ReLU()]);
  model.build(backend, [3], { seed: 3 });
  const dy = backend.allocate([2, 2]);
  throws(() => model.backward(dy), /needs a training forward first/);
  const x = backend.tensor(pattern(6), [2, 3]);
  model.forward(x, { training: false });
  throws(() => model.backward(dy), /needs a training forward first/);
  model.forward(x, { training: true });
  throws(
    () => model.backward(backend.allocate([2, 3])),
    /dy must have the output's shape \[2, 2\], got \[2, 3\]/,
  );
  model.backward(dy);
  throws(() => model.backward(dy), /needs a training forward first/);
});

Deno.test("parameters and state: layer order, index prefixes, running statistics", () => {
  const model = new Sequential([
    new Conv2d(1, 2, 3),
    new BatchNorm(2),
    new ReLU(),
    new Flatten(),
    new Dense(2 * 4 * 4, 3, { bias: false }),
  ]);
  model.build(backend, [1, 6, 6], { seed: 4 });
  deepEqual(model.parameters().map((p) => p.name), [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "4.weight",
  ]);
  deepEqual([...model.state().keys()], [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "1.running_mean",
    "1.running_var",
    "4.weight",
  ]);
  deepEqual(model.state().get("4.weight"), model.parameters()[4].value);
});

Deno.test("a seed gives the same weights and masks; another seed does not", () => {
  const run = (seed: number) => {
    const model = new Sequential([
      new Dense(8, 8),
      new ReLU(),
      new Jumpout({ sigma: 0.3 }),
    ]);
    model.build(backend, [8], { seed });
    const y = read(model.forward(backend.tensor(pattern(32, 5), [4, 8])));
    return { w: read(model.parameters()[0].value), y };
  };
  deepEqual(run(7), run(7));
  notDeepEqual(run(7).w, run(8).w);
});

Deno.test("train() and eval() switch Jumpout and BatchNorm; options.training overrides", () => {
  const model = new Sequential([new BatchNorm(4), new Jumpout({ sigma: 0.3 })]);
  model.build(backend, [4], { seed: 5 });
  const data = pattern(64, 6).map((v, i) => v * 3 + (i % 4)); // channel means 0..3
  const x = backend.tensor(data, [16, 4]);
  equal(model.training, true); // PyTorch's default
  const trained = [read(model.forward(x)), read(model.forward(x))];
  // Training: Jumpout drops units (a fresh mask each step)...
  ok(trained[0].some((v) => v === 0));
  notDeepEqual(trained[0], trained[1]);

  equal(model.eval(), model);
  equal(model.training, false);
  const evaluated = read(model.forward(x));
  deepEqual(read(model.forward(x)), evaluated); // deterministic
  // ...evaluation drops nothing and normalises with the running statistics.
  const running = [...model.state().values()].map(read);
  const [, , mean, variance] = running;
  evaluated.forEach((v, i) => {
    const c = i % 4;
    const expected = (data[i] - mean[c]) / Math.sqrt(variance[c] + 1e-5);
    ok(Math.abs(v - expected) < 1e-5 * (1 + Math.abs(expected)), `y[${i}]`);
  });
  // Batch statistics would center each channel; the running ones, two
  // steps in, do not yet.
  const channel3 = evaluated.filter((_, i) => i % 4 === 3);
  ok(channel3.reduce((a, b) => a + b, 0) / channel3.length > 0.5);

  const overridden = read(model.forward(x, { training: true }));
  ok(overridden.some((v) => v === 0));
  model.train();
  equal(model.training, true);
  const batchNormed = read(model.forward(x, { training: false }));
  deepEqual(batchNormed, read(model.forward(x, { training: false })));
});

Deno.test("outputs are fresh tensors the caller owns, whatever the last layer returns", () => {
  const cases: [string, () => Layer[], number[]][] = [
    ["no layers", () => [], [2, 3]],
    ["Flatten last (a view)", () => [new ReLU(), new Flatten()], [2, 3, 2]],
    ["Flatten only (a view of x)", () => [new Flatten()], [2, 3, 2]],
    ["Jumpout last (x itself in eval)", () => [new ReLU(), new Jumpout()], [
      2,
      6,
    ]],
  ];
  for (const [what, layers, shape] of cases) {
    const counting = new CountingBackend();
    const size = shape.reduce((a, b) => a * b, 1);
    const x = counting.tensor(pattern(size), shape);
    const dyShape = [shape[0], size / shape[0]];
    for (const training of [true, false]) {
      const model = new Sequential(layers());
      model.build(counting, shape.slice(1), { seed: 1 });
      const y = model.forward(x, { training });
      ok(
        y !== x && y.base === undefined,
        `${what}: forward gives a fresh tensor`,
      );
      ok(counting.live.has(y), what);
      if (training) {
        const dy = counting.tensor(pattern(size, 2), dyShape);
        const dx = model.backward(dy);
        ok(
          dx !== dy && dx.base === undefined,
          `${what}: backward gives a fresh tensor`,
        );
        counting.release(dx);
        counting.release(dy);
      }
      counting.release(y);
      model.dispose();
      deepEqual([...counting.live], [x], `${what}, training ${training}`);
    }
  }
});

Deno.test("no leaks: live tensors stay constant over 20 training and evaluation steps", () => {
  const counting = new CountingBackend();
  const model = new Sequential(cnn());
  model.build(counting, [1, 8, 8], { seed: 9 });
  const x = counting.tensor(pattern(256, 3), [4, 1, 8, 8]);
  const dy = counting.tensor(pattern(40, 4), [4, 10]);
  const baseline = counting.live.size;
  const live: number[] = [];
  const allocations: number[] = [];
  for (let step = 0; step < 20; step++) {
    const before = counting.allocations;
    const y = model.forward(x, { training: true });
    const dx = model.backward(dy);
    counting.release(y);
    counting.release(dx);
    // Every tensor a step allocated is gone once it ends, but scratch.
    live.push(counting.live.size);
    allocations.push(counting.allocations - before);
    counting.release(model.forward(x, { training: false }));
    live.push(counting.live.size);
  }
  // After the first step (which allocates the layers' scratch tensors)
  // nothing new stays live, and each step allocates the same tensors.
  ok(live[0] > baseline);
  deepEqual(live, live.map(() => live[0]));
  deepEqual(
    allocations.slice(1),
    allocations.slice(1).map(() => allocations[1]),
  );
  ok(allocations[1] < allocations[0], "scratch tensors are reused");

  // A training forward without a backward leaves activations, freed by
  // the next forward.
  counting.release(model.forward(x, { training: true }));
  ok(counting.live.size > live[0]);
  counting.release(model.forward(x, { training: false }));
  equal(counting.live.size, live[0]);

  // A new batch size reallocates the scratch tensors instead of adding any.
  const small = counting.tensor(pattern(128, 5), [2, 1, 8, 8]);
  const dySmall = counting.tensor(pattern(20, 6), [2, 10]);
  for (let step = 0; step < 3; step++) {
    counting.release(model.forward(small, { training: true }));
    counting.release(model.backward(dySmall));
  }
  equal(counting.live.size, live[0] + 2);

  counting.release(x);
  counting.release(dy);
  counting.release(small);
  counting.release(dySmall);
  model.dispose();
  equal(counting.live.size, 0, "dispose frees every tensor of the model");
});

Deno.test("evaluation frees each activation once the next layer has read it", () => {
  const counting = new CountingBackend();
  const model = new Sequential([
    new Dense(4, 4),
    new ReLU(),
    new Dense(4, 4),
    new ReLU(),
    new Dense(4, 2),
  ]);
  model.build(counting, [4], { seed: 1 });
  const x = counting.tensor(pattern(12), [3, 4]);
  const before = counting.live.size;
  let peak = 0;
  const original = counting.allocate.bind(counting);
  counting.allocate = ((...args: Parameters<typeof original>) => {
    const t = original(...args);
    peak = Math.max(peak, counting.live.size - before);
    return t;
  }) as typeof counting.allocate;
  counting.release(model.forward(x, { training: false }));
  equal(peak, 2, "at most a layer's input and output at once");
  peak = 0;
  counting.release(model.forward(x, { training: true }));
  equal(peak, 5, "training keeps every activation for backward");
});

/** Output, dx, every gradient and an evaluation output of `cnn()` on `b`. */
async function cnnResults(b: Backend): Promise<Float32Array[]> {
  const model = new Sequential(cnn());
  model.build(b, [1, 8, 8], { seed: 3 });
  const x = b.tensor(pattern(256, 1), [4, 1, 8, 8]);
  const y = model.forward(x);
  const dx = model.backward(b.tensor(pattern(40, 2), [4, 10]));
  const grads = model.parameters().map((p) => p.grad);
  const evaluated = model.forward(x, { training: false });
  return await Promise.all([y, dx, ...grads, evaluated].map((t) => b.read(t)));
}

for (const name of ACCELERATED) {
  Deno.test({
    name: `${name}: the same model gives the reference's outputs and gradients`,
    ignore: await ignoreBackend(name),
    fn: () =>
      withBackend(name, async (b) => {
        const expected = await cnnResults(backend);
        const actual = await cnnResults(b);
        equal(actual.length, expected.length);
        // Summation orders differ between backends: each tensor within 1e-4
        // of its largest value (measured: below 5e-6).
        actual.forEach((values, t) => {
          const scale = expected[t].reduce(
            (m, v) => Math.max(m, Math.abs(v)),
            0,
          );
          ok(scale > 0);
          values.forEach((v, i) =>
            ok(
              Math.abs(v - expected[t][i]) <= 1e-4 * scale,
              `tensor ${t}[${i}]: got ${v}, expected ${expected[t][i]}`,
            )
          );
        });
      }),
  });
}

Deno.test("forwardAsync gives forward's outputs and gradients, and awaits beforeLayer before each layer", async () => {
  const make = () => {
    const model = new Sequential([...cnn(), new Jumpout()]);
    model.build(backend, [1, 8, 8], { seed: 9 });
    return model;
  };
  const x = backend.tensor(pattern(2 * 64, 3), [2, 1, 8, 8]);
  const plain = make();
  const y = plain.forward(x);
  const dx = plain.backward(backend.tensor(pattern(y.size, 4), y.shape));
  const staged = make();
  const seen: number[] = [];
  const y2 = await staged.forwardAsync(x, {
    beforeLayer: async (i, layer, input) => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      // Each layer's input is the previous layer's output, already computed.
      equal(input.shape.length > 0, true, layer.name);
      seen.push(i);
      return undefined;
    },
  });
  const dx2 = staged.backward(backend.tensor(pattern(y.size, 4), y.shape));
  deepEqual(seen, staged.layers.map((_, i) => i));
  deepEqual(read(y2), read(y));
  deepEqual(read(dx2), read(dx));
});

Deno.test("forwardAsync passes what beforeLayer returns to that layer only", async () => {
  const x = backend.tensor(pattern(32, 5).map(Math.abs), [4, 8]);
  const shard = { rowOffset: 4, batchRows: 8 };
  const run = async (extra?: ShardOptions) => {
    const model = new Sequential([new ReLU(), new Jumpout({ seed: 1 })]);
    model.build(backend, [8], { seed: 2 });
    return read(
      await model.forwardAsync(x, {
        beforeLayer: (i) => (i === 1 ? extra : undefined),
      }),
    );
  };
  // The layer alone, told the same: what the model must have passed on.
  const alone = new Jumpout({ seed: 1 });
  const expected = read(alone.forward(x, { training: true, shard }));
  deepEqual(await run({ shard, activeCount: undefined }), expected);
  // Without the option the masks are numbered from row 0: other outputs.
  notDeepEqual(await run(), expected);
});

Deno.test("forwardAsync's beforeLayer is typed: a misspelt option does not compile", async () => {
  const model = new Sequential([new ReLU(), new Jumpout({ seed: 1 })]);
  model.build(backend, [8], { seed: 2 });
  const x = backend.tensor(pattern(32, 5), [4, 8]);
  const shard = { rowOffset: 0, batchRows: 4 };
  const before = (i: number) => i === 1;
  await model.forwardAsync(x, {
    // @ts-expect-error: "shrad" is not an option a layer's call takes.
    beforeLayer: (i) => (before(i) ? { shrad: shard } : undefined),
  });
  await model.forwardAsync(x, {
    // @ts-expect-error: "activeCont" leaves activeCount missing.
    beforeLayer: (i) => (before(i) ? { shard, activeCont: 4 } : undefined),
  });
  await model.forwardAsync(x, {
    beforeLayer: (i) => (before(i) ? { shard, activeCount: 4 } : undefined),
  });
});
