import { deepEqual, equal, ok } from "node:assert/strict";
import {
  augmentImages,
  type AugmentOptions,
  createBackend,
  DataParallel,
  labelsTensor,
  type LayerSpec,
  modelFromSpec,
  optimizerFromSpec,
  SoftmaxCrossEntropy,
  trainStep,
} from "../mod.ts";
import {
  batches,
  FEATURES,
  LAYERS,
  OPTIMIZER,
  sameBytes,
  tensorsOf,
} from "./_helpers/data_parallel.ts";
import { ignoreBackend } from "./_helpers/backends.ts";

const SEED = 11;

/** Trains `steps` steps with `options` and returns the losses and every replica's checkpoint. */
async function train(
  options: Partial<Parameters<typeof DataParallel.create>[0]>,
  steps: number,
  rows = 30,
): Promise<{ losses: number[]; checkpoints: Uint8Array[] }> {
  const trainer = await DataParallel.create({
    model: LAYERS,
    inputShape: [FEATURES],
    optimizer: OPTIMIZER,
    backend: "wasm",
    seed: SEED,
    ...options,
  });
  try {
    const losses = [];
    for (const { x, labels } of batches(steps, rows)) {
      losses.push((await trainer.trainStep(x, labels)).loss);
    }
    return { losses, checkpoints: await trainer.replicaCheckpoints() };
  } finally {
    await trainer.dispose();
  }
}

/** The samples as 1 × 4 × 5 images, for augmentation. */
const IMAGE_SHAPE = [1, 4, 5];

/** {@linkcode LAYERS} on images: flattened first. */
const IMAGE_LAYERS: LayerSpec[] = [{ type: "flatten" }, ...LAYERS];

/** Crops shifted by up to 2 pixels, and flips. */
const AUGMENT: AugmentOptions = { padding: 2 };

/**
 * The same run on this thread, with no trainer: a model, SGD and trainStep;
 * with `augment`, on images, each whole batch augmented first.
 */
async function trainSingleThread(
  steps: number,
  rows = 30,
  augment?: AugmentOptions,
): Promise<{ losses: number[]; state: Map<string, Float32Array> }> {
  const backend = await createBackend("wasm");
  const model = modelFromSpec(augment ? IMAGE_LAYERS : LAYERS);
  const shape = augment ? IMAGE_SHAPE : [FEATURES];
  model.build(backend, shape, { seed: SEED });
  const optimizer = optimizerFromSpec(OPTIMIZER, model.parameters());
  const loss = new SoftmaxCrossEntropy();
  const losses = [];
  for (const [step, batch] of batches(steps, rows).entries()) {
    const [channels, height, width] = IMAGE_SHAPE;
    const inputs = augment
      ? augmentImages(batch.x, new Float32Array(batch.x.length), {
        ...augment,
        channels,
        height,
        width,
        seed: SEED,
        step,
      })
      : batch.x;
    const x = backend.tensor(inputs, [batch.labels.length, ...shape]);
    const labels = labelsTensor(backend, batch.labels, 3);
    losses.push((await trainStep({ model, loss, optimizer, x, labels })).loss);
    backend.release(x);
    backend.release(labels);
  }
  const state = new Map<string, Float32Array>();
  for (const [name, t] of model.state()) state.set(name, await backend.read(t));
  for (const [name, t] of optimizer.state()) {
    state.set(`optimizer.${name}`, await backend.read(t));
  }
  backend.dispose();
  return { losses, state };
}

for (const workers of [2, 3]) {
  for (const transport of ["shared", "transfer"] as const) {
    Deno.test(`${workers} workers (${transport}): replicas stay bit-identical over 6 steps`, async () => {
      const { losses, checkpoints } = await train({ workers, transport }, 6);
      equal(checkpoints.length, workers);
      for (const c of checkpoints) ok(sameBytes(c, checkpoints[0]));
      ok(losses.every(Number.isFinite));
      // Training moved the weights: the check compares something that changes.
      ok(losses[5] < losses[0], `loss ${losses[0]} -> ${losses[5]}`);
    });
  }
}

