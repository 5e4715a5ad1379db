import {
  deepEqual,
  equal,
  notDeepEqual,
  rejects,
  throws,
} from "node:assert/strict";
import {
  Adam,
  type Backend,
  createBackend,
  decodeSafetensors,
  encodeCheckpoint,
  encodeSafetensors,
  Jumpout,
  labelsTensor,
  type LayerSpec,
  modelFromSpec,
  type Optimizer,
  readCheckpointHeader,
  restoreCheckpoint,
  saveWeights,
  type Sequential,
  SGD,
  SoftmaxCrossEntropy,
  trainStep,
} from "../mod.ts";

const FEATURES = 6;
const CLASSES = 3;
const ROWS = 10;
const SEED = 21;

/** Dense, BatchNorm, ReLU, Jumpout, Dense, ReLU, Dropout, Dense: every kind of state. */
const LAYERS: LayerSpec[] = [
  { type: "dense", inFeatures: FEATURES, outFeatures: 16 },
  { type: "batch_norm", channels: 16 },
  { type: "relu" },
  { type: "jumpout" },
  { type: "dense", inFeatures: 16, outFeatures: 12 },
  { type: "relu" },
  { type: "dropout", options: { rate: 0.3 } },
  { type: "dense", inFeatures: 12, outFeatures: CLASSES },
];

/** Indices of LAYERS' Jumpout and Dropout layers. */
const DROP_LAYERS = [3, 6];

/** Layer `i` of `model`, which must be a Jumpout (or Dropout) layer. */
function dropLayer(model: Sequential, i: number): Jumpout {
  const layer = model.layers[i];
  if (!(layer instanceof Jumpout)) {
    throw new TypeError(
      `layer ${i} must be a Jumpout layer, got ${layer.name}`,
    );
  }
  return layer;
}

type MakeOptimizer = (model: Sequential) => Optimizer;
const sgd: MakeOptimizer = (m) =>
  new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
const adam: MakeOptimizer = (m) => new Adam(m.parameters(), { lr: 0.01 });

/** A run: a built model and its optimiser. */
interface Run {
  model: Sequential;
  optimizer: Optimizer;
}

function makeRun(
  backend: Backend,
  optimizer: MakeOptimizer,
  layers: LayerSpec[] = LAYERS,
): Run {
  const model = modelFromSpec(layers);
  model.build(backend, [FEATURES], { seed: SEED });
  return { model, optimizer: optimizer(model) };
}

/** Batch `index` of a fixed data set (the same batch for the same index). */
function batch(index: number): { x: Float32Array; labels: number[] } {
  let s = (index + 1) * 7919;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const x = new Float32Array(ROWS * FEATURES);
  const labels: number[] = [];
  for (let i = 0; i < ROWS; i++) {
    const c = Math.floor(uniform() * CLASSES);
    labels.push(c);
    for (let j = 0; j < FEATURES; j++) {
      x[i * FEATURES + j] = uniform() - 0.5 + (j % CLASSES === c ? 1 : 0);
    }
  }
  return { x, labels };
}

/** Trains batches [from, to). */
async function train(backend: Backend, run: Run, from: number, to: number) {
  const loss = new SoftmaxCrossEntropy();
  for (let i = from; i < to; i++) {
    const b = batch(i);
    const x = backend.tensor(b.x, [ROWS, FEATURES]);
    const labels = labelsTensor(backend, b.labels, CLASSES);
    await trainStep({
      model: run.model,
      loss,
      optimizer: run.optimizer,
      x,
      labels,
    });
    backend.release(x);
    backend.release(labels);
  }
}

/** Everything a run holds, as bit patterns: model state, optimiser state, counters. */
async function snapshot(run: Run): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const read = async (
    prefix: string,
    state: Map<string, { backend: Backend }>,
  ) => {
    for (const [name, t] of state) {
      const values = await t.backend.read(t as never) as Float32Array;
      out[prefix + name] = [
        ...new Uint32Array(values.buffer, values.byteOffset, values.length),
      ];
    }
  };
  await read("model.", run.model.state());
  await read("optimizer.", run.optimizer.state());
  out.optimizerStep = run.optimizer.stepCount;
  // Every Jumpout (and Dropout) layer's counter, wherever the model has them.
  out.maskSteps = run.model.layers.flatMap((layer, i) =>
    layer instanceof Jumpout ? [[i, layer.step]] : []
  );
  return out;
}

