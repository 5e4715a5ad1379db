/**
 * ONNX export: the exported MLP, CNN with BatchNorm, ResNet-20 and a model
 * of every layer kind run in ONNX Runtime (onnxruntime-node) and give this
 * library's evaluation logits, at batch sizes other than the built one;
 * the graph's operators, names and shapes; every refusal; and the protobuf
 * writer on known encodings.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import * as ort from "onnxruntime-node";
import {
  AvgPool2d,
  BatchNorm,
  Conv2d,
  createBackend,
  Dense,
  Dropout,
  exportOnnx,
  Flatten,
  GlobalAvgPool,
  Jumpout,
  type Layer,
  type LayerSpec,
  MaxPool2d,
  modelFromSpec,
  preactResNet,
  ReLU,
  Residual,
  Sequential,
  type Tensor,
  walkLayers,
} from "../mod.ts";
import { networkSpecs } from "../cli/_models.ts";
import { fullJumpout } from "../cli/_resnet_experiment.ts";
import { ProtoWriter } from "../src/export/_protobuf.ts";
import { pattern } from "./_helpers/backends.ts";
import { assertWithin } from "./_helpers/kernels.ts";

const backend = await createBackend("reference");

/** Largest error allowed, relative to the largest logit. */
const TOLERANCE = 1e-5;

/**
 * Builds `model` for batches of 2 of `sample` and gives every bias and
 * every BatchNorm tensor values far from their initial ones (running
 * variances in [0.3, 2], means and shifts of either sign), so the export
 * is checked on all of them.
 */
function buildVaried(model: Sequential, sample: number[]): Sequential {
  model.build(backend, sample, { seed: 5 });
  let seed = 10;
  const set = (t: Tensor<"float32">, f: (v: number) => number) =>
    backend.upload(t, pattern(t.size, seed++).map(f));
  for (const [, layer] of walkLayers(model.layers)) {
    for (const [name, t] of layer.state()) {
      if (name.endsWith("running_var")) set(t, (v) => 0.3 + Math.abs(v) * 0.8);
      else if (name.endsWith("bias") || name.endsWith("running_mean")) {
        set(t, (v) => v * 0.3);
      } else if (layer instanceof BatchNorm) set(t, (v) => 1 + v * 0.3);
    }
  }
  return model.eval();
}

/**
 * Runs the exported model in ONNX Runtime on `batch` samples and checks
 * its logits against the library's (evaluation mode).
 */
async function assertSameLogits(
  model: Sequential,
  bytes: Uint8Array,
  batch: number,
  what: string,
): Promise<void> {
  const sample = model.sampleShape!;
  const shape = [batch, ...sample];
  const x = pattern(shape.reduce((a, b) => a * b, 1), 7 + batch);
  const input = backend.tensor(x, shape);
  const y = model.forward(input);
  const ours = await backend.read(y);
  backend.release(y);
  backend.release(input);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const { logits } = await session.run({
      input: new ort.Tensor("float32", x, shape),
    });
    deepEqual(logits.dims, y.shape, `${what}: output shape`);
    const scale = ours.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    ok(scale > 0, `${what}: logits not all 0`);
    assertWithin(
      logits.data as Float32Array,
      ours,
      new Float32Array(ours.length).fill(scale),
      TOLERANCE,
      what,
    );
  } finally {
    await session.release();
  }
}

/** Exports `model` and checks it at two batch sizes, neither the built one. */
async function assertRunsAsBuilt(
  model: Sequential,
  what: string,
): Promise<Uint8Array> {
  const bytes = await exportOnnx(model);
  await assertSameLogits(model, bytes, 5, `${what}, batch 5`);
  await assertSameLogits(model, bytes, 1, `${what}, batch 1`);
  return bytes;
}

// A test-side reader of the wire format, independent of the writer.

type Field = [number, bigint | Uint8Array];

