/**
 * The main job: trains a network on Fashion-MNIST from the command line.
 * `deno task train --help` lists the options.
 *
 * Writes to `--out`: `results.json` (settings and per-epoch figures),
 * `loss.svg` and `accuracy.svg` (learning curves) and
 * `checkpoint.safetensors`, each replaced atomically after every epoch, so
 * Ctrl-C (or a crash) leaves the last complete epoch's files intact, and
 * `--resume` goes on from them to the same end as an uninterrupted run.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadFashionMnist, writeFileAtomic } from "../mod.ts";
import { dataIdentity } from "./_runner.ts";
import { findResumed } from "./_resume.ts";
import { dataOptions } from "./_data_option.ts";
import { Progress } from "../report/progress.ts";
import { lineChart } from "../report/svg_chart.ts";
import { fit, type FitConfig, type FitResult, progressOf } from "./_fit.ts";
import {
  inputShapeOf,
  isNetworkName,
  isResidual,
  NETWORK_HELP,
  type NetworkName,
  type Regularizer,
  regularizerName,
} from "./_models.ts";
import { exitOnError } from "./_exit_on_error.ts";

exitOnError("train");

const USAGE = `Usage: deno task train [options]

Trains a network on Fashion-MNIST: the official files from --data, else the
system copy (${"/usr/share/datasets/fashion-mnist/"}), else a 3000/1000-image
subset shipped with the library.

  --model NAME             mlp: 784-512-512-10; cnn: two conv/BatchNorm blocks
                           and a 256-unit dense layer; resnet20 (resnet<6n+2>):
                           pre-activation ResNet; wrn-16-4 (wrn-<6n+4>-<k>):
                           Wide ResNet; the regulariser between each residual
                           block's convolutions (default mlp)
  --reg none|dropout|jumpout
                           what follows each hidden ReLU (default jumpout)
  --sigma S                Jumpout's half-normal sigma (default 0.1)
  --rate P                 dropout's rate, and Jumpout's fixed rate with
                           --no-monotone (default 0.1)
  --no-monotone            ablation: a fixed rate instead of the half-normal
  --no-normalize           ablation: do not divide the rate by q+
  --no-rescale             ablation: scale kept units by 1/(1 - p') (dropout's)
  --epochs N               passes over the training images (default 10)
  --batch N                rows per step (default 128)
  --lr X                   peak learning rate, SGD with Nesterov momentum 0.9
                           and cosine decay (default 0.05)
  --weight-decay X         L2 weight decay (default 5e-4)
  --backend NAME           wasm, webgpu, reference or auto (default auto)
  --workers N              data-parallel workers (default: one per core)
  --scope shard|global     Jumpout's q+ per worker shard or over the batch
  --augment, --no-augment  random crops (padding 4) and horizontal flips of
                           the training images; cnn only (default off)
  --seed N                 weights, masks and batch order (default 1)
  --train-size N           use the first N images of a fixed shuffle of the
                           training set (default: all)
  --data DIR|embedded      the idx files (gzipped or not), or the subset
                           shipped with the library
  --out DIR                where results go (default out/train)
  --resume                 go on from the last complete epoch in --out (the
                           same options and data), or start when it has none
  --debug                  show the stack trace of an error
  -h, --help               this text`;

/**
 * Whether a network trains with augmentation when neither `--augment` nor
 * `--no-augment` is given: the residual ones do, as in their papers.
 */
function augmentByDefault(model: NetworkName): boolean {
  return isResidual(model);
}

function fail(message: string): never {
  console.error(`Cannot train: ${message}\n\nRun with --help for the options.`);
  Deno.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: "mlp" },
      reg: { type: "string", default: "jumpout" },
      sigma: { type: "string", default: "0.1" },
      rate: { type: "string", default: "0.1" },
      monotone: { type: "boolean", default: true },
      normalize: { type: "boolean", default: true },
      rescale: { type: "boolean", default: true },
      epochs: { type: "string", default: "10" },
      batch: { type: "string", default: "128" },
      lr: { type: "string", default: "0.05" },
      "weight-decay": { type: "string", default: "5e-4" },
      backend: { type: "string", default: "auto" },
      workers: { type: "string" },
      scope: { type: "string", default: "shard" },
      augment: { type: "boolean" },
      seed: { type: "string", default: "1" },
      "train-size": { type: "string" },
      data: { type: "string" },
      out: { type: "string", default: "out/train" },
      resume: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      debug: { type: "boolean", default: false },
    },
    allowNegative: true,
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

/** A number option, checked. */
function number(
  name: string,
  text: string,
  check: (v: number) => boolean,
  rule: string,
): number {
  const v = Number(text);
  if (text.trim() === "" || !check(v)) {
    fail(`--${name} must be ${rule}, got ${text}`);
  }
  return v;
}
const integer = (name: string, text: string, min: number) =>
  number(
    name,
    text,
    (v) => Number.isSafeInteger(v) && v >= min,
    `an integer >= ${min}`,
  );
const positive = (name: string, text: string) =>
  number(name, text, (v) => Number.isFinite(v) && v > 0, "a number > 0");