for (
  const [name, makeOptimizer] of [["SGD momentum", sgd], [
    "Adam",
    adam,
  ]] as const
) {
  Deno.test(`checkpoint (${name}): 3 steps, save, 3 steps equals restore, 3 steps, bit for bit`, async () => {
    const backend = await createBackend("reference");
    const a = makeRun(backend, makeOptimizer);
    await train(backend, a, 0, 3);
    const bytes = await encodeCheckpoint(a.model, a.optimizer, 3);
    await train(backend, a, 3, 6);
    const stateA = await snapshot(a);

    const b = makeRun(backend, makeOptimizer);
    const header = restoreCheckpoint(b.model, b.optimizer, bytes);
    equal(header.step, 3);
    equal(b.optimizer.stepCount, 3);
    deepEqual(DROP_LAYERS.map((i) => dropLayer(b.model, i).step), [
      3,
      3,
    ]);
    await train(backend, b, 3, 6);
    deepEqual(await snapshot(b), stateA);
    deepEqual(stateA.maskSteps, [[3, 6], [6, 6]]);
    equal(stateA.optimizerStep, 6);
  });

  Deno.test(`checkpoint (${name}): the restored counters matter (the comparison above can fail)`, async () => {
    const backend = await createBackend("reference");
    const a = makeRun(backend, makeOptimizer);
    await train(backend, a, 0, 3);
    const bytes = await encodeCheckpoint(a.model, a.optimizer, 3);
    await train(backend, a, 3, 6);
    const stateA = await snapshot(a);
    const weightsOf = (s: Record<string, unknown>) =>
      Object.entries(s).filter(([k]) => k.startsWith("model."));

    // Masks restarted at step 0: other masks, other weights.
    const masks = makeRun(backend, makeOptimizer);
    restoreCheckpoint(masks.model, masks.optimizer, bytes);
    for (const i of DROP_LAYERS) dropLayer(masks.model, i).step = 0;
    await train(backend, masks, 3, 6);
    notDeepEqual(weightsOf(await snapshot(masks)), weightsOf(stateA));

    // The optimiser's step count reset: Adam's bias correction changes the
    // weights; SGD's update does not use it, only the count itself differs.
    const counts = makeRun(backend, makeOptimizer);
    restoreCheckpoint(counts.model, counts.optimizer, bytes);
    counts.optimizer.stepCount = 0;
    await train(backend, counts, 3, 6);
    const stateC = await snapshot(counts);
    equal(stateC.optimizerStep, 3);
    if (name === "Adam") notDeepEqual(weightsOf(stateC), weightsOf(stateA));
  });
}

Deno.test("readCheckpointHeader: step, optimiser step, mask counters and extra metadata", async () => {
  const backend = await createBackend("reference");
  const run = makeRun(backend, adam);
  await train(backend, run, 0, 2);
  run.optimizer.stepCount = 5; // differs from the mask counters on purpose
  const bytes = await encodeCheckpoint(run.model, run.optimizer, 9, {
    note: "hello",
  });
  const header = readCheckpointHeader(bytes);
  equal(header.step, 9);
  equal(header.optimizerStep, 5);
  deepEqual(header.maskSteps, { 3: 2, 6: 2 });
  equal(header.metadata.note, "hello");
  equal(header.metadata["jumpout.checkpoint"], "1");
  // The same header comes back from restoring.
  const fresh = makeRun(backend, adam);
  deepEqual(restoreCheckpoint(fresh.model, fresh.optimizer, bytes), header);
});

Deno.test("encodeCheckpoint: reserved metadata names and bad steps are refused", async () => {
  const backend = await createBackend("reference");
  const run = makeRun(backend, sgd);
  for (
    const key of ["jumpout.step", "jumpout.checkpoint", "jumpout.anything"]
  ) {
    await rejects(
      encodeCheckpoint(run.model, run.optimizer, 1, { ok: "1", [key]: "2" }),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message ===
          `Cannot write a checkpoint: metadata names starting "jumpout." are reserved, got "${key}"`,
    );
  }
  for (const step of [-1, 1.5, NaN]) {
    await rejects(
      encodeCheckpoint(run.model, run.optimizer, step),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message ===
          `Cannot write a checkpoint: step must be an integer >= 0, got ${step}`,
    );
  }
});

/** A checkpoint's bytes with some metadata replaced (undefined removes the key). */
function withMetadata(
  bytes: Uint8Array,
  changes: Record<string, string | undefined>,
): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const next: Record<string, string> = { ...metadata };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete next[k];
    else next[k] = v;
  }
  return encodeSafetensors(tensors, next);
}

/** A trained run whose state must survive a refused restore. */
async function trainedRun(backend: Backend): Promise<Run> {
  const run = makeRun(backend, sgd);
  await train(backend, run, 4, 6); // other batches than the checkpoint's run
  return run;
}

/** A checkpoint of 3 steps of the usual run. */
async function checkpointBytes(backend: Backend): Promise<Uint8Array> {
  const run = makeRun(backend, sgd);
  await train(backend, run, 0, 3);
  return await encodeCheckpoint(run.model, run.optimizer, 3);
}

/** Asserts restoring `bytes` into a trained run throws `expected` and changes nothing. */
async function refused(
  backend: Backend,
  bytes: Uint8Array,
  expected: RegExp | string,
  run?: Run,
): Promise<void> {
  const target = run ?? await trainedRun(backend);
  const before = await snapshot(target);
  throws(
    () => restoreCheckpoint(target.model, target.optimizer, bytes),
    (e: unknown) =>
      e instanceof Error &&
      (typeof expected === "string"
        ? e.message === expected
        : expected.test(e.message)),
    String(expected),
  );
  deepEqual(await snapshot(target), before);
}

