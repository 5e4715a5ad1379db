import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  DataParallel,
  type DataParallelOptions,
  type LayerSpec,
  readCheckpointHeader,
} from "../mod.ts";

/** A two-feature, two-class ReLU net with a Jumpout layer. */
const LAYERS: LayerSpec[] = [
  { type: "dense", inFeatures: 2, outFeatures: 4 },
  { type: "relu" },
  { type: "jumpout" },
  { type: "dense", inFeatures: 4, outFeatures: 2 },
];

/** Valid options on this thread; each test spoils one. */
const BASE: DataParallelOptions = {
  model: LAYERS,
  inputShape: [2],
  optimizer: { type: "sgd", lr: 0.1, momentum: 0.9 },
  backend: "reference",
  workers: 0,
  seed: 3,
};

/** Four rows, two per class. */
const X = new Float32Array([1, 0, 0, 1, 1, 0.5, 0.5, 1]);
const LABELS = [0, 1, 0, 1];

/** An error check: the class and the exact message. */
function error(Err: ErrorConstructor | typeof RangeError, message: string) {
  return (e: unknown) => {
    ok(e instanceof Err, `expected a ${Err.name}, got ${e}`);
    equal((e as Error).message, message);
    return true;
  };
}

/** Creating with `changes` merged into BASE rejects with `Err` and `detail`. */
async function refused(
  changes: Record<string, unknown>,
  Err: typeof TypeError | typeof RangeError,
  detail: string,
): Promise<void> {
  await rejects(
    DataParallel.create({ ...BASE, ...changes } as DataParallelOptions),
    error(Err, `Cannot create DataParallel: ${detail}`),
    JSON.stringify(changes),
  );
}

Deno.test("DataParallel.create: options that are not an object", async () => {
  await rejects(
    DataParallel.create(null as never),
    error(
      TypeError,
      "Cannot create DataParallel: options must be an object, got null",
    ),
  );
});

Deno.test("DataParallel.create: a model that is not an array or Sequential", async () => {
  const detail = "model must be a Sequential or an array of layer specs, got";
  await refused({ model: 5 }, TypeError, `${detail} number`);
  await refused({ model: null }, TypeError, `${detail} null`);
  await refused({ model: { layers: [] } }, TypeError, `${detail} Object`);
  await refused({ model: undefined }, TypeError, `${detail} undefined`);
});

Deno.test("DataParallel.create: a bad layer spec names the spec", async () => {
  await rejects(
    DataParallel.create({ ...BASE, model: [{ type: "dens" }] as never }),
    (e: unknown) =>
      e instanceof TypeError &&
      /specs\[0\]\.type must be one of .*got "dens"$/.test(e.message),
  );
  await rejects(
    DataParallel.create({
      ...BASE,
      model: [LAYERS[0], { type: "dense", inFeatures: 4 }] as never,
    }),
    (e: unknown) =>
      e instanceof RangeError && /specs\[1\].*outFeatures/.test(e.message),
  );
});

Deno.test("DataParallel.create: shapes that do not chain name the layer index", async () => {
  await refused(
    {
      model: [LAYERS[0], { type: "relu" }, {
        type: "dense",
        inFeatures: 5,
        outFeatures: 2,
      }],
    },
    RangeError,
    "layer 2 (Dense(5 → 2)) does not take inputs [N, 4]: Cannot build Dense(5 → 2): needs inputs [N, 5], got [N, 4]",
  );
  await rejects(
    DataParallel.create({ ...BASE, inputShape: [3] }),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message.startsWith(
        "Cannot create DataParallel: layer 0 (Dense(2 → 4)) does not take inputs [N, 3]: ",
      ),
  );
});

Deno.test("DataParallel.create: a model must end in [N, classes]", async () => {
  await refused(
    {
      inputShape: [1, 4, 4],
      model: [{
        type: "conv2d",
        inChannels: 1,
        outChannels: 2,
        kernelSize: 3,
        options: { padding: 1 },
      }],
    },
    RangeError,
    "model must output [N, classes], got [N, 2, 4, 4]",
  );
});

Deno.test("DataParallel.create: a bad inputShape", async () => {
  const detail =
    "inputShape must be a non-empty array of integers > 0 (one sample, no batch), got";
  await refused({ inputShape: [0] }, RangeError, `${detail} [0]`);
  await refused({ inputShape: [] }, RangeError, `${detail} []`);
  await refused({ inputShape: [2.5] }, RangeError, `${detail} [2.5]`);
  await refused({ inputShape: [2, -1] }, RangeError, `${detail} [2, -1]`);
  await refused({ inputShape: "2" }, RangeError, `${detail} string`);
  await refused({ inputShape: undefined }, RangeError, `${detail} undefined`);
  await refused({ inputShape: null }, RangeError, `${detail} null`);
});

