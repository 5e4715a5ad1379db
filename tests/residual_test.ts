/**
 * Residual blocks: shape checks at build, every bad argument refused, specs
 * and checkpoints round trips, `loadModel`, learning on every backend, and
 * data-parallel replicas of a model with Jumpout inside its blocks.
 * (Gradients against finite differences are in `layers_gradient_test.ts`.)
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  type BackendName,
  Conv2d,
  createBackend,
  DataParallel,
  Dense,
  encodeCheckpoint,
  Jumpout,
  labelsTensor,
  type LayerSpec,
  loadModel,
  modelFromSpec,
  optimizerFromSpec,
  preactResNet,
  ReLU,
  Residual,
  restoreCheckpoint,
  SoftmaxCrossEntropy,
  specOfLayer,
  trainStep,
  walkLayers,
} from "../mod.ts";
import {
  batches,
  CLASSES,
  FEATURES,
  OPTIMIZER,
  sameBytes,
} from "./_helpers/data_parallel.ts";
import { ignoreBackend } from "./_helpers/backends.ts";

/** A residual MLP with Jumpout inside each block's body. */
const RESIDUAL_MLP: LayerSpec[] = [
  { type: "dense", inFeatures: FEATURES, outFeatures: 32 },
  {
    type: "residual",
    body: [
      { type: "relu" },
      { type: "jumpout" },
      { type: "dense", inFeatures: 32, outFeatures: 32 },
    ],
  },
  {
    type: "residual",
    body: [
      { type: "relu" },
      { type: "jumpout" },
      { type: "dense", inFeatures: 32, outFeatures: 16 },
    ],
    shortcut: [{
      type: "dense",
      inFeatures: 32,
      outFeatures: 16,
      options: { bias: false },
    }],
  },
  { type: "relu" },
  { type: "dense", inFeatures: 16, outFeatures: CLASSES },
];

Deno.test("Residual: a body/shortcut shape mismatch is refused at build, naming the block and both shapes", async () => {
  const backend = await createBackend("reference");
  const identity = modelFromSpec([
    { type: "dense", inFeatures: 4, outFeatures: 8 },
    {
      type: "residual",
      body: [{ type: "dense", inFeatures: 8, outFeatures: 6 }],
    },
  ]);
  throws(() => identity.build(backend, [4], { seed: 1 }), {
    name: "RangeError",
    message:
      "Cannot build Sequential: layer 1 (Residual(1 layer)) does not take inputs [N, 8]: Cannot build Residual(1 layer): the body outputs [N, 6] but the shortcut (identity) outputs [N, 8]",
  });
  const strided = new Residual(
    [new Conv2d(2, 4, 3, { stride: 2, padding: 1 })],
    [new Conv2d(2, 4, 1)],
  );
  throws(() => strided.build(backend, [1, 2, 8, 8], 1, ""), {
    name: "RangeError",
    message:
      "Cannot build Residual(1 layer, shortcut 1): the body outputs [N, 4, 4, 4] but the shortcut outputs [N, 4, 8, 8]",
  });
  // Nothing was built: the shortcut holds no parameters.
  deepEqual(strided.parameters(), []);
});

Deno.test("Residual: bad arguments are refused, naming them", () => {
  throws(() => new Residual(undefined as never), {
    name: "TypeError",
    message:
      "Cannot create Residual: body must be an array of layers, got undefined",
  });
  throws(() => new Residual([], {} as never), {
    name: "TypeError",
    message:
      "Cannot create Residual: shortcut must be an array of layers or undefined, got Object",
  });
  throws(() => new Residual([{} as never]), {
    name: "TypeError",
    message:
      "Cannot create Residual: body[0] must be a layer, got Object without build()",
  });
  const shared = new ReLU();
  throws(() => new Residual([shared], [shared]), {
    name: "TypeError",
    message:
      "Cannot create Residual: shortcut must not hold a layer of the body, got ReLU in both",
  });
  throws(
    () =>
      modelFromSpec([{ type: "residual", body: [{ type: "dens" }] } as never]),
    /specs\[0\]\.body\[0\]\.type must be one of .*got "dens"/,
  );
  throws(
    () => modelFromSpec([{ type: "residual" } as never]),
    /specs\[0\]\.body must be an array of layer specs, got undefined/,
  );
  throws(
    () =>
      modelFromSpec([
        { type: "residual", body: [], shortcut: "conv" } as never,
      ]),
    /specs\[0\]\.shortcut must be an array of layer specs, got "conv"/,
  );
  throws(
    () => modelFromSpec([{ type: "residual", body: [], skip: [] } as never]),
    /unknown field "skip"/,
  );
});