/** The fields of one protobuf message, in order. */
function fields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n;; shift += 7n) {
      const b = bytes[at++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const [field, wire] = [key >> 3, key & 7];
    const size = wire === 2 ? Number(varint()) : wire === 5 ? 4 : -1;
    if (size < 0 && wire !== 0) throw new Error(`wire type ${wire}`);
    out.push([field, size < 0 ? varint() : bytes.subarray(at, at += size)]);
  }
  return out;
}

/** The length-delimited values of `field`. */
function all(bytes: Uint8Array, field: number): Uint8Array[] {
  return fields(bytes).filter(([f]) => f === field).map(([, v]) =>
    v as Uint8Array
  );
}

/** The strings of `field`. */
function texts(bytes: Uint8Array, field: number): string[] {
  return all(bytes, field).map((v) => new TextDecoder().decode(v));
}

/** What a test looks at in an ONNX file. */
function summary(bytes: Uint8Array) {
  const [graph] = all(bytes, 7);
  const [opset] = all(bytes, 8);
  return {
    ops: all(graph, 1).flatMap((node) => texts(node, 4)),
    initializers: all(graph, 5).flatMap((t) => texts(t, 8)),
    opset: Number(fields(opset).find(([f]) => f === 2)![1]),
  };
}

Deno.test("the MLP runs in ONNX Runtime as in the library, Jumpout gone", async () => {
  const specs = networkSpecs("mlp", fullJumpout(0.1));
  const model = buildVaried(modelFromSpec(specs), [784]);
  const bytes = await assertRunsAsBuilt(model, "MLP");
  const { ops, initializers, opset } = summary(bytes);
  deepEqual(ops, ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]);
  deepEqual(initializers, [...model.state().keys()]);
  ok(opset >= 17);
});

Deno.test("the CNN's BatchNorm runs with its running statistics, Dropout gone", async () => {
  const specs = networkSpecs("cnn", { kind: "dropout", rate: 0.2 });
  const model = buildVaried(modelFromSpec(specs), [1, 28, 28]);
  const bytes = await assertRunsAsBuilt(model, "CNN");
  const block = ["Conv", "BatchNormalization", "Relu", "MaxPool"];
  deepEqual(summary(bytes).ops, [
    ...block,
    ...block,
    "Flatten",
    "Gemm",
    "Relu",
    "Gemm",
  ]);
});

Deno.test("ResNet-20 runs in ONNX Runtime, its blocks joined by Add", async () => {
  const specs = preactResNet({ depth: 20, regularizer: "jumpout" });
  const model = buildVaried(modelFromSpec(specs), [1, 28, 28]);
  const bytes = await assertRunsAsBuilt(model, "ResNet-20");
  const { ops } = summary(bytes);
  equal(ops.filter((op) => op === "Add").length, 9, "a block each");
  equal(ops.filter((op) => op === "Conv").length, 19 + 2, "two projections");
  const session = await ort.InferenceSession.create(bytes);
  try {
    const [input] = session.inputMetadata;
    const [output] = session.outputMetadata;
    deepEqual(input, {
      name: "input",
      isTensor: true,
      type: "float32",
      shape: ["batch", 1, 28, 28],
    });
    deepEqual(output, {
      name: "logits",
      isTensor: true,
      type: "float32",
      shape: ["batch", 10],
    });
  } finally {
    await session.release();
  }
});

