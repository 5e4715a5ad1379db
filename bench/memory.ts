/**
 * `deno task bench:memory [--model resnet20] [--batch 128] [--steps 100]`:
 * the WebAssembly memory of one replica training on the `wasm` backend, and
 * whether it stays flat. A `Sequential`, SGD (the network's settings, see
 * `sgdSettings`) and `trainStep` on the calling thread, on one fixed synthetic
 * batch; after steps 1, 10, 100, 1000, … and the last, one JSON row
 * `{"model", "batch", "step", "memoryBytes", "memoryMiB", "msPerStep"}`
 * (`msPerStep`: the mean since the previous row), then a summary
 * `{"model", "batch", "steps", "peakMemoryBytes", "peakMemoryMiB", "grewAt",
 * "lastGrowthStep"}`: `grewAt` lists each step after which the memory had
 * grown and by how many bytes (first 20), so the memory is flat from
 * `lastGrowthStep` to `steps`. A WebAssembly memory never shrinks: its size
 * after a step is the peak so far.
 *
 * ResNet-20 at batch 128 takes about 1 s a step on these 2-core machines: the
 * default 100 steps take about 2 minutes, `--steps 1000` about 17.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  labelsTensor,
  Sequential,
  SGD,
  SoftmaxCrossEntropy,
  trainStep,
} from "../mod.ts";
import { createWasmBackend } from "../src/backends/wasm.ts";
import {
  CLASSES,
  MODEL_IDS,
  type ModelId,
  ourLayers,
  sampleShape,
  sgdSettings,
  syntheticBatch,
} from "./_train_models.ts";
import { exitOnError } from "../cli/_exit_on_error.ts";

exitOnError("measure memory");

const USAGE =
  "Usage: deno task bench:memory [--model resnet20] [--batch 128] [--steps 100] [--debug]";

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

function count(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) {
    fail(
      `Cannot run the benchmark: ${flag} must be an integer >= 1, got ${value}`,
    );
  }
  return n;
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        model: { type: "string", default: "resnet20" },
        batch: { type: "string", default: "128" },
        steps: { type: "string", default: "100" },
        help: { type: "boolean", short: "h", default: false },
        debug: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    fail(`Cannot parse the arguments: ${(e as Error).message}`);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (!MODEL_IDS.includes(values.model as ModelId)) {
    fail(
      `Cannot run the benchmark: --model must be one of ${
        MODEL_IDS.join(", ")
      }, got ${values.model}`,
    );
  }
  return {
    model: values.model as ModelId,
    batch: count(values.batch, "--batch"),
    steps: count(values.steps, "--steps"),
  };
}

/** Whether step `s` of `last` gets a row: 1, 10, 100, … and the last. */
function reported(s: number, last: number): boolean {
  return s === last || /^10*$/.test(String(s));
}

const o = options();
const backend = await createWasmBackend();
const model = new Sequential(ourLayers(o.model));
const loss = new SoftmaxCrossEntropy();
const shape = [o.batch, ...sampleShape(o.model)];
model.build(backend, sampleShape(o.model), { seed: 1 });
model.train();
const optimizer = new SGD(model.parameters(), sgdSettings(o.model));
const data = syntheticBatch(o.model, o.batch);
const x = backend.tensor(data.x, shape);
const labels = labelsTensor(backend, data.labels, CLASSES);
const bytes = () => backend.memory.buffer.byteLength;
const mib = (b: number) => Number((b / 2 ** 20).toFixed(2));
const grewAt: { step: number; bytes: number }[] = [];
let lastGrowthStep = 0;
let before = bytes();
let since = { step: 0, time: performance.now() };
for (let s = 1; s <= o.steps; s++) {
  await trainStep({ model, loss, optimizer, x, labels });
  if (bytes() > before) {
    if (grewAt.length < 20) grewAt.push({ step: s, bytes: bytes() - before });
    lastGrowthStep = s;
    before = bytes();
  }
  if (reported(s, o.steps)) {
    const now = performance.now();
    console.log(JSON.stringify({
      model: o.model,
      batch: o.batch,
      step: s,
      memoryBytes: bytes(),
      memoryMiB: mib(bytes()),
      msPerStep: Number(((now - since.time) / (s - since.step)).toFixed(1)),
    }));
    since = { step: s, time: now };
  }
}
console.log(JSON.stringify({
  model: o.model,
  batch: o.batch,
  steps: o.steps,
  peakMemoryBytes: bytes(),
  peakMemoryMiB: mib(bytes()),
  grewAt,
  lastGrowthStep,
}));
backend.release(x);
backend.release(labels);
optimizer.dispose();
loss.dispose();
model.dispose();
backend.dispose();