Deno.test("Residual: backward needs a training forward", async () => {
  const backend = await createBackend("reference");
  const block = new Residual([new Dense(3, 3)]);
  block.build(backend, [2, 3], 1, "");
  const x = backend.tensor(new Float32Array(6).fill(1), [2, 3]);
  block.forward(x, { training: false });
  throws(() => block.backward(backend.allocate([2, 3])), {
    name: "TypeError",
    message:
      "Cannot run Residual(1 layer) backward: dy needs a training forward first, got backward without a pending forward with training: true",
  });
});

Deno.test("Residual: y = body(x) + shortcut(x), and dx = body'(dy) + shortcut'(dy)", async () => {
  const backend = await createBackend("reference");
  const block = new Residual([new Dense(2, 2, { bias: false })], [
    new Dense(2, 2, { bias: false }),
  ]);
  block.build(backend, [1, 2], 1, "");
  const [body, shortcut] = block.parameters();
  backend.upload(body.value, new Float32Array([1, 2, 3, 4]));
  backend.upload(shortcut.value, new Float32Array([10, 0, 0, 10]));
  const x = backend.tensor(new Float32Array([1, 1]), [1, 2]);
  const y = block.forward(x, { training: true });
  deepEqual([...backend.readSync!(y)], [1 + 3 + 10, 2 + 4 + 10]);
  const dx = block.backward(backend.tensor(new Float32Array([1, 0]), [1, 2]));
  deepEqual([...backend.readSync!(dx)], [1 + 10, 3]);
  deepEqual([...backend.readSync!(body.grad)], [1, 0, 1, 0]);
});

Deno.test("Residual: specs round trip, walks enter blocks", () => {
  const model = modelFromSpec(RESIDUAL_MLP);
  const specs = model.layers.map(specOfLayer);
  deepEqual(modelFromSpec(specs).layers.map(specOfLayer), specs);
  const blocks = specs.flatMap((s) => s.type === "residual" ? [s] : []);
  deepEqual(blocks.map((b) => b.body.map((l) => l.type)), [
    ["relu", "jumpout", "dense"],
    ["relu", "jumpout", "dense"],
  ]);
  deepEqual(blocks.map((b) => b.shortcut?.length), [undefined, 1]);
  const paths = walkLayers(model.layers)
    .filter(([, layer]) => layer instanceof Jumpout)
    .map(([path]) => path);
  deepEqual(paths, ["1.body.1", "2.body.1"]);
  const resnet = modelFromSpec(preactResNet({ depth: 8 })).layers.map(
    specOfLayer,
  );
  deepEqual(modelFromSpec(resnet).layers.map(specOfLayer), resnet);
});

Deno.test("Residual: parameter names carry the block's path", async () => {
  const model = modelFromSpec(RESIDUAL_MLP);
  model.build(await createBackend("reference"), [FEATURES], { seed: 1 });
  deepEqual(model.parameters().map((p) => p.name), [
    "0.weight",
    "0.bias",
    "1.body.2.weight",
    "1.body.2.bias",
    "2.body.2.weight",
    "2.body.2.bias",
    "2.shortcut.0.weight",
    "4.weight",
    "4.bias",
  ]);
});

/** Trains `steps` steps of the residual MLP on one thread. */
async function trainHere(backend: BackendName, steps: number) {
  const b = await createBackend(backend);
  const model = modelFromSpec(RESIDUAL_MLP);
  model.build(b, [FEATURES], { seed: 5 });
  const optimizer = optimizerFromSpec(OPTIMIZER, model.parameters());
  const loss = new SoftmaxCrossEntropy();
  const losses: number[] = [];
  for (const batch of batches(steps, 32, 3)) {
    const x = b.tensor(batch.x, [batch.labels.length, FEATURES]);
    const labels = labelsTensor(b, batch.labels, CLASSES);
    losses.push((await trainStep({ model, loss, optimizer, x, labels })).loss);
    b.release(x);
    b.release(labels);
  }
  return { backend: b, model, optimizer, losses };
}