const model = values.model as NetworkName;
if (!isNetworkName(model)) {
  fail(`--model must be ${NETWORK_HELP}, got ${values.model}`);
}
const augment = values.augment ?? augmentByDefault(model);
if (augment && inputShapeOf(model).length !== 3) {
  fail(`--augment needs a network of images (cnn), got --model ${model}`);
}
const sigma = number(
  "sigma",
  values.sigma,
  (v) => v >= 0 && Number.isFinite(v),
  "a number >= 0",
);
const rate = number("rate", values.rate, (v) => v >= 0 && v < 1, "in [0, 1)");
let reg: Regularizer;
switch (values.reg) {
  case "none":
    reg = { kind: "none" };
    break;
  case "dropout":
    reg = { kind: "dropout", rate };
    break;
  case "jumpout":
    reg = {
      kind: "jumpout",
      sigma,
      rate,
      monotone: values.monotone,
      normalize: values.normalize,
      rescalePower: values.rescale ? 0.75 : 1,
    };
    break;
  default:
    fail(`--reg must be none, dropout or jumpout, got ${values.reg}`);
}
if (values.scope !== "shard" && values.scope !== "global") {
  fail(`--scope must be shard or global, got ${values.scope}`);
}
const config: FitConfig = {
  model,
  reg,
  epochs: integer("epochs", values.epochs, 1),
  batch: integer("batch", values.batch, 1),
  lr: positive("lr", values.lr),
  weightDecay: number(
    "weight-decay",
    values["weight-decay"],
    (v) => v >= 0 && Number.isFinite(v),
    "a number >= 0",
  ),
  backend: values.backend as FitConfig["backend"],
  workers: values.workers === undefined
    ? undefined
    : integer("workers", values.workers, 0),
  seed: integer("seed", values.seed, 0),
  trainSize: values["train-size"] === undefined
    ? undefined
    : integer("train-size", values["train-size"], 1),
  qPlusScope: values.scope,
  augment,
};
if (!["wasm", "webgpu", "reference", "auto"].includes(values.backend)) {
  fail(
    `--backend must be wasm, webgpu, reference or auto, got ${values.backend}`,
  );
}

const data = await loadFashionMnist(dataOptions(values.data));
const out = values.out;
await Deno.mkdir(out, { recursive: true });
const trainImages = Math.min(config.trainSize ?? Infinity, data.train.count);
// Names the run in its checkpoint, so that --resume goes on with the same one.
const identity = {
  "train.config": JSON.stringify(config),
  "train.data": dataIdentity(data),
};
const resumed = values.resume ? await findResumed(out, identity) : undefined;
const progress = new Progress();
progress.log(
  `${model} with ${
    regularizerName(reg)
  } on ${trainImages} training images (${data.source}), ${config.epochs} epochs${
    resumed ? `, from epoch ${resumed.epochs.length + 1}` : ""
  }`,
);

const stop = new AbortController();
const onInterrupt = () => {
  progress.log(
    "Interrupted: stopping after this step; the last epoch's files stay as they are, and --resume goes on from them.",
  );
  stop.abort();
};
Deno.addSignalListener("SIGINT", onInterrupt);

const encoder = new TextEncoder();
const epochs: FitResult["epochs"] = resumed?.epochs ?? [];
const started = resumed?.started ?? new Date().toISOString();
let result: FitResult;
try {
  result = await fit(config, data, {
    signal: stop.signal,
    checkpoint: {
      path: `${out}/checkpoint.safetensors`,
      resume: resumed?.bytes,
      metadata: identity,
    },
    onStep: (s) => progress.update(progressOf(s, config.epochs)),
    // The checkpoint is written first: results never name an epoch it lacks.
    onEpoch: async (record) => {
      epochs.push(record);
      progress.log(
        `epoch ${record.epoch}: train loss ${
          record.trainLoss.toFixed(4)
        }, test accuracy ${(100 * record.evalAccuracy).toFixed(2)}%, ${
          record.samplesPerSec.toFixed(0)
        } samples/s`,
      );
      await writeResults(epochs);
    },
  });
} finally {
  Deno.removeSignalListener("SIGINT", onInterrupt);
  await progress.done();
}
if (result.interrupted) Deno.exit(130);
const last = epochs[epochs.length - 1];
console.log(
  `Test accuracy ${
    (100 * last.evalAccuracy).toFixed(2)
  }% after ${last.epoch} epochs; results in ${out}/`,
);

/** Writes results.json and the two learning curves. */
async function writeResults(records: FitResult["epochs"]): Promise<void> {
  const json = {
    command: `deno task train ${Deno.args.join(" ")}`.trim(),
    started,
    data: data.source,
    trainImages,
    testImages: data.test.count,
    config: { ...config, reg: { ...config.reg, name: regularizerName(reg) } },
    epochs: records,
  };
  const x = records.map((r) => r.epoch);
  const files: [string, string][] = [
    ["results.json", JSON.stringify(json, null, 2)],
    [
      "loss.svg",
      lineChart({
        title: `${model}, ${regularizerName(reg)}: training loss`,
        xLabel: "epoch",
        yLabel: "mean loss",
        series: [{ label: "train", x, y: records.map((r) => r.trainLoss) }],
      }),
    ],
    [
      "accuracy.svg",
      lineChart({
        title: `${model}, ${regularizerName(reg)}: accuracy`,
        xLabel: "epoch",
        yLabel: "accuracy",
        series: [
          { label: "test", x, y: records.map((r) => r.evalAccuracy) },
          {
            label: "train (with dropout)",
            x,
            y: records.map((r) => r.trainAccuracy),
          },
        ],
      }),
    ],
  ];
  for (const [name, text] of files) {
    await writeFileAtomic(`${out}/${name}`, encoder.encode(text));
  }
}