Deno.test("DataParallel.create: bad workers, qPlusScope, transport, timeoutMs, checkpoint, seed, backend", async () => {
  for (const workers of [-1, 1.5, NaN]) {
    await refused(
      { workers },
      RangeError,
      `workers must be an integer >= 0, got ${workers}`,
    );
  }
  await refused(
    { qPlusScope: "batch" },
    TypeError,
    'qPlusScope must be "shard" or "global", got batch',
  );
  await refused(
    { transport: "pipes" },
    TypeError,
    'transport must be "auto", "shared" or "transfer", got pipes',
  );
  for (const timeoutMs of [0, -5, NaN, 2 ** 31, Infinity]) {
    await refused(
      { timeoutMs },
      RangeError,
      `timeoutMs must be a number in (0, 2^31), got ${timeoutMs}`,
    );
  }
  await refused(
    { checkpoint: [1, 2] },
    TypeError,
    "checkpoint must be a Uint8Array, got Array",
  );
  await refused(
    { checkpoint: new ArrayBuffer(8) },
    TypeError,
    "checkpoint must be a Uint8Array, got ArrayBuffer",
  );
  await refused(
    { seed: -1 },
    RangeError,
    "seed must be an integer in [0, 2^32), got -1",
  );
  await refused(
    { backend: "cuda" },
    TypeError,
    'backend must be "reference", "wasm", "webgpu" or "auto", got cuda',
  );
});

Deno.test("DataParallel.create: a checkpoint of another model or seed is refused", async () => {
  const trainer = await DataParallel.create(BASE);
  await trainer.trainStep(X, LABELS);
  const bytes = await trainer.checkpoint();
  await trainer.dispose();
  const other = [...LAYERS.slice(0, 3), {
    type: "dense",
    inFeatures: 4,
    outFeatures: 3,
  }];
  await rejects(
    DataParallel.create({
      ...BASE,
      model: other as LayerSpec[],
      checkpoint: bytes,
    }),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message.startsWith(
        "Cannot create DataParallel: checkpoint must be of this model, input shape, optimiser and augmentation",
      ),
  );
  await refused(
    { checkpoint: bytes, seed: 4 },
    RangeError,
    "seed must be the checkpoint's (3) or left out, got 4",
  );
  await rejects(
    DataParallel.create({ ...BASE, checkpoint: new Uint8Array([1, 2, 3]) }),
    (e: unknown) => e instanceof Error && e.message.startsWith("Cannot "),
  );
  // The same setup resumes, at the saved step.
  const resumed = await DataParallel.create({
    ...BASE,
    seed: undefined,
    checkpoint: bytes,
  });
  try {
    deepEqual([resumed.stepCount, resumed.seed], [1, 3]);
  } finally {
    await resumed.dispose();
  }
});

Deno.test("DataParallel.trainStep: malformed batches are refused and change nothing", async () => {
  const trainer = await DataParallel.create(BASE);
  try {
    const before = await trainer.checkpoint();
    const what = "Cannot run DataParallel step 0";
    await rejects(
      trainer.trainStep(new Float64Array(8) as never, LABELS),
      error(TypeError, `${what}: x must be a Float32Array, got Float64Array`),
    );
    await rejects(
      trainer.trainStep([1, 0] as never, LABELS),
      error(TypeError, `${what}: x must be a Float32Array, got Array`),
    );
    await rejects(
      trainer.trainStep(X.subarray(0, 6), LABELS),
      error(
        RangeError,
        `${what}: x must hold labels.length × 2 = 8 values, got 6`,
      ),
    );
    await rejects(
      trainer.trainStep(X, null as never),
      error(
        TypeError,
        `${what}: labels must be an array of integers, got null`,
      ),
    );
    for (const [i, bad] of [[1, 2], [2, -1], [3, 0.5], [0, NaN]] as const) {
      const labels = [...LABELS];
      labels[i] = bad;
      await rejects(
        trainer.trainStep(X, labels),
        error(
          RangeError,
          `${what}: labels[${i}] must be an integer in [0, 2), got ${bad}`,
        ),
      );
    }
    equal(trainer.stepCount, 0);
    deepEqual(await trainer.checkpoint(), before);
    // Still usable.
    await trainer.trainStep(X, new Uint32Array(LABELS));
    equal(trainer.stepCount, 1);
    // evaluate checks the same way.
    await rejects(
      trainer.evaluate(X, [0, 1, 0, 5]),
      error(
        RangeError,
        "Cannot evaluate with DataParallel: labels[3] must be an integer in [0, 2), got 5",
      ),
    );
  } finally {
    await trainer.dispose();
  }
});