Deno.test("shared memory and transfer give identical parameters (2 and 3 workers, both q+ scopes)", async () => {
  for (const workers of [2, 3]) {
    for (const qPlusScope of ["shard", "global"] as const) {
      const shared = await train(
        { workers, transport: "shared", qPlusScope },
        5,
      );
      const moved = await train(
        { workers, transport: "transfer", qPlusScope },
        5,
      );
      deepEqual(moved.losses, shared.losses);
      ok(sameBytes(moved.checkpoints[0], shared.checkpoints[0]));
    }
  }
});

Deno.test("one worker and the calling thread train bit-identically to a single-threaded loop", async () => {
  const single = await trainSingleThread(6);
  for (const workers of [1, 0]) {
    const { losses, checkpoints } = await train({ workers }, 6);
    deepEqual(losses, single.losses);
    const state = tensorsOf(checkpoints[0]);
    deepEqual([...state.keys()].sort(), [...single.state.keys()].sort());
    for (const [name, values] of single.state) {
      deepEqual(state.get(name), values, name);
    }
  }
});

Deno.test("with the global q+ scope, workers follow the single-threaded loss curve", async () => {
  // Same masks and q+ as one thread on the whole batch; only the order of
  // float32 sums differs (matmul over shards, the gradient mean), so the
  // curves agree to 1e-4 + 1e-4·loss over 15 steps. The per-shard scope, whose
  // q+ differs from the batch's, is not held to this.
  const single = await trainSingleThread(15, 48);
  for (const workers of [2, 3]) {
    const { losses } = await train({ workers, qPlusScope: "global" }, 15, 48);
    losses.forEach((loss, i) => {
      const expected = single.losses[i];
      ok(
        Math.abs(loss - expected) <= 1e-4 + 1e-4 * expected,
        `${workers} workers, step ${i}: ${loss} vs ${expected}`,
      );
    });
  }
});

Deno.test("evaluation splits the batch and matches a single replica", async () => {
  const [{ x, labels }] = batches(1, 25, 7);
  const results = [];
  for (const workers of [0, 2]) {
    const trainer = await DataParallel.create({
      model: LAYERS,
      inputShape: [FEATURES],
      optimizer: OPTIMIZER,
      backend: "wasm",
      seed: SEED,
      workers,
    });
    results.push(await trainer.evaluate(x, labels));
    await trainer.dispose();
  }
  equal(results[0].accuracy, results[1].accuracy);
  ok(Math.abs(results[0].loss - results[1].loss) < 1e-6 * results[0].loss);
});

Deno.test({
  name: "webgpu: two workers, a device each, stay bit-identical and learn",
  ignore: await ignoreBackend("webgpu"),
  fn: async () => {
    const { losses, checkpoints } = await train(
      { workers: 2, backend: "webgpu", qPlusScope: "global" },
      6,
    );
    ok(sameBytes(checkpoints[0], checkpoints[1]));
    ok(losses[5] < losses[0], `loss ${losses[0]} -> ${losses[5]}`);
  },
});

Deno.test("jumpoutStats: with the global scope, two workers see the q+ of one thread on the whole batch", async () => {
  const [{ x, labels }] = batches(1, 30, 4);
  const seen = [];
  for (const workers of [0, 2]) {
    const trainer = await DataParallel.create({
      model: LAYERS,
      inputShape: [FEATURES],
      optimizer: OPTIMIZER,
      backend: "wasm",
      seed: SEED,
      workers,
      qPlusScope: "global",
    });
    deepEqual(await trainer.jumpoutStats(), []);
    await trainer.trainStep(x, labels);
    seen.push(await trainer.jumpoutStats());
    await trainer.dispose();
  }
  deepEqual(seen[1].map((s) => [s.layer, s.name]), [[2, "Jumpout"], [
    5,
    "Jumpout",
  ]]);
  // The first step's pre-activations are the same row by row, so are the counts.
  deepEqual(seen[1], seen[0]);
  ok(seen[0].every(({ stats: [s] }) => s.qPlus > 0 && s.qPlus < 1));
});

/** Options of a run on images with {@linkcode AUGMENT}. */
const AUGMENTED = {
  model: IMAGE_LAYERS,
  inputShape: IMAGE_SHAPE,
  augment: AUGMENT,
};

