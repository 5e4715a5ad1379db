/**
 * fit, evaluate and predict: training from arrays and data-set splits, on
 * the calling thread and on a DataParallel trainer; every option checked;
 * callbacks, validation, early stopping; a failed or aborted fit leaves the
 * model, the optimiser and the checkpoint as the last completed step and
 * epoch left them; resuming from a checkpoint ends byte for byte as an
 * uninterrupted run.
 */
import {
  deepEqual,
  equal,
  notDeepEqual,
  ok,
  rejects,
} from "node:assert/strict";
import {
  type Backend,
  checkpointHistory,
  createBackend,
  DataParallel,
  Dense,
  encodeCheckpoint,
  evaluate,
  fit,
  type FitOptions,
  Jumpout,
  type LayerSpec,
  loadFashionMnist,
  predict,
  ReLU,
  Sequential,
  SGD,
} from "../mod.ts";

const backend: Backend = await createBackend("reference");

/** 96 rows of 2 values; label 1 when the first is the larger. */
function blobs(rows = 96): { x: Float32Array; y: number[] } {
  const x = new Float32Array(rows * 2).map((_, i) => Math.sin(i * 7.1 + 1));
  const y = Array.from(
    { length: rows },
    (_, i) => x[2 * i] > x[2 * i + 1] ? 1 : 0,
  );
  return { x, y };
}

const SPECS: LayerSpec[] = [
  { type: "dense", inFeatures: 2, outFeatures: 16 },
  { type: "relu" },
  { type: "jumpout", options: { sigma: 0.2 } },
  { type: "dense", inFeatures: 16, outFeatures: 2 },
];

/** A fresh model and optimiser, always the same. */
function make() {
  const model = new Sequential([
    new Dense(2, 16),
    new ReLU(),
    new Jumpout({ sigma: 0.2 }),
    new Dense(16, 2),
  ]);
  model.build(backend, [2], { seed: 5 });
  const optimizer = new SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
  return { model, optimizer };
}

/** The whole training state of a Sequential, as bytes. */
function stateOf(run: ReturnType<typeof make>): Promise<Uint8Array> {
  return encodeCheckpoint(run.model, run.optimizer, 0);
}

/** Options every run here shares: 96 rows in 6 steps of 16 per epoch. */
const BASE = { batchSize: 16, seed: 9, epochs: 3 } as const;