Deno.test("DataParallel.trainStep: a schedule returning NaN, a negative or an infinite rate is refused", async () => {
  let rate = 0.1;
  const trainer = await DataParallel.create({
    ...BASE,
    optimizer: { type: "sgd", momentum: 0.9 },
    schedule: () => rate,
  });
  try {
    await trainer.trainStep(X, LABELS);
    const before = await trainer.checkpoint();
    for (const bad of [NaN, -1, Infinity]) {
      rate = bad;
      await rejects(
        trainer.trainStep(X, LABELS),
        error(
          RangeError,
          `Cannot run DataParallel step 1: schedule(1) must return a finite number >= 0, got ${bad}`,
        ),
      );
    }
    equal(trainer.stepCount, 1);
    deepEqual(await trainer.checkpoint(), before);
  } finally {
    await trainer.dispose();
  }
});

Deno.test("DataParallel: every call after dispose is refused", async () => {
  const trainer = await DataParallel.create(BASE);
  await trainer.dispose();
  await trainer.dispose(); // twice is fine
  const dead = (what: string) =>
    error(
      TypeError,
      `Cannot ${what}: the trainer must be live, got one that was disposed`,
    );
  await rejects(trainer.trainStep(X, LABELS), dead("run DataParallel step 0"));
  await rejects(
    trainer.evaluate(X, LABELS),
    dead("evaluate with DataParallel"),
  );
  await rejects(trainer.checkpoint(), dead("write a DataParallel checkpoint"));
  await rejects(
    trainer.replicaCheckpoints(),
    dead("read the DataParallel replicas"),
  );
});

Deno.test("DataParallel.trainStep: a batch with fewer rows than replicas is refused (2 workers)", async () => {
  const trainer = await DataParallel.create({ ...BASE, workers: 2 });
  try {
    equal(trainer.workers, 2);
    await rejects(
      trainer.trainStep(X.subarray(0, 2), [0]),
      error(
        RangeError,
        "Cannot run DataParallel step 0: the batch must have at least one row per replica (2), got 1 rows",
      ),
    );
    equal(trainer.stepCount, 0);
    await trainer.trainStep(X.subarray(0, 4), [0, 1]);
    equal(trainer.stepCount, 1);
  } finally {
    await trainer.dispose();
  }
});

Deno.test("DataParallel.create: without Worker, workers default to 0 and 2 is refused", async () => {
  const saved = globalThis.Worker;
  try {
    delete (globalThis as { Worker?: unknown }).Worker;
    equal(typeof Worker, "undefined");
    const trainer = await DataParallel.create({ ...BASE, workers: undefined });
    try {
      deepEqual([trainer.workers, trainer.transport], [0, "none"]);
      await trainer.trainStep(X, LABELS);
    } finally {
      await trainer.dispose();
    }
    await refused(
      { workers: 2 },
      TypeError,
      "workers must be 0 in a runtime without Worker (the replica then runs on this thread), got 2",
    );
  } finally {
    globalThis.Worker = saved;
  }
  equal(globalThis.Worker, saved);
});

Deno.test("DataParallel.create: metadata travels in every checkpoint; bad or reserved names are refused", async () => {
  const trainer = await DataParallel.create({
    ...BASE,
    workers: 0,
    metadata: { "input.mean": "0.5", note: "" },
  });
  try {
    const { metadata } = readCheckpointHeader(await trainer.checkpoint());
    equal(metadata["input.mean"], "0.5");
    equal(metadata.note, "");
    ok(metadata["dataParallel.setup"] !== undefined);
  } finally {
    await trainer.dispose();
  }
  await refused(
    { metadata: ["a"] as unknown as Record<string, string> },
    TypeError,
    "metadata must be an object of strings, got Array",
  );
  await refused(
    { metadata: { scale: 2 } as unknown as Record<string, string> },
    TypeError,
    'metadata["scale"] must be a string, got 2',
  );
  await refused(
    { metadata: { "dataParallel.seed": "1" } },
    RangeError,
    'metadata names starting "jumpout." or "dataParallel." are reserved, got "dataParallel.seed"',
  );
});