Deno.test("restoreCheckpoint: a plain safetensors file is not a checkpoint", async () => {
  const backend = await createBackend("reference");
  const run = await trainedRun(backend);
  const plain = await saveWeights(run.model.state(), { format: "pt" });
  await refused(
    backend,
    plain,
    "Cannot read a checkpoint: the file is not a checkpoint of this library (format 1), got metadata jumpout.checkpoint = null",
    run,
  );
  await refused(
    backend,
    withMetadata(await checkpointBytes(backend), { "jumpout.checkpoint": "2" }),
    /format 1\), got metadata jumpout.checkpoint = "2"$/,
  );
});

Deno.test("restoreCheckpoint: bad step fields are refused, naming the field", async () => {
  const backend = await createBackend("reference");
  const good = await checkpointBytes(backend);
  const run = await trainedRun(backend);
  for (const key of ["jumpout.step", "jumpout.optimizerStep"]) {
    for (
      const value of [
        "-1",
        "1.5",
        "abc",
        "",
        " ",
        "0x10",
        "1e3",
        "+1",
        "007",
        "9007199254740993",
        undefined,
      ]
    ) {
      await refused(
        backend,
        withMetadata(good, { [key]: value }),
        `Cannot read a checkpoint: ${key} must be an integer >= 0, got ${
          value === undefined ? "null" : JSON.stringify(value)
        }`,
        run,
      );
    }
  }
});

Deno.test("restoreCheckpoint: bad maskSteps are refused, naming the field", async () => {
  const backend = await createBackend("reference");
  const good = await checkpointBytes(backend);
  const run = await trainedRun(backend);
  for (
    const value of [
      "{", // not JSON
      "null",
      "[3, 3]",
      '{"3": -1, "6": 3}',
      '{"3": 1.5, "6": 3}',
      '{"3": "3", "6": 3}',
      '{"03": 3, "6": 3}',
      '{"x": 3}',
      undefined,
    ]
  ) {
    await refused(
      backend,
      withMetadata(good, { "jumpout.maskSteps": value }),
      `Cannot read a checkpoint: jumpout.maskSteps must be a JSON object of layer path to step, got ${
        value === undefined ? "null" : JSON.stringify(value)
      }`,
      run,
    );
  }
});

Deno.test("restoreCheckpoint: a model whose Jumpout layers are elsewhere is refused", async () => {
  const backend = await createBackend("reference");
  const good = await checkpointBytes(backend);
  // Same parameters, but the Jumpout layer before the ReLU and no Dropout.
  const moved: LayerSpec[] = [
    LAYERS[0],
    LAYERS[1],
    { type: "jumpout" },
    { type: "relu" },
    LAYERS[4],
    LAYERS[5],
    LAYERS[7],
  ];
  const run = makeRun(backend, sgd, moved);
  await train(backend, run, 4, 5);
  await refused(
    backend,
    good,
    "Cannot restore a checkpoint: the model's Jumpout and Dropout layers must be where the file has them, got layers [2] and a file with [3,6]",
    run,
  );
  // maskSteps naming other layers than the model's are refused the same way.
  await refused(
    backend,
    withMetadata(good, { "jumpout.maskSteps": '{"3": 3}' }),
    /got layers \[3,6\] and a file with \[3\]$/,
  );
});

Deno.test("restoreCheckpoint: a model of other shapes, or another optimiser, is refused", async () => {
  const backend = await createBackend("reference");
  const good = await checkpointBytes(backend);
  const wider: LayerSpec[] = LAYERS.map((l) =>
    l.type === "dense" && l.outFeatures === 12
      ? { ...l, outFeatures: 13 }
      : l.type === "dense" && l.inFeatures === 12
      ? { ...l, inFeatures: 13 }
      : l
  );
  const run = makeRun(backend, sgd, wider);
  await train(backend, run, 4, 5);
  await refused(
    backend,
    good,
    /^Cannot load weights: the file must hold exactly the expected tensors, got .*"4\.weight" has shape \[16, 12\] in the file, expected \[16, 13\]/,
    run,
  );
  const other = makeRun(backend, adam);
  await train(backend, other, 4, 5);
  await refused(
    backend,
    good,
    /^Cannot load weights: .*missing "optimizer\.[^"]+\.adam_m".*unexpected "optimizer\.[^"]+\.velocity"/,
    other,
  );
});

Deno.test("restoreCheckpoint: garbage bytes are refused before anything changes", async () => {
  const backend = await createBackend("reference");
  await refused(backend, new Uint8Array([1, 2, 3]), /^Cannot /);
  const good = await checkpointBytes(backend);
  await refused(backend, good.subarray(0, good.length - 4), /^Cannot /);
});
