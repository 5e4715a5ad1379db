/**
 * A model rebuilt from a data-parallel checkpoint predicts exactly as the
 * trainer evaluates, and a file that is not such a checkpoint is refused
 * with nothing left allocated.
 */
import {
  deepEqual,
  equal,
  notDeepEqual,
  ok,
  rejects,
} from "node:assert/strict";
import {
  createBackend,
  DataParallel,
  decodeSafetensors,
  encodeCheckpoint,
  encodeSafetensors,
  type Jumpout,
  labelsTensor,
  type LayerSpec,
  loadFashionMnist,
  modelFromSpec,
  optimizerFromSpec,
  restoreCheckpoint,
  type SafetensorsTensor,
  SGD,
  SoftmaxCrossEntropy,
} from "../mod.ts";
import { type LoadedModel, loadModel } from "../src/io/load_model.ts";
import { logitsOf } from "./_helpers/loaded_model.ts";
import { fit, gather } from "../cli/_fit.ts";
import {
  batches,
  CLASSES,
  FEATURES,
  LAYERS,
  OPTIMIZER,
} from "./_helpers/data_parallel.ts";
import { CountingBackend } from "./_helpers/counting_backend.ts";

/**
 * A small CNN with BatchNorm, whose running statistics the file must carry
 * too; its [1, 4, 5] images are the FEATURES values of the synthetic rows.
 */
const CNN: LayerSpec[] = [
  {
    type: "conv2d",
    inChannels: 1,
    outChannels: 3,
    kernelSize: 3,
    options: { padding: 1 },
  },
  { type: "batch_norm", channels: 3 },
  { type: "relu" },
  { type: "jumpout" },
  { type: "max_pool2d", kernelSize: 2 },
  { type: "flatten" },
  { type: "dense", inFeatures: 12, outFeatures: CLASSES },
];
const CNN_INPUT = [1, 4, 5];

/** A trainer after a few steps on this thread, its checkpoint and held-out rows. */
async function trained(layers: LayerSpec[], inputShape: number[]): Promise<{
  trainer: DataParallel;
  bytes: Uint8Array;
  x: Float32Array;
  labels: number[];
}> {
  const trainer = await DataParallel.create({
    model: layers,
    inputShape,
    optimizer: OPTIMIZER,
    backend: "wasm",
    workers: 0,
    seed: 5,
  });
  for (const { x, labels } of batches(6, 24, 3)) {
    await trainer.trainStep(x, labels);
  }
  const [held] = batches(1, 40, 99);
  return { trainer, bytes: await trainer.checkpoint(), ...held };
}

/** Mean loss and accuracy of logits, by the library's loss on the same backend. */
async function lossOf(
  { backend, classes }: LoadedModel,
  logits: Float32Array,
  labels: number[],
): Promise<{ loss: number; accuracy: number }> {
  const loss = new SoftmaxCrossEntropy();
  const l = backend.tensor(logits, [labels.length, classes]);
  const ys = labelsTensor(backend, labels, classes);
  const output = loss.forward(l, ys);
  backend.release(output.grad);
  backend.release(l);
  backend.release(ys);
  const result = { loss: await output.loss, accuracy: await output.accuracy };
  loss.dispose();
  return result;
}

/** The checkpoint with its metadata or tensors changed. */
function edited(
  bytes: Uint8Array,
  change: (
    metadata: Record<string, string>,
    tensors: Map<string, SafetensorsTensor>,
  ) => void,
): Uint8Array {
  const { metadata, tensors } = decodeSafetensors(bytes);
  change(metadata, tensors);
  return encodeSafetensors(tensors, metadata);
}

for (
  const [name, layers, inputShape] of [
    ["an MLP with Jumpout", LAYERS, [FEATURES]],
    ["a CNN with BatchNorm and Jumpout", CNN, CNN_INPUT],
  ] as const
) {
  Deno.test(`loadModel: ${name} gives DataParallel.evaluate's loss and accuracy`, async () => {
    const { trainer, bytes, x, labels } = await trained(
      [...layers],
      [...inputShape],
    );
    const loaded = await loadModel(bytes);
    try {
      const expected = await trainer.evaluate(x, labels);
      deepEqual(loaded.inputShape, inputShape);
      equal(loaded.classes, CLASSES);
      equal(loaded.header.step, 6);
      equal(loaded.backend.name, "wasm");
      equal(loaded.model.training, false);
      const logits = await logitsOf(loaded, x);
      // Same kernels on the same backend and weights: the same float32 loss.
      deepEqual(await lossOf(loaded, logits, labels), expected);
      // Evaluation mode draws no masks: a second pass is the same bit for bit.
      deepEqual(await logitsOf(loaded, x), logits);
    } finally {
      loaded.dispose();
      await trainer.dispose();
    }
  });
}