for (const name of ["reference", "wasm", "webgpu"] as const) {
  Deno.test({
    name: `a residual network with Jumpout in its blocks learns on ${name}`,
    ignore: await ignoreBackend(name),
    fn: async () => {
      const { backend, losses } = await trainHere(name, 40);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
      const first = mean(losses.slice(0, 5)), last = mean(losses.slice(-5));
      ok(last < first - 0.3, `loss ${first} -> ${last}`);
      backend.dispose();
    },
  });
}

Deno.test("a residual model round-trips through checkpoints and loadModel", async () => {
  const { backend, model, optimizer } = await trainHere("wasm", 3);
  const bytes = await encodeCheckpoint(model, optimizer, 3, {});
  const again = modelFromSpec(RESIDUAL_MLP);
  again.build(backend, [FEATURES], { seed: 9 });
  const optimizer2 = optimizerFromSpec(OPTIMIZER, again.parameters());
  restoreCheckpoint(again, optimizer2, bytes);
  for (const [path, layer] of walkLayers(again.layers)) {
    if (layer instanceof Jumpout) {
      equal(layer.step, 3, `mask counter of ${path}`);
    }
  }
  ok(sameBytes(await encodeCheckpoint(again, optimizer2, 3, {}), bytes));
  backend.dispose();

  const trainer = await DataParallel.create({
    model: RESIDUAL_MLP,
    inputShape: [FEATURES],
    optimizer: OPTIMIZER,
    backend: "wasm",
    seed: 5,
    workers: 0,
  });
  const [{ x, labels }] = batches(1, 16, 8);
  await trainer.trainStep(x, labels);
  const loaded = await loadModel(await trainer.checkpoint());
  const input = loaded.backend.tensor(x, [16, FEATURES]);
  const logits = await loaded.backend.read(loaded.model.forward(input));
  const probabilities = await trainer.predict(x);
  for (let r = 0; r < 16; r++) {
    const row = logits.subarray(r * CLASSES, (r + 1) * CLASSES);
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    for (let c = 0; c < CLASSES; c++) {
      const p = Math.exp(row[c] - max) / sum;
      ok(Math.abs(p - probabilities[r * CLASSES + c]) < 1e-6);
    }
  }
  loaded.dispose();
  await trainer.dispose();
});

for (const qPlusScope of ["shard", "global"] as const) {
  Deno.test(`data-parallel replicas of a residual model stay bit-identical (q+ per ${qPlusScope})`, async () => {
    const trainer = await DataParallel.create({
      model: RESIDUAL_MLP,
      inputShape: [FEATURES],
      optimizer: OPTIMIZER,
      backend: "wasm",
      seed: 5,
      workers: 2,
      qPlusScope,
    });
    try {
      const losses = [];
      for (const { x, labels } of batches(5, 30, 3)) {
        losses.push((await trainer.trainStep(x, labels)).loss);
      }
      const [a, b] = await trainer.replicaCheckpoints();
      ok(sameBytes(a, b));
      ok(losses.every(Number.isFinite));
      const stats = await trainer.jumpoutStats();
      deepEqual(stats.map((s) => [s.layer, s.path]), [[1, "1.body.1"], [
        2,
        "2.body.1",
      ]]);
    } finally {
      await trainer.dispose();
    }
  });
}

Deno.test("with the global q+ scope, two workers follow one thread through Jumpout inside blocks", async () => {
  // As in data_parallel_test.ts: same masks and q+ as one thread on the whole
  // batch, sums in another order. With q+ per shard the nested Jumpout layers
  // would see other counts and other rates.
  const single = await trainHere("wasm", 10);
  single.backend.dispose();
  const trainer = await DataParallel.create({
    model: RESIDUAL_MLP,
    inputShape: [FEATURES],
    optimizer: OPTIMIZER,
    backend: "wasm",
    seed: 5,
    workers: 2,
    qPlusScope: "global",
  });
  try {
    let i = 0;
    for (const { x, labels } of batches(10, 32, 3)) {
      const { loss } = await trainer.trainStep(x, labels);
      const expected = single.losses[i++];
      ok(
        Math.abs(loss - expected) <= 1e-4 + 1e-4 * expected,
        `step ${i - 1}: ${loss} vs ${expected}`,
      );
    }
  } finally {
    await trainer.dispose();
  }
});