Deno.test("every layer kind and option runs as in the library", async () => {
  const layers: Layer[] = [
    new Conv2d(2, 4, 3, { stride: 2, padding: 1 }),
    new BatchNorm(4, { epsilon: 0.01 }),
    new ReLU(),
    new Residual([
      new Conv2d(4, 4, 3, { padding: 1, bias: false }),
      new Jumpout({ seed: 1 }),
    ]),
    new MaxPool2d(3, { stride: 1, padding: 1 }),
    new Residual([new AvgPool2d(3, { stride: 2, padding: 1 })], [
      new Conv2d(4, 4, 1, { stride: 2 }),
    ]),
    new AvgPool2d(2),
    new Residual([new Dropout({ rate: 0.5 })]),
    new GlobalAvgPool(),
    new BatchNorm(4),
    new Dense(4, 6, { bias: false }),
    new Residual([new Dense(6, 6)]),
    new Flatten(),
    new Dense(6, 3),
  ];
  const model = buildVaried(new Sequential(layers), [2, 9, 11]);
  const bytes = await assertRunsAsBuilt(model, "every layer");
  deepEqual(summary(bytes).ops, [
    "Conv",
    "BatchNormalization",
    "Relu",
    "Conv",
    "Add",
    "MaxPool",
    "AveragePool",
    "Conv",
    "Add",
    "AveragePool",
    "Add",
    "GlobalAveragePool",
    "Flatten",
    "BatchNormalization",
    "Gemm",
    "Gemm",
    "Add",
    "Flatten",
    "Gemm",
  ]);
});

Deno.test("names of the input and output can be chosen", async () => {
  const model = buildVaried(
    new Sequential([new Jumpout(), new Dense(3, 2)]),
    [3],
  );
  const bytes = await exportOnnx(model, { inputName: "x", outputName: "y" });
  const session = await ort.InferenceSession.create(bytes);
  try {
    deepEqual([session.inputNames, session.outputNames], [["x"], ["y"]]);
  } finally {
    await session.release();
  }
});

Deno.test("a model of identities exports a copy of its input", async () => {
  const model = buildVaried(new Sequential([new Jumpout()]), [4]);
  const bytes = await exportOnnx(model);
  deepEqual(summary(bytes).ops, ["Identity"]);
  await assertSameLogits(model, bytes, 3, "identity");
});

/** A layer of no library class: a ReLU in all but its prototype. */
function foreignLayer(): Layer {
  const relu = new ReLU();
  return {
    name: "Custom",
    outputShape: (s) => relu.outputShape(s),
    build: (b, s, seed, prefix) => relu.build(b, s, seed, prefix),
    forward: (x, o) => relu.forward(x, o),
    backward: (dy) => relu.backward(dy),
    parameters: () => [],
    state: () => new Map(),
    dispose: () => relu.dispose(),
  };
}

Deno.test("a layer the exporter cannot express is refused by its path", async () => {
  class Scaled extends Dense {}
  const cases: [Layer[], string][] = [
    [[new Dense(4, 4), foreignLayer()], "layer 1 (Custom)"],
    [[new Scaled(4, 4)], "layer 0 (Dense(4 → 4))"],
    [
      [new ReLU(), new Residual([new ReLU(), foreignLayer()])],
      "layer 1.body.1 (Custom)",
    ],
    [
      [new Residual([new ReLU()], [new Jumpout(), foreignLayer()])],
      "layer 0.shortcut.1 (Custom)",
    ],
  ];
  for (const [layers, where] of cases) {
    const model = new Sequential(layers);
    model.build(backend, [4], { seed: 1 });
    await rejects(exportOnnx(model), (error: Error) => {
      equal(error.name, "TypeError");
      ok(
        error.message.startsWith(
          `Cannot export to ONNX: ${where} has no ONNX form`,
        ),
        error.message,
      );
      return true;
    });
    model.dispose();
  }
});

Deno.test("a model that is not built, or not a model, is refused", async () => {
  const model = new Sequential([new Dense(2, 2)]);
  await rejects(exportOnnx(model), /^TypeError: .*model must be built/);
  model.build(backend, [2], { seed: 1 });
  model.dispose();
  await rejects(exportOnnx(model), /^TypeError: .*model must be built/);
  // A layer disposed on its own has no weight left to export.
  model.build(backend, [2], { seed: 1 });
  model.layers[0].dispose();
  await rejects(
    exportOnnx(model),
    /^TypeError: Cannot export to ONNX: layer 0 \(Dense\(2 → 2\)\) must be built, got a layer without its weight/,
  );
  const specs: LayerSpec[] = [{ type: "dense", inFeatures: 2, outFeatures: 2 }];
  await rejects(
    exportOnnx(specs as never),
    /^TypeError: Cannot export to ONNX: model must be a Sequential, got Array/,
  );
});

