import { deepEqual, equal, ok } from "node:assert/strict";
import {
  createBackend,
  DataParallel,
  labelsTensor,
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

/** The same run on this thread, with no trainer: a model, SGD and trainStep. */
async function trainSingleThread(
  steps: number,
  rows = 30,
): Promise<{ losses: number[]; state: Map<string, Float32Array> }> {
  const backend = await createBackend("wasm");
  const model = modelFromSpec(LAYERS);
  model.build(backend, [1, FEATURES], { seed: SEED });
  const optimizer = optimizerFromSpec(OPTIMIZER, model.parameters());
  const loss = new SoftmaxCrossEntropy();
  const losses = [];
  for (const batch of batches(steps, rows)) {
    const x = backend.tensor(batch.x, [batch.labels.length, FEATURES]);
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