/** Valid options on 1 × 2 × 2 images; each augment test spoils one. */
const IMAGES: DataParallelOptions = {
  ...BASE,
  model: [{ type: "flatten" }, {
    type: "dense",
    inFeatures: 4,
    outFeatures: 2,
  }],
  inputShape: [1, 2, 2],
};

Deno.test("DataParallel.create: a bad augment is refused, naming the field", async () => {
  const image = (augment: unknown) => ({ ...IMAGES, augment }) as never;
  const refusedOnImages = (
    augment: unknown,
    Err: typeof TypeError | typeof RangeError,
    detail: string,
  ) =>
    rejects(
      DataParallel.create(image(augment)),
      error(Err, `Cannot create DataParallel: ${detail}`),
      JSON.stringify(augment),
    );
  const notOptions: [unknown, string][] = [
    [5, "5"],
    ["yes", '"yes"'],
    [null, "null"],
    [[1], "an array"],
  ];
  for (const [bad, shown] of notOptions) {
    await refusedOnImages(
      bad,
      TypeError,
      `augment must be true, false or an object of augmentation options, got ${shown}`,
    );
  }
  await refused(
    { augment: true },
    RangeError,
    "inputShape must be [channels, height, width] to augment images, got [2]",
  );
  await refusedOnImages(
    true, // the default padding, 4, is more than the images' side
    RangeError,
    "augment.padding must be an integer in [0, 2] (the image's smaller side), got 4",
  );
  await refusedOnImages(
    { padding: -1 },
    RangeError,
    "augment.padding must be an integer in [0, 2] (the image's smaller side), got -1",
  );
  await refusedOnImages(
    { padding: "1" },
    RangeError,
    'augment.padding must be an integer in [0, 2] (the image\'s smaller side), got "1"',
  );
  await refusedOnImages(
    { padding: 1, flip: 1 },
    TypeError,
    "augment.flip must be a boolean, got 1",
  );
  await refusedOnImages(
    { padding: 1, fill: Infinity },
    RangeError,
    "augment.fill must be a finite number, got Infinity",
  );
  await refusedOnImages(
    { pad: 1 },
    TypeError,
    "augment.pad is not an option (padding, flip, fill), got 1",
  );
  // Off, it needs no images; on, with a padding that fits, it trains.
  for (const augment of [false, undefined]) {
    const trainer = await DataParallel.create({ ...BASE, augment });
    await trainer.dispose();
  }
  const trainer = await DataParallel.create(image({ padding: 1 }));
  try {
    await trainer.trainStep(new Float32Array(16).fill(1), [0, 1, 0, 1]);
    equal(trainer.stepCount, 1);
  } finally {
    await trainer.dispose();
  }
});

Deno.test("DataParallel.create: checkpoints record the augmentation, and resume only with the same", async () => {
  const setupOf = async (options: DataParallelOptions) => {
    const trainer = await DataParallel.create(options);
    try {
      await trainer.trainStep(new Float32Array(16).fill(1), [0, 1, 0, 1]);
      const bytes = await trainer.checkpoint();
      const setup = JSON.parse(
        readCheckpointHeader(bytes).metadata["dataParallel.setup"],
      );
      return { bytes, setup };
    } finally {
      await trainer.dispose();
    }
  };
  const on = await setupOf({ ...IMAGES, augment: { padding: 1 } });
  deepEqual(on.setup.augment, { padding: 1, flip: true, fill: 0 });
  // Off, the setup is as before augmentation existed.
  const off = await setupOf(IMAGES);
  deepEqual(Object.keys(off.setup), ["layers", "inputShape", "optimizer"]);
  const mismatch = (e: unknown) =>
    e instanceof RangeError &&
    e.message.startsWith(
      "Cannot create DataParallel: checkpoint must be of this model, input shape, optimiser and augmentation",
    );
  await rejects(
    DataParallel.create({ ...IMAGES, checkpoint: on.bytes }),
    mismatch,
  );
  await rejects(
    DataParallel.create({
      ...IMAGES,
      augment: { padding: 2 },
      checkpoint: on.bytes,
    }),
    mismatch,
  );
  await rejects(
    DataParallel.create({
      ...IMAGES,
      augment: { padding: 1 },
      checkpoint: off.bytes,
    }),
    mismatch,
  );
  // The same options, defaults spelt out or not, resume.
  const resumed = await DataParallel.create({
    ...IMAGES,
    augment: { padding: 1, flip: true, fill: 0 },
    checkpoint: on.bytes,
  });
  try {
    equal(resumed.stepCount, 1);
  } finally {
    await resumed.dispose();
  }
});
