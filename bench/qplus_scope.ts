/**
 * Jumpout's q+ per worker shard against q+ over the whole batch, in
 * data-parallel training on Fashion-MNIST: test accuracy (mean ± std over
 * seeds) and training throughput, runs of the two scopes interleaved.
 *
 * Usage: `deno run -A bench/qplus_scope.ts [--json] [--workers 2]
 *   [--train 10000] [--epochs 5] [--seeds 3] [--batch 256] [--lr 0.05]`
 *
 * Needs the official idx files (Debian package `dataset-fashion-mnist`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  DataParallel,
  loadFashionMnist,
  permutation,
  specOfLayer,
} from "../mod.ts";
import { MOMENTUM, ourLayers } from "./_train_models.ts";
import { exitOnError, UsageError } from "../cli/_exit_on_error.ts";

exitOnError("compare the q+ scopes");

const { values } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    workers: { type: "string", default: "2" },
    train: { type: "string", default: "10000" },
    epochs: { type: "string", default: "5" },
    seeds: { type: "string", default: "3" },
    batch: { type: "string", default: "256" },
    lr: { type: "string", default: "0.05" },
    debug: { type: "boolean", default: false },
  },
});

/** An option's number, refused unless `ok` holds (`rule` says what is). */
function option(name: string, ok: (v: number) => boolean, rule: string) {
  const text = (values as unknown as Record<string, string>)[name];
  const v = Number(text);
  if (text.trim() === "" || !ok(v)) {
    throw new UsageError(`--${name} must be ${rule}, got ${text}`);
  }
  return v;
}
const count = (name: string) =>
  option(name, (v) => Number.isSafeInteger(v) && v >= 1, "an integer >= 1");
const workers = count("workers");
const trainSize = count("train");
const epochs = count("epochs");
const seeds = count("seeds");
const batch = count("batch");
const lr = option("lr", (v) => Number.isFinite(v) && v > 0, "a number > 0");

const { train, test } = await loadFashionMnist({ source: "system" });
const testLabels = [...test.labels];

async function run(scope: "shard" | "global", seed: number) {
  const trainer = await DataParallel.create({
    model: ourLayers("mlp").map(specOfLayer),
    inputShape: [784],
    optimizer: { type: "sgd", lr, momentum: MOMENTUM },
    backend: "wasm",
    workers,
    seed,
    qPlusScope: scope,
  });
  // The same subset of the training set for every run; the order per seed.
  const subset = permutation(train.count, 12345).subarray(0, trainSize);
  const x = new Float32Array(batch * 784);
  const labels = new Array<number>(batch);
  let trainMs = 0;
  let samples = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = permutation(trainSize, seed * 1000 + epoch);
    for (let start = 0; start + batch <= trainSize; start += batch) {
      for (let r = 0; r < batch; r++) {
        const i = subset[order[start + r]];
        x.set(train.images.subarray(i * 784, (i + 1) * 784), r * 784);
        labels[r] = train.labels[i];
      }
      const t = performance.now();
      await trainer.trainStep(x, labels);
      trainMs += performance.now() - t;
      samples += batch;
    }
  }
  const { accuracy, loss } = await trainer.evaluate(test.images, testLabels);
  await trainer.dispose();
  return { accuracy, loss, samplesPerSec: (1000 * samples) / trainMs };
}

const results: Record<string, { accuracy: number; samplesPerSec: number }[]> = {
  shard: [],
  global: [],
};
for (let seed = 1; seed <= seeds; seed++) {
  const order = seed % 2
    ? ["shard", "global"] as const
    : ["global", "shard"] as const;
  for (const scope of order) {
    const r = await run(scope, seed);
    results[scope].push(r);
    if (values.json) {
      console.log(
        JSON.stringify({
          qPlusScope: scope,
          seed,
          workers,
          trainSize,
          epochs,
          batch,
          ...r,
        }),
      );
    } else {
      console.error(
        `${scope} seed ${seed}: test accuracy ${
          (100 * r.accuracy).toFixed(2)
        }%, ${r.samplesPerSec.toFixed(0)} samples/s`,
      );
    }
  }
}
const stats = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(
    v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1),
  );
  return { mean, sd };
};
if (!values.json) {
  console.log(
    `MLP 784-1024-1024-10, ${workers} workers, batch ${batch}, SGD lr ${lr} momentum ${MOMENTUM}, ${trainSize} training images, ${epochs} epochs, ${seeds} seeds`,
  );
  for (const scope of ["shard", "global"]) {
    const a = stats(results[scope].map((r) => 100 * r.accuracy));
    const s = stats(results[scope].map((r) => r.samplesPerSec));
    console.log(
      `${scope.padEnd(6)}  test accuracy ${a.mean.toFixed(2)} ± ${
        a.sd.toFixed(2)
      } %  ${s.mean.toFixed(0)} samples/s`,
    );
  }
}