Deno.test("augment: one worker and the calling thread train bit-identically to a loop that augments each whole batch", async () => {
  const single = await trainSingleThread(6, 30, AUGMENT);
  const plain = await trainSingleThread(6, 30);
  // The augmentation changes the run: the comparison below is not vacuous.
  ok(single.losses.some((l, i) => Math.abs(l - plain.losses[i]) > 1e-3));
  for (const workers of [1, 0]) {
    const { losses, checkpoints } = await train(
      { ...AUGMENTED, workers },
      6,
    );
    deepEqual(losses, single.losses, `${workers} workers`);
    const state = tensorsOf(checkpoints[0]);
    for (const [name, values] of single.state) {
      deepEqual(state.get(name), values, name);
    }
  }
});

Deno.test("augment: 2 and 3 workers keep the replicas bit-identical, shared and transfer alike", async () => {
  for (const workers of [2, 3]) {
    const shared = await train(
      { ...AUGMENTED, workers, transport: "shared" },
      5,
    );
    const moved = await train(
      { ...AUGMENTED, workers, transport: "transfer" },
      5,
    );
    for (const c of shared.checkpoints) ok(sameBytes(c, shared.checkpoints[0]));
    deepEqual(moved.losses, shared.losses);
    ok(sameBytes(moved.checkpoints[0], shared.checkpoints[0]));
  }
});

Deno.test("augment: with the global q+ scope, workers follow the loss curve of one thread augmenting the whole batch", async () => {
  // Each shard draws its rows' crops and flips by their place in the whole
  // batch, so the workers see the single thread's images; as without
  // augmentation, only the order of float32 sums differs.
  const single = await trainSingleThread(15, 48, AUGMENT);
  const plain = await trainSingleThread(15, 48);
  for (const workers of [2, 3]) {
    const { losses } = await train(
      { ...AUGMENTED, workers, qPlusScope: "global" },
      15,
      48,
    );
    losses.forEach((loss, i) => {
      const expected = single.losses[i];
      ok(
        Math.abs(loss - expected) <= 1e-4 + 1e-4 * expected,
        `${workers} workers, step ${i}: ${loss} vs ${expected}`,
      );
    });
    ok(losses.some((l, i) => Math.abs(l - plain.losses[i]) > 1e-3));
  }
});

Deno.test("augment: evaluate and predict see the images as given; only training steps are augmented", async () => {
  const [{ x, labels }] = batches(1, 25, 7);
  const seen = [];
  for (const augment of [false, true]) {
    const trainer = await DataParallel.create({
      ...AUGMENTED,
      optimizer: OPTIMIZER,
      backend: "wasm",
      seed: SEED,
      workers: 2,
      augment: augment && AUGMENT,
    });
    try {
      // The same weights: evaluation agrees to the bit with and without.
      const evaluated = await trainer.evaluate(x, labels);
      const predicted = await trainer.predict(x);
      const { loss } = await trainer.trainStep(x, labels);
      seen.push({ evaluated, predicted, loss });
    } finally {
      await trainer.dispose();
    }
  }
  deepEqual(seen[1].evaluated, seen[0].evaluated);
  deepEqual(seen[1].predicted, seen[0].predicted);
  ok(seen[1].loss !== seen[0].loss, `${seen[1].loss}`);
});

Deno.test("augment: a run resumed from a checkpoint goes on bit-identically", async () => {
  const options = {
    ...AUGMENTED,
    optimizer: OPTIMIZER,
    backend: "wasm" as const,
    seed: SEED,
    workers: 2,
  };
  const data = batches(4, 30);
  const whole = await DataParallel.create(options);
  const first = await DataParallel.create(options);
  try {
    for (const { x, labels } of data) await whole.trainStep(x, labels);
    for (const { x, labels } of data.slice(0, 2)) {
      await first.trainStep(x, labels);
    }
    const resumed = await DataParallel.create({
      ...options,
      checkpoint: await first.checkpoint(),
    });
    try {
      for (const { x, labels } of data.slice(2)) {
        await resumed.trainStep(x, labels);
      }
      ok(sameBytes(await resumed.checkpoint(), await whole.checkpoint()));
    } finally {
      await resumed.dispose();
    }
  } finally {
    await whole.dispose();
    await first.dispose();
  }
});
