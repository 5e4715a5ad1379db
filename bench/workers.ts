/**
 * Data-parallel training throughput: the same network trained with
 * `DataParallel` on 1, 2, … workers (and on the calling thread, 0), each
 * batch split between them.
 *
 * Trainers are made up front and timed in interleaved rounds (every other
 * round in reverse order), so a change in the machine's load hits every
 * configuration alike; each figure is the median over rounds.
 *
 * Usage: `deno task bench:workers [--json]
 *   [--model mlp|mlp-dropout|cnn|resnet20] [--batch 256] [--workers 1,2]
 *   [--backend wasm|webgpu|reference] [--scope shard,global]
 *   [--transport shared,transfer] [--rounds 7] [--steps 4] [--warmup 2]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DataParallel, specOfLayer } from "../mod.ts";
import type { BackendName } from "../mod.ts";
import {
  MODEL_IDS,
  type ModelId,
  ourLayers,
  sampleShape,
  sgdSettings,
  syntheticBatch,
} from "./_train_models.ts";
import { exitOnError } from "../cli/_exit_on_error.ts";

exitOnError("benchmark the workers");

const USAGE = `Usage: deno task bench:workers [options]

  --json               one JSON object per line instead of a table
  --model NAME         mlp (default: 784-1024-1024-10 with Jumpout),
                       mlp-dropout, cnn or resnet20 (the pre-activation
                       ResNet-20 with Jumpout), trained with SGD as
                       bench:train trains them
  --batch N            rows per step, split between the workers (default 256;
                       128 for resnet20)
  --workers LIST       worker counts, 0 = the calling thread (default 1,2, and
                       more up to the number of cores)
  --backend NAME       wasm (default), webgpu or reference
  --scope LIST         whose active units set Jumpout's q+: shard, global or
                       both, e.g. shard,global (default shard)
  --transport LIST     shared, transfer or both (default: shared where
                       available); lists give every combination for more than
                       one worker
  --rounds N           timed rounds per configuration (default 7)
  --steps N            steps per round (default 4)
  --warmup N           untimed steps per configuration first (default 2)
  --debug              show the stack trace of an error`;

/** One measured configuration. */
interface Row {
  workers: number;
  model: ModelId;
  batch: number;
  samplesPerSec: number;
  backend: BackendName;
  transport: string;
  qPlusScope: string;
  /** samplesPerSec over the 1-worker figure of the same run. */
  speedup?: number;
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        json: { type: "boolean", default: false },
        model: { type: "string", default: "mlp" },
        batch: { type: "string" },
        workers: { type: "string" },
        backend: { type: "string", default: "wasm" },
        scope: { type: "string", default: "shard" },
        transport: { type: "string", default: "auto" },
        rounds: { type: "string", default: "7" },
        steps: { type: "string", default: "4" },
        warmup: { type: "string", default: "2" },
        help: { type: "boolean", short: "h", default: false },
        debug: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    fail(`Cannot parse the arguments: ${(error as Error).message}`);
  }
  if (parsed.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const count = (name: string, value: string, min: number): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) {
      fail(
        `Cannot run the benchmark: --${name} must be an integer >= ${min}, got ${value}`,
      );
    }
    return n;
  };
  const cores = navigator.hardwareConcurrency ?? 2;
  const workers = (parsed.workers ??
    Array.from({ length: Math.max(2, cores) }, (_, i) => i + 1).join(","))
    .split(",").map((w) => count("workers", w, 0));
  const model = parsed.model as ModelId;
  if (!MODEL_IDS.includes(model)) {
    fail(
      `Cannot run the benchmark: --model must be ${
        MODEL_IDS.join(", ")
      }, got ${parsed.model}`,
    );
  }
  return {
    json: parsed.json,
    model,
    batch: count(
      "batch",
      parsed.batch ?? (model === "resnet20" ? "128" : "256"),
      1,
    ),
    workers,
    backend: parsed.backend as BackendName,
    scopes: parsed.scope.split(",") as ("shard" | "global")[],
    transports: parsed.transport.split(
      ",",
    ) as ("auto" | "shared" | "transfer")[],
    rounds: count("rounds", parsed.rounds, 1),
    steps: count("steps", parsed.steps, 1),
    warmup: count("warmup", parsed.warmup, 0),
  };
}

function fail(message: string): never {
  console.error(message);
  Deno.exit(2);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const o = options();
const { x, labels } = syntheticBatch(o.model, o.batch);
const labelList = [...labels];
const trainers: DataParallel[] = [];
for (const workers of o.workers) {
  // One worker has nothing to exchange: one configuration is enough.
  const scopes = workers > 1 ? o.scopes : o.scopes.slice(0, 1);
  const transports = workers > 1 ? o.transports : o.transports.slice(0, 1);
  for (const qPlusScope of scopes) {
    for (const transport of transports) {
      trainers.push(
        await DataParallel.create({
          model: ourLayers(o.model).map(specOfLayer),
          inputShape: sampleShape(o.model),
          optimizer: { type: "sgd", ...sgdSettings(o.model) },
          backend: o.backend,
          workers,
          seed: 1,
          qPlusScope,
          transport,
          timeoutMs: 600_000,
        }),
      );
    }
  }
}
for (const trainer of trainers) {
  for (let i = 0; i < o.warmup; i++) await trainer.trainStep(x, labelList);
}
const times: number[][] = trainers.map(() => []);
for (let round = 0; round < o.rounds; round++) {
  const order = trainers.map((_, i) => i);
  if (round % 2 === 1) order.reverse();
  for (const i of order) {
    const start = performance.now();
    for (let s = 0; s < o.steps; s++) await trainers[i].trainStep(x, labelList);
    times[i].push((performance.now() - start) / o.steps);
  }
}
const rows: Row[] = trainers.map((trainer, i) => ({
  workers: trainer.workers,
  model: o.model,
  batch: o.batch,
  samplesPerSec: (1000 * o.batch) / median(times[i]),
  backend: trainer.backend,
  transport: trainer.transport,
  qPlusScope: trainer.qPlusScope,
}));
const one = rows.find((r) => r.workers === 1);
for (const row of rows) {
  if (one) row.speedup = row.samplesPerSec / one.samplesPerSec;
}
for (const trainer of trainers) await trainer.dispose();
if (o.json) {
  for (const row of rows) console.log(JSON.stringify(row));
} else {
  console.log(
    `${o.model}, batch ${o.batch}, ${o.backend}; median of ${o.rounds} rounds of ${o.steps} steps`,
  );
  console.log("workers  q+ scope  transport  samples/s  vs 1 worker");
  for (const r of rows) {
    console.log(
      `${String(r.workers).padStart(7)}  ${r.qPlusScope.padEnd(8)}  ${
        r.transport.padEnd(9)
      }  ${r.samplesPerSec.toFixed(1).padStart(9)}  ${
        r.speedup === undefined ? "" : `${r.speedup.toFixed(2)}x`
      }`,
    );
  }
}