Deno.test("loadModel: the same logits, bit for bit, as the model restoreCheckpoint restores", async () => {
  const { trainer, bytes, x } = await trained(CNN, CNN_INPUT);
  await trainer.dispose();
  const backend = await createBackend("wasm");
  const model = modelFromSpec(CNN);
  // Another seed: every weight and statistic must come from the file.
  model.build(backend, CNN_INPUT, { seed: 77 });
  const optimizer = optimizerFromSpec(OPTIMIZER, model.parameters());
  const fresh = await logitsOf(
    { model: model.eval(), backend, inputShape: CNN_INPUT } as LoadedModel,
    x,
  );
  restoreCheckpoint(model, optimizer, bytes);
  const restored = await logitsOf(
    { model, backend, inputShape: CNN_INPUT } as LoadedModel,
    x,
  );
  const loaded = await loadModel(bytes);
  try {
    const logits = await logitsOf(loaded, x);
    deepEqual(logits, restored);
    notDeepEqual(logits, fresh);
    // Built with the run's seed, its Jumpout has the seed it trained with.
    const seeded = modelFromSpec(CNN);
    seeded.build(backend, CNN_INPUT, { seed: 5 });
    deepEqual(
      (loaded.model.layers[3] as Jumpout).options.seed,
      (seeded.layers[3] as Jumpout).options.seed,
    );
    seeded.dispose();
  } finally {
    loaded.dispose();
    optimizer.dispose();
    model.dispose();
    backend.dispose();
  }
});

Deno.test("loadModel: the checkpoint of a training run of the command line, on Fashion-MNIST", async () => {
  const data = await loadFashionMnist({ source: "embedded" });
  let bytes: Uint8Array | undefined;
  const result = await fit(
    {
      model: "mlp",
      reg: {
        kind: "jumpout",
        sigma: 0.1,
        rate: 0.1,
        monotone: true,
        normalize: true,
        rescalePower: 0.75,
      },
      epochs: 1,
      batch: 32,
      lr: 0.05,
      weightDecay: 5e-4,
      backend: "wasm",
      workers: 0,
      seed: 1,
      trainSize: 96,
    },
    data,
    {
      // What `deno task train` saves after each epoch.
      onEpoch: async (_, trainer) => void (bytes = await trainer.checkpoint()),
    },
  );
  const loaded = await loadModel(bytes!);
  try {
    deepEqual([loaded.inputShape, loaded.classes], [[784], 10]);
    equal(loaded.header.step, 3);
    const test = gather(
      data.test,
      Uint32Array.from({ length: data.test.count }, (_, i) => i),
    );
    const { loss, accuracy } = await lossOf(
      loaded,
      await logitsOf(loaded, test.images),
      test.labels,
    );
    const [{ evalLoss, evalAccuracy }] = result.epochs;
    // The run evaluates in chunks of 2000 rows: the 1000 here are one chunk.
    deepEqual([loss, accuracy], [evalLoss, evalAccuracy]);
  } finally {
    loaded.dispose();
  }
});

Deno.test("loadModel: a backend passed in stays the caller's, and reference agrees with wasm", async () => {
  const { trainer, bytes, x } = await trained(LAYERS, [FEATURES]);
  await trainer.dispose();
  const backend = new CountingBackend();
  const onReference = await loadModel(bytes, { backend });
  const onWasm = await loadModel(bytes);
  try {
    equal(onReference.backend, backend);
    const a = await logitsOf(onReference, x);
    const b = await logitsOf(onWasm, x);
    // Sums in another order: float32 rounding apart, no more.
    a.forEach((v, i) => ok(Math.abs(v - b[i]) <= 1e-5 * (1 + Math.abs(v))));
  } finally {
    onReference.dispose();
    onWasm.dispose();
  }
  equal(backend.live.size, 0);
  // Still usable: the model's dispose did not dispose the caller's backend.
  deepEqual([
    ...(await backend.read(backend.tensor(new Float32Array([2]), [1]))),
  ], [2]);
});