Deno.test("fit trains a Sequential from arrays: history, callbacks, validation; evaluate and predict agree", async () => {
  const run = make();
  const data = blobs(120);
  const batches: number[] = [];
  const epochs: number[] = [];
  const history = await fit(run.model, data, {
    ...BASE,
    optimizer: run.optimizer,
    validationSplit: 0.2,
    validationFreq: 2,
    onBatchEnd: (b) => {
      ok(b.steps === 6 && b.loss > 0 && b.accuracy >= 0 && b.seconds >= 0);
      batches.push(b.step);
    },
    onEpochEnd: (e) => void epochs.push(e.epoch),
  });
  // 96 training rows (the last 24 validate): 6 steps per epoch.
  deepEqual(batches, [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
  deepEqual(epochs, [1, 2, 3]);
  deepEqual(history.epoch, [1, 2, 3]);
  equal(run.optimizer.stepCount, 18);
  ok(history.history.loss[2] < history.history.loss[0]);
  // Validated after every second epoch, and after the last.
  const { valLoss, valAccuracy } = history.history;
  ok(Number.isNaN(valLoss![0]) && !Number.isNaN(valLoss![1]));
  ok(!Number.isNaN(valAccuracy![2]));
  const validation = { x: data.x.subarray(96 * 2), y: data.y.slice(96) };
  const measured = await evaluate(run.model, validation, { batchSize: 5 });
  equal(measured.accuracy, valAccuracy![2]);
  ok(Math.abs(measured.loss - valLoss![2]) < 1e-6);
  const p = await predict(run.model, validation);
  const right =
    validation.y.filter((label, r) =>
      (p[2 * r + 1] > p[2 * r] ? 1 : 0) === label
    ).length;
  equal(right / validation.y.length, measured.accuracy);
});

Deno.test("fit on a DataParallel trainer with one replica equals fit on the calling thread", async () => {
  const data = blobs();
  const run = make();
  const here = await fit(run.model, data, {
    ...BASE,
    optimizer: run.optimizer,
  });
  const trainer = await DataParallel.create({
    model: run.model,
    inputShape: [2],
    optimizer: { type: "sgd", lr: 0.3, momentum: 0.9 },
    backend: "reference",
    workers: 0,
    seed: 5,
  });
  try {
    const there = await fit(trainer, data, BASE);
    deepEqual(there, here);
    deepEqual(
      await predict(trainer, data.x),
      await predict(run.model, data.x),
    );
  } finally {
    await trainer.dispose();
  }
});

Deno.test("fit reads a split of the library's data sets", async () => {
  const { train, test } = await loadFashionMnist({ source: "embedded" });
  const wasm = await createBackend("wasm");
  const model = new Sequential([new Dense(784, 10)]);
  model.build(wasm, [784], { seed: 1 });
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  const history = await fit(model, train, {
    optimizer,
    epochs: 1,
    batchSize: 250,
    validationData: test,
    seed: 1,
  });
  // A linear model learns Fashion-MNIST well past chance in one epoch.
  ok(history.history.valAccuracy![0] > 0.5, String(history.history));
  equal(
    (await evaluate(model, test, { batchSize: 300 })).accuracy,
    history.history.valAccuracy![0],
  );
  equal((await predict(model, test)).length, test.count * 10);
  optimizer.dispose();
  model.dispose();
});

Deno.test("fit, evaluate and predict check every option, naming it, and change nothing when one is bad", async () => {
  const run = make();
  const before = await stateOf(run);
  const data = blobs();
  const good: FitOptions = { ...BASE, optimizer: run.optimizer };
  const cases: [unknown, FitOptions | Record<string, unknown>, string][] = [
    [
      data,
      { ...good, batchSize: 0 },
      "batchSize must be an integer >= 1, got 0",
    ],
    [
      data,
      { ...good, batchSize: 97 },
      "batchSize must be at most the training rows (96), got 97",
    ],
    [data, { ...good, epochs: 0 }, "epochs must be an integer >= 1, got 0"],
    [data, { ...good, epochs: 1.5 }, "epochs must be an integer >= 1, got 1.5"],
    [
      data,
      { ...good, validationSplit: 1 },
      "validationSplit must be in (0, 1), got 1",
    ],
    [
      data,
      { ...good, validationSplit: 0 },
      "validationSplit must be in (0, 1), got 0",
    ],
    [
      data,
      { ...good, validationSplit: 1e-17 },
      "validationSplit 1e-17 of 96 rows must leave at least one validation row, got none",
    ],
    [
      data,
      { ...good, validationSplit: 0.5, validationData: data },
      "validationSplit and validationData must not both be given, got both",
    ],
    [
      data,
      { ...good, validationFreq: 0 },
      "validationFreq must be an integer >= 1, got 0",
    ],
    [data, { ...good, seed: -1 }, "seed must be an integer >= 0, got -1"],
    [data, { ...good, shuffle: "yes" }, "shuffle must be a boolean, got yes"],
    [
      data,
      { ...good, batch_size: 8 },
      "options.batch_size is not an option of fit",
    ],
    [
      data,
      { ...good, optimizer: undefined },
      "optimizer must be an optimiser of the model's parameters (SGD or Adam) to train a Sequential, got undefined",
    ],
    [
      data,
      { ...good, earlyStopping: { monitor: "valLoss" } },
      "earlyStopping.monitor valLoss needs validationSplit or validationData, got neither",
    ],
    [
      data,
      { ...good, earlyStopping: { monitor: "acc" } },
      "earlyStopping.monitor must be loss, accuracy, valLoss or valAccuracy, got acc",
    ],
    [
      data,
      { ...good, earlyStopping: { patience: -1 } },
      "earlyStopping.patience must be an integer >= 0, got -1",
    ],
    [data, { ...good, resume: new Uint8Array(3) }, "Cannot read safetensors"],
    [
      data,
      { ...good, onEpochEnd: 3 },
      "onEpochEnd must be a function, got number",
    ],
    [
      data,
      { ...good, signal: {} },
      "signal must be an AbortSignal, got Object",
    ],
    [
      { x: data.x, y: data.y.slice(1) },
      good,
      "data.x must hold data.y.length × 2 = 190 values (2 per sample), got 192",
    ],
    [
      { x: data.x, y: data.y.map((v, i) => i === 7 ? 2 : v) },
      good,
      "data.y[7] must be an integer in [0, 2), got 2",
    ],
    [
      { x: [1, 2], y: [0] },
      good,
      "data.x must be a Float32Array of samples, row after row, got Array",
    ],
    [
      data,
      { ...good, validationData: { x: new Float32Array(2), y: [-1] } },
      "validationData.y[0] must be an integer in [0, 2), got -1",
    ],
  ];
  for (const [d, options, message] of cases) {
    await rejects(
      fit(run.model, d as typeof data, options as FitOptions),
      (e: Error) =>
        e.message.startsWith("Cannot ") && e.message.includes(message),
      message,
    );
  }
  await rejects(
    fit(run.model, data, { ...good, batchSize: 0 }),
    { message: "Cannot fit: batchSize must be an integer >= 1, got 0" },
  );
  await rejects(
    fit({} as Sequential, data, good),
    /Cannot fit: model must be a Sequential or a DataParallel trainer, got Object/,
  );
  const unbuilt = new Sequential([new Dense(2, 2)]);
  await rejects(
    evaluate(unbuilt, data),
    /Cannot evaluate: model must be built \(Sequential.build\)/,
  );
  await rejects(
    evaluate(run.model, data, { batchSize: 0 }),
    { message: "Cannot evaluate: batchSize must be an integer >= 1, got 0" },
  );
  await rejects(
    predict(run.model, new Float32Array(3)),
    {
      message:
        "Cannot predict: x must hold a whole number of samples of 2 values, got 3",
    },
  );
  deepEqual(await stateOf(run), before);
  equal(run.optimizer.stepCount, 0);
});

/** A run of `BASE` writing its checkpoint into a fresh folder. */
async function runTo(
  extra: Partial<FitOptions> = {},
): Promise<{ run: ReturnType<typeof make>; file: string; error?: unknown }> {
  const run = make();
  const dir = await Deno.makeTempDir();
  const file = `${dir}/run.safetensors`;
  let error: unknown;
  await fit(run.model, blobs(), {
    ...BASE,
    optimizer: run.optimizer,
    validationSplit: 0.25,
    checkpoint: file,
    ...extra,
  }).catch((e) => (error = e));
  return { run, file, error };
}

/** Aborts (or throws) after global step `n` of `BASE` runs of 4 steps per epoch. */
function stopAfter(n: number, how: "abort" | "throw"): Partial<FitOptions> {
  const controller = new AbortController();
  let steps = 0;
  return {
    signal: controller.signal,
    onBatchEnd: () => {
      if (++steps < n) return;
      if (how === "throw") throw new Error("callback failed");
      controller.abort(new Error("stopped"));
    },
  };
}

Deno.test("an aborted or failed fit leaves the model and optimiser after the last step, the checkpoint after the last epoch", async () => {
  // 72 training rows: 4 steps of 16 per epoch.
  const oneEpoch = await runTo({ epochs: 1 });
  const aborted = await runTo(stopAfter(6, "abort"));
  const failed = await runTo(stopAfter(6, "throw"));
  equal((aborted.error as Error).message, "stopped");
  equal((failed.error as Error).message, "callback failed");
  equal(aborted.run.optimizer.stepCount, 6);
  equal(failed.run.optimizer.stepCount, 6);
  deepEqual(await stateOf(aborted.run), await stateOf(failed.run));
  notDeepEqual(await stateOf(aborted.run), await stateOf(oneEpoch.run));
  // The checkpoint is epoch 1's, byte for byte.
  const first = await Deno.readFile(oneEpoch.file);
  deepEqual(await Deno.readFile(aborted.file), first);
  deepEqual(await Deno.readFile(failed.file), first);
  // Aborted at the end of an epoch: the model is that epoch's.
  const atEnd = await runTo(stopAfter(4, "abort"));
  deepEqual(await stateOf(atEnd.run), await stateOf(oneEpoch.run));
  // A checkpoint that cannot be written stops the run after its epoch.
  const run = make();
  await rejects(
    fit(run.model, blobs(), {
      ...BASE,
      optimizer: run.optimizer,
      validationSplit: 0.25,
      checkpoint: "/nonexistent/dir/run.safetensors",
    }),
    /Cannot write \/nonexistent\/dir\/run.safetensors/,
  );
  deepEqual(await stateOf(run), await stateOf(oneEpoch.run));
  // An already aborted signal: nothing runs.
  const idle = make();
  const before = await stateOf(idle);
  const controller = new AbortController();
  controller.abort(new Error("early"));
  await rejects(
    fit(idle.model, blobs(), {
      ...BASE,
      optimizer: idle.optimizer,
      signal: controller.signal,
    }),
    /early/,
  );
  deepEqual(await stateOf(idle), before);
});

Deno.test("fit resumes from its checkpoint to the same end as an uninterrupted run, byte for byte", async () => {
  const whole = await runTo();
  const wholeBytes = await Deno.readFile(whole.file);
  for (const at of [3, 4, 9]) {
    const stopped = await runTo(stopAfter(at, "abort"));
    const resumed = make();
    const history = await fit(resumed.model, blobs(), {
      ...BASE,
      optimizer: resumed.optimizer,
      validationSplit: 0.25,
      checkpoint: stopped.file,
      resume: await Deno.readFile(stopped.file).catch(() => undefined),
    });
    deepEqual(
      await Deno.readFile(stopped.file),
      wholeBytes,
      `stopped at ${at}`,
    );
    deepEqual(await stateOf(resumed), await stateOf(whole.run));
    deepEqual(history, checkpointHistory(wholeBytes));
  }
  // Another batch size or shuffle is another run.
  const other = make();
  const bytes = await Deno.readFile(whole.file);
  await rejects(
    fit(other.model, blobs(), {
      ...BASE,
      batchSize: 8,
      optimizer: other.optimizer,
      validationSplit: 0.25,
      resume: bytes,
    }),
    /resume needs the checkpoint's data and batchSize \(4 steps per epoch\), got 9 steps per epoch/,
  );
  await rejects(
    fit(other.model, blobs(), {
      ...BASE,
      seed: 1,
      optimizer: other.optimizer,
      validationSplit: 0.25,
      resume: bytes,
    }),
    /seed must be the checkpoint's \(9\) or left out, got 1/,
  );
});

Deno.test("a DataParallel fit resumes from its checkpoint as an uninterrupted run", async () => {
  const create = () =>
    DataParallel.create({
      model: SPECS,
      inputShape: [2],
      optimizer: { type: "adam", lr: 0.01 },
      backend: "reference",
      workers: 0,
      seed: 3,
    });
  const dir = await Deno.makeTempDir();
  const options = { ...BASE, checkpoint: `${dir}/a.safetensors` };
  const whole = await create();
  await fit(whole, blobs(), options);
  const controller = new AbortController();
  const stopped = await create();
  await rejects(
    fit(stopped, blobs(), {
      ...options,
      checkpoint: `${dir}/b.safetensors`,
      signal: controller.signal,
      onEpochEnd: () => controller.abort(new Error("stop")),
    }),
    /stop/,
  );
  await stopped.dispose();
  const resumed = await create();
  await fit(resumed, blobs(), {
    ...options,
    checkpoint: `${dir}/b.safetensors`,
    resume: await Deno.readFile(`${dir}/b.safetensors`),
  });
  deepEqual(
    await Deno.readFile(`${dir}/b.safetensors`),
    await Deno.readFile(`${dir}/a.safetensors`),
  );
  deepEqual(await resumed.checkpoint(), await whole.checkpoint());
  await Promise.all([whole.dispose(), resumed.dispose()]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("early stopping stops after patience epochs without improvement and restores the best epoch", async () => {
  // Every later epoch "fails" to improve by 100: the first is best.
  const oneEpoch = await runTo({ epochs: 1 });
  const stopped = await runTo({
    epochs: 5,
    earlyStopping: {
      monitor: "loss",
      minDelta: 100,
      patience: 2,
      restoreBest: true,
    },
  });
  equal(stopped.error, undefined);
  const history = checkpointHistory(await Deno.readFile(stopped.file));
  deepEqual(history.epoch, [1, 2, 3]);
  deepEqual(await stateOf(stopped.run), await stateOf(oneEpoch.run));
  const accuracy = await runTo({
    epochs: 4,
    earlyStopping: { monitor: "valAccuracy", minDelta: 2 },
  });
  deepEqual(checkpointHistory(await Deno.readFile(accuracy.file)).epoch, [
    1,
    2,
  ]);
});