Deno.test("names in the options are checked", async () => {
  const model = buildVaried(new Sequential([new Dense(2, 2)]), [2]);
  const cases: [object, RegExp][] = [
    [
      { inputName: "" },
      /^RangeError: .*options\.inputName must be a non-empty string, got ""/,
    ],
    [
      { outputName: 3 },
      /^TypeError: .*options\.outputName must be a non-empty string, got 3/,
    ],
    [
      { inputName: "a", outputName: "a" },
      /^RangeError: .*outputName must differ from options\.inputName, got "a"/,
    ],
    [
      { inputName: "0.weight" },
      /^RangeError: .*options\.inputName must differ from the names of the model's values and weights, got "0\.weight"/,
    ],
    [{ outputName: "0" }, /^RangeError: .*options\.outputName must differ/],
  ];
  for (const [options, message] of cases) {
    await rejects(exportOnnx(model, options as never), message);
  }
});

Deno.test("the protobuf writer gives the wire format's known encodings", () => {
  const bytes = (w: ProtoWriter) => [...w.finish()];
  // protobuf.dev's examples: 150 in field 1, "testing" in field 2, and a
  // message holding the first in field 3.
  deepEqual(bytes(new ProtoWriter().varint(1, 150)), [0x08, 0x96, 0x01]);
  deepEqual(bytes(new ProtoWriter().string(2, "testing")), [
    0x12,
    0x07,
    ...new TextEncoder().encode("testing"),
  ]);
  const inner = new ProtoWriter().varint(1, 150);
  deepEqual(bytes(new ProtoWriter().message(3, inner)), [
    0x1a,
    0x03,
    0x08,
    0x96,
    0x01,
  ]);
  // int64 -1 and -2: ten bytes of 64-bit two's complement.
  deepEqual(bytes(new ProtoWriter().varint(1, -1)), [
    0x08,
    ...Array(9).fill(0xff),
    0x01,
  ]);
  deepEqual(bytes(new ProtoWriter().varint(1, -2)), [
    0x08,
    0xfe,
    ...Array(8).fill(0xff),
    0x01,
  ]);
  // 2^53 - 1 and a two-byte field number (20 × 8 = 160).
  deepEqual(bytes(new ProtoWriter().varint(20, 2 ** 53 - 1)), [
    0xa0,
    0x01,
    ...Array(7).fill(0xff),
    0x0f,
  ]);
  // A float and packed floats: little-endian IEEE 754.
  deepEqual(bytes(new ProtoWriter().float(2, 1.5)), [
    0x15,
    0x00,
    0x00,
    0xc0,
    0x3f,
  ]);
  deepEqual(bytes(new ProtoWriter().packedFloats(4, [1, -2])), [
    0x22,
    0x08,
    0x00,
    0x00,
    0x80,
    0x3f,
    0x00,
    0x00,
    0x00,
    0xc0,
  ]);
});

Deno.test("the protobuf writer nests large messages whole", () => {
  const values = pattern(1000, 3);
  const tensor = new ProtoWriter().varint(1, 1000).packedFloats(4, values);
  const outer = new ProtoWriter().string(1, "x").message(5, tensor);
  const bytes = outer.finish();
  equal(bytes.length, outer.length);
  const [name, [, inner]] = fields(bytes);
  deepEqual(name[0], 1);
  const [[, dim], [, data]] = fields(inner as Uint8Array);
  equal(dim, 1000n);
  const copy = (data as Uint8Array).slice();
  deepEqual(new Float32Array(copy.buffer), values);
});