Deno.test("loadModel: files that are not a data-parallel checkpoint are refused", async () => {
  const { trainer, bytes } = await trained(LAYERS, [FEATURES]);
  await trainer.dispose();
  const setup = JSON.parse(
    decodeSafetensors(bytes).metadata["dataParallel.setup"],
  );
  const withSetup = (value: unknown) =>
    edited(bytes, (m) => {
      m["dataParallel.setup"] = JSON.stringify(value);
    });
  const backend = await createBackend("reference");
  const plain = modelFromSpec(LAYERS);
  plain.build(backend, [FEATURES], { seed: 1 });
  const noSetup = await encodeCheckpoint(
    plain,
    new SGD(plain.parameters(), { lr: 0.1 }),
    0,
  );
  const cases: [unknown, RegExp][] = [
    [
      "weights",
      /^TypeError: Cannot load a model: bytes must be a Uint8Array, got string$/,
    ],
    [
      new Uint8Array(3),
      /^RangeError: Cannot load a model: bytes must be a checkpoint of this library: the file must hold at least the 8-byte header length, got 3 bytes$/,
    ],
    [
      encodeSafetensors(new Map()),
      /^RangeError: Cannot load a model: bytes must be a checkpoint of this library: the file is not a checkpoint/,
    ],
    [
      noSetup,
      /^RangeError: Cannot load a model: bytes must be a checkpoint written by DataParallel, with dataParallel\.setup metadata, got a checkpoint without it$/,
    ],
    [
      edited(bytes, (m) => void (m["dataParallel.setup"] = "{layers")),
      /^RangeError: Cannot load a model: dataParallel\.setup must be JSON \{ layers, inputShape, optimizer \} with an array of layer specs, got "\{layers"$/,
    ],
    [
      withSetup({ ...setup, layers: "dense" }),
      /dataParallel\.setup must be JSON .*, got "\{\\"layers\\":\\"dense\\"/,
    ],
    [
      edited(bytes, (m) => void (m["dataParallel.seed"] = "1.5")),
      /^RangeError: Cannot load a model: dataParallel\.seed must be an integer in \[0, 2\^32\), got "1\.5"$/,
    ],
    [
      withSetup({ ...setup, inputShape: [0] }),
      /^RangeError: Cannot load a model: dataParallel\.setup\.inputShape must be a non-empty array of integers > 0, got "\[0\]"$/,
    ],
    [
      withSetup({ ...setup, layers: [{ type: "dens" }] }),
      /^TypeError: Cannot load a model: dataParallel\.setup\.layers must make a model: specs\[0\]\.type must be one of "dense", .*, got "dens"$/,
    ],
    [
      withSetup({ ...setup, inputShape: [21] }),
      /^RangeError: Cannot load a model: dataParallel\.setup\.inputShape must fit the layers, got \[21\]: layer 0 \(Dense\(20 → 48\)\)/,
    ],
    [
      withSetup({
        ...setup,
        layers: setup.layers.slice(0, 2),
        inputShape: [4, 5],
      }),
      /^RangeError: Cannot load a model: dataParallel\.setup\.inputShape must fit the layers, got \[4,5\]/,
    ],
    [
      withSetup({ ...setup, layers: [{ type: "relu" }], inputShape: [2, 3] }),
      /^RangeError: Cannot load a model: dataParallel\.setup\.layers must output \[N, classes\], got \[N, 2, 3\]$/,
    ],
    [
      edited(bytes, (_, t) => void t.delete("3.bias")),
      /^RangeError: Cannot load a model: bytes must hold the float32 tensors of the model dataParallel\.setup describes: the file must hold exactly the expected tensors, got missing "3\.bias"$/,
    ],
    [
      edited(bytes, (_, t) =>
        void t.set("9.weight", {
          dtype: "F32",
          shape: [1],
          data: new Float32Array(1),
        })),
      /got unexpected "9\.weight"$/,
    ],
    [
      edited(bytes, (_, t) =>
        void t.set("0.bias", {
          dtype: "F32",
          shape: [47],
          data: new Float32Array(47),
        })),
      /got "0\.bias" has shape \[47\] in the file, expected \[48\]$/,
    ],
    [
      edited(bytes, (_, t) =>
        void t.set("0.bias", {
          dtype: "U32",
          shape: [48],
          data: new Uint32Array(48),
        })),
      /got "0\.bias" has dtype U32 in the file, expected F32$/,
    ],
  ];
  for (const [input, pattern] of cases) {
    // Nothing is left allocated on a backend passed in, whatever failed.
    const counting = new CountingBackend();
    await rejects(
      loadModel(input as Uint8Array, { backend: counting }),
      (error: Error) => pattern.test(`${error.name}: ${error.message}`),
      String(pattern),
    );
    equal(counting.live.size, 0, String(pattern));
  }
  await rejects(
    loadModel(bytes, { backend: "cpu" as never }),
    /^TypeError: Cannot load a model: options\.backend must be a Backend or "reference", "wasm", "webgpu" or "auto", got "cpu"$/,
  );
  // The file's tensors are all it needs: the optimiser's are skipped, not required.
  const withoutOptimizer = edited(bytes, (_, t) => {
    for (const name of t.keys()) {
      if (name.startsWith("optimizer.")) t.delete(name);
    }
  });
  const loaded = await loadModel(withoutOptimizer, { backend: "reference" });
  equal(loaded.model.layers.length, LAYERS.length);
  loaded.dispose();
  backend.dispose();
});
