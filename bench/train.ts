/**
 * `deno task bench:train [--json] [--models mlp,mlp-dropout,cnn,resnet20]
 * [--impls wasm,webgpu,tfjs-wasm,tfjs-wasm-jumpout,torch,reference]
 * [--batch 128] [--steps N] [--samples K] [--warmup W] [--[no-]matmul]`:
 * training throughput of the benchmark networks (see `_train_models.ts`) on
 * this library's `wasm` and `webgpu` backends, in TensorFlow.js on its
 * single-threaded wasm backend (`mlp`, `mlp-dropout`, `cnn`; and, as
 * `tfjs-wasm-jumpout`, `mlp` with this library's TensorFlow.js Jumpout layer,
 * whose step time over TensorFlow.js's `mlp-dropout` is the ratio
 * `jumpout_vs_dropout_step_time` of `tfjs-wasm`) and in PyTorch on the CPU (`resnet20`, with
 * one thread and with all cores; `torch_resnet.py` under Debian's
 * `/usr/bin/python3`, skipped with a note on stderr where torch is missing),
 * and, when asked for, on the plain-TypeScript `reference` backend; then
 * their ratios. `resnet20` is timed only when named in `--models` (a step
 * takes about 100 s on a software WebGPU adapter); an implementation that has
 * no version of a network is left out of it.
 *
 * Each network on each implementation first runs W warm-up steps; then, K
 * times, every one of them in turn runs N steps on one fixed synthetic batch
 * (each step reads its loss back), so slow spells of a shared machine hit
 * them alike (defaults: N = 3, K = 5, W = 2, batch 128). A row reports the
 * median time per step and the samples per second it gives. webgpu rows name
 * the adapter and say `"fallback": true` on a software one (llvmpipe,
 * SwiftShader), whose times say nothing about a GPU; there, unless `--steps`
 * is given, one step is timed per sample.
 *
 * With `--json`, one JSON object per line: rows `{"model", "impl", "batch",
 * "samplesPerSec", "medianMsPerStep", "steps", "samples", ...}` (PyTorch's
 * with `torchThreads`, `torchVersion` and what its build uses), ratios
 * `{"ratio", "model" | "impl", "value"}`, then, with `--matmul` (on by
 * default with `--json`), the 1024³ matrix-product rows of `matmul.ts`
 * (`{"kernel": "matmul", "impl", "m", "n", "k", "transA", "transB", "gflops",
 * "medianMs"}`, plain and with each transpose, for `wasm` and `tfjs-wasm`
 * among the implementations asked for), and for each network with a `wasm`
 * row the ratio `wasm_training_flops_vs_matmul_1024`: nominal training FLOPs
 * per sample (see `_flops.ts`) times samples/s, over the GFLOP/s of the plain
 * 1024³ product on the wasm backend, which is timed in the same rounds as the
 * networks (so a slow spell of the machine hits both sides of the ratio). An
 * implementation that fails is reported on stderr and skipped.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Backend, type BackendName, createBackend } from "../mod.ts";
import { labelsTensor, SoftmaxCrossEntropy } from "../src/layers/loss.ts";
import { SGD } from "../src/optim/sgd.ts";
import { Sequential } from "../src/layers/sequential.ts";
import { trainStep } from "../src/optim/train_step.ts";
import { FLOP_CONVENTION, nominalTrainingFlops } from "./_flops.ts";
import type { KernelCase } from "./_kernels.ts";
import {
  MATMUL_IMPLS,
  type MatmulRow,
  measureMatmul,
  prepareWasmProduct,
  SQUARE_SHAPES,
} from "./matmul.ts";
import {
  CLASSES,
  DEFAULT_MODEL_IDS,
  MODEL_IDS,
  type ModelId,
  ourLayers,
  sampleShape,
  sgdSettings,
  syntheticBatch,
  TFJS_JUMPOUT_NOTE,
  TFJS_NOTES,
  TORCH_NOTE,
  type TrainCase,
} from "./_train_models.ts";
import { exitOnError } from "../cli/_exit_on_error.ts";

exitOnError("benchmark training");

/** The timed implementations; `reference` (plain TypeScript, slow) only on request. */
const IMPLS = [
  "wasm",
  "webgpu",
  "tfjs-wasm",
  "tfjs-wasm-jumpout",
  "torch",
  "reference",
] as const;
type Impl = typeof IMPLS[number];
const DEFAULT_IMPLS: Impl[] = [
  "wasm",
  "webgpu",
  "tfjs-wasm",
  "tfjs-wasm-jumpout",
  "torch",
];
const OURS = ["wasm", "webgpu", "reference"] as const;

/** The networks other libraries have a version of; this library has all. */
const OTHERS: Partial<Record<Impl, readonly ModelId[]>> = {
  "tfjs-wasm": ["mlp", "mlp-dropout", "cnn"],
  "tfjs-wasm-jumpout": ["mlp"],
  torch: ["resnet20"],
};

/** PyTorch's thread counts: one, then all cores (where that is more). */
const TORCH_THREADS = [...new Set([1, navigator.hardwareConcurrency ?? 1])];

/** One timed network on one implementation. */
interface Row {
  model: ModelId;
  impl: Impl;
  batch: number;
  samplesPerSec: number;
  medianMsPerStep: number;
  /** Steps per timed sample. */
  steps: number;
  /** Timed samples the median is taken over. */
  samples: number;
  /** The GPU adapter, on webgpu rows. */
  adapter?: string;
  /** Whether that adapter is a software fallback. */
  fallback?: boolean;
  /** Whether TensorFlow.js's wasm binary uses SIMD, on its rows. */
  simd?: boolean;
  /** How TensorFlow.js's network differs from this library's. */
  tfjsNote?: string;
  /** PyTorch's threads, on its rows; the other `torch…` fields say what it uses. */
  torchThreads?: number;
  torchVersion?: string;
  torchOneDnn?: boolean;
  torchConv?: string;
  torchLibraries?: string[];
  torchOmpWaitPolicy?: string;
  /** How PyTorch's network differs from this library's. */
  torchNote?: string;
}

/** A ratio of two rows. */
interface Ratio {
  ratio: string;
  model?: ModelId;
  impl?: Impl;
  value: number;
  /** Set when the ratio involves a software WebGPU adapter. */
  fallback?: boolean;
  /** How a FLOP ratio counts. */
  convention?: string;
  /** Nominal training FLOPs per sample, on a FLOP ratio. */
  flopsPerSample?: number;
  /** The network's nominal GFLOP/s and the product's, on a FLOP ratio. */
  trainingGflops?: number;
  matmulGflops?: number;
}

const USAGE =
  "Usage: deno task bench:train [--json] [--models mlp,mlp-dropout,cnn,resnet20] [--impls wasm,webgpu,tfjs-wasm,tfjs-wasm-jumpout,torch,reference] [--batch 128] [--steps N] [--samples K] [--warmup W] [--[no-]matmul] [--debug]";

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

/** A comma-separated list, each entry checked against `allowed`. */
function list<T extends string>(
  value: string,
  allowed: readonly T[],
  flag: string,
): T[] {
  const entries = value.split(",").filter((e) => e !== "");
  for (const e of entries) {
    if (!allowed.includes(e as T)) {
      fail(
        `Cannot run the benchmark: ${flag} must list ${
          allowed.join(", ")
        }, got ${e}`,
      );
    }
  }
  return entries as T[];
}

function count(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) {
    fail(
      `Cannot run the benchmark: ${flag} must be an integer >= ${min}, got ${value}`,
    );
  }
  return n;
}

function parseOptions(args: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      allowNegative: true,
      options: {
        json: { type: "boolean", default: false },
        models: { type: "string", default: DEFAULT_MODEL_IDS.join(",") },
        impls: { type: "string", default: DEFAULT_IMPLS.join(",") },
        batch: { type: "string", default: "128" },
        steps: { type: "string" },
        samples: { type: "string", default: "5" },
        warmup: { type: "string", default: "2" },
        matmul: { type: "boolean" },
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
  return {
    json: values.json,
    models: list(values.models, MODEL_IDS, "--models"),
    impls: list(values.impls, IMPLS, "--impls"),
    batch: count(values.batch, "--batch", 1),
    steps: count(values.steps ?? "3", "--steps", 1),
    stepsGiven: values.steps !== undefined,
    samples: count(values.samples, "--samples", 1),
    warmup: count(values.warmup, "--warmup", 0),
    matmul: values.matmul ?? values.json,
  };
}

/** The adapter's description and whether it is a software one. */
async function adapterInfo(): Promise<Partial<Row>> {
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  if (!adapter) return {};
  const { description, vendor, isFallbackAdapter } = adapter.info;
  return {
    adapter: description || vendor || "unknown",
    fallback: isFallbackAdapter,
  };
}

/**
 * This library's training of a network on one backend: a `Sequential`, SGD (`sgdSettings`), softmax cross-entropy, and `trainStep`,
 * which reads the loss back at every step.
 */
async function prepareOurTraining(
  name: BackendName,
  id: ModelId,
  batch: number,
): Promise<TrainCase> {
  const backend = await createBackend(name);
  const model = new Sequential(ourLayers(id));
  const loss = new SoftmaxCrossEntropy();
  try {
    model.build(backend, sampleShape(id), { seed: 1 });
    const shape = [batch, ...sampleShape(id)];
    model.train();
    const optimizer = new SGD(model.parameters(), sgdSettings(id));
    const data = syntheticBatch(id, batch);
    const x = backend.tensor(data.x, shape);
    const labels = labelsTensor(backend, data.labels, CLASSES);
    return {
      step: async () => {
        await trainStep({ model, loss, optimizer, x, labels });
      },
      dispose: () => {
        backend.release(x);
        backend.release(labels);
        optimizer.dispose();
        loss.dispose();
        model.dispose();
        backend.dispose();
      },
    };
  } catch (e) {
    loss.dispose();
    model.dispose();
    backend.dispose();
    throw e;
  }
}

/** A case being timed, with its samples so far. */
interface Timed {
  model: ModelId;
  impl: Impl;
  case: TrainCase;
  steps: number;
  extra: Partial<Row>;
  times: number[];
}

/**
 * Prepares one implementation of a network (PyTorch's with `torchThreads`)
 * and runs its warm-up steps.
 */
async function prepare(
  id: ModelId,
  impl: Impl,
  opts: ReturnType<typeof parseOptions>,
  torchThreads = 1,
): Promise<Timed> {
  let extra: Partial<Row> = {};
  let c: TrainCase;
  if (impl === "torch") {
    const { prepareTorchTraining } = await import("./_torch_train.ts");
    const { info, ...torch } = await prepareTorchTraining(
      opts.batch,
      torchThreads,
    );
    const { torchParameters: _, ...build } = info;
    c = torch;
    extra = { ...build, torchNote: TORCH_NOTE };
  } else if (impl === "tfjs-wasm" || impl === "tfjs-wasm-jumpout") {
    const { prepareTfjsTraining, tfjsWasmSimd } = await import(
      "./_tfjs_train.ts"
    );
    const withJumpout = impl === "tfjs-wasm-jumpout";
    c = await prepareTfjsTraining(id, opts.batch, withJumpout);
    extra = {
      simd: tfjsWasmSimd(),
      tfjsNote: withJumpout ? TFJS_JUMPOUT_NOTE : TFJS_NOTES[id],
    };
  } else {
    if (impl === "webgpu") extra = await adapterInfo();
    c = await prepareOurTraining(impl, id, opts.batch);
  }
  // A software adapter takes seconds per step: one step per sample is enough.
  const slow = extra.fallback === true && !opts.stepsGiven;
  try {
    for (let i = 0; i < (slow ? Math.min(opts.warmup, 1) : opts.warmup); i++) {
      await c.step();
    }
  } catch (e) {
    c.dispose();
    throw e;
  }
  return {
    model: id,
    impl,
    case: c,
    steps: slow ? 1 : opts.steps,
    extra,
    times: [],
  };
}

function median(values: number[]): number {
  const t = [...values].sort((a, b) => a - b);
  const mid = t.length >> 1;
  return t.length % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2;
}

/** The plain 1024³ product the FLOP ratio divides by. */
const PRODUCT = { m: 1024, n: 1024, k: 1024, transA: false, transB: false };

/** Products per timed sample of {@linkcode PRODUCT}: about 0.2 s of work. */
const PRODUCT_REPS = 4;

/** The networks' rows, and the interleaved product's GFLOP/s where timed. */
interface Timings {
  rows: Row[];
  productGflops?: number;
}

/**
 * Times every network on every implementation, interleaved (one sample of each
 * case per round, every other round in reverse order), and frees them. Networks are interleaved too, so that
 * Jumpout's and Dropout's step times see the same spells of a shared machine;
 * with `--matmul` and a `wasm` row, so is the wasm backend's plain 1024³
 * product, the FLOP ratio's other side.
 */
async function timeAll(
  opts: ReturnType<typeof parseOptions>,
): Promise<Timings> {
  const live: Timed[] = [];
  let product:
    | { backend: Backend; case: KernelCase; times: number[] }
    | undefined;
  const skip = (t: Pick<Timed, "model" | "impl">, e: unknown) =>
    console.error(`${t.model}/${t.impl}: skipped, ${(e as Error).message}`);
  try {
    for (const model of opts.models) {
      for (const impl of opts.impls) {
        if (OTHERS[impl]?.includes(model) === false) continue;
        for (const threads of impl === "torch" ? TORCH_THREADS : [1]) {
          try {
            live.push(await prepare(model, impl, opts, threads));
          } catch (e) {
            skip({ model, impl }, e);
            break; // PyTorch's second thread count would fail alike.
          }
        }
      }
    }
    if (opts.matmul && live.some((t) => t.impl === "wasm")) {
      const backend = await createBackend("wasm");
      product = {
        backend,
        case: prepareWasmProduct(backend, PRODUCT),
        times: [],
      };
      product.case.run();
    }
    for (let s = 0; s < opts.samples; s++) {
      // Every other round runs in reverse, so no case always follows the
      // same one (a slow step leaves caches and clocks in its own state).
      const round: (Timed | "product")[] = product
        ? [...live, "product"]
        : [...live];
      const order = s % 2 === 0 ? round : round.reverse();
      for (const t of order) {
        if (t === "product") {
          if (product === undefined) continue;
          const t0 = performance.now();
          for (let i = 0; i < PRODUCT_REPS; i++) product.case.run();
          product.times.push((performance.now() - t0) / PRODUCT_REPS);
          continue;
        }
        try {
          const t0 = performance.now();
          for (let i = 0; i < t.steps; i++) await t.case.step();
          t.times.push((performance.now() - t0) / t.steps);
        } catch (e) {
          skip(t, e);
          live.splice(live.indexOf(t), 1);
          t.case.dispose();
        }
      }
    }
    const rows = live.map((t) => {
      const ms = median(t.times);
      return {
        model: t.model,
        impl: t.impl,
        batch: opts.batch,
        samplesPerSec: Number((opts.batch / (ms / 1000)).toPrecision(4)),
        medianMsPerStep: Number(ms.toPrecision(4)),
        steps: t.steps,
        samples: t.times.length,
        ...t.extra,
      };
    });
    const flops = 2 * PRODUCT.m * PRODUCT.n * PRODUCT.k;
    return {
      rows,
      productGflops: product && product.times.length > 0
        ? Number((flops / median(product.times) / 1e6).toPrecision(4))
        : undefined,
    };
  } finally {
    for (const t of live) t.case.dispose();
    product?.case.dispose();
    product?.backend.dispose();
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Throughput ratios against TensorFlow.js and PyTorch (one thread, all
 * cores), and Jumpout's step time over Dropout's.
 */
function ratios(rows: Row[]): Ratio[] {
  const find = (model: ModelId, impl: Impl) =>
    rows.find((r) => r.model === model && r.impl === impl);
  const out: Ratio[] = [];
  for (const model of MODEL_IDS) {
    const tfjs = find(model, "tfjs-wasm");
    for (const impl of OURS) {
      const ours = find(model, impl);
      if (ours && tfjs) {
        out.push({
          ratio: `${impl}_vs_tfjs-wasm_samples_per_sec`,
          model,
          value: round(ours.samplesPerSec / tfjs.samplesPerSec),
          ...(ours.fallback ? { fallback: true } : {}),
        });
      }
    }
  }
  for (const model of MODEL_IDS) {
    const wasm = find(model, "wasm");
    TORCH_THREADS.forEach((threads, i) => {
      const torch = rows.find((r) =>
        r.model === model && r.impl === "torch" && r.torchThreads === threads
      );
      if (wasm && torch) {
        out.push({
          ratio: `wasm_vs_torch_${i === 0 ? "1thread" : "allcores"}`,
          model,
          value: round(wasm.samplesPerSec / torch.samplesPerSec),
        });
      }
    });
  }
  for (const impl of OURS) {
    const [jumpout, dropout] = [find("mlp", impl), find("mlp-dropout", impl)];
    if (jumpout && dropout) {
      out.push({
        ratio: "jumpout_vs_dropout_step_time",
        impl,
        value: round(jumpout.medianMsPerStep / dropout.medianMsPerStep),
        ...(jumpout.fallback ? { fallback: true } : {}),
      });
    }
  }
  // TensorFlow.js's perceptron with this library's Jumpout layer against the
  // same network with TensorFlow.js's own dropout.
  const [tfjsJumpout, tfjsDropout] = [
    find("mlp", "tfjs-wasm-jumpout"),
    find("mlp-dropout", "tfjs-wasm"),
  ];
  if (tfjsJumpout && tfjsDropout) {
    out.push({
      ratio: "jumpout_vs_dropout_step_time",
      impl: "tfjs-wasm",
      value: round(
        tfjsJumpout.medianMsPerStep / tfjsDropout.medianMsPerStep,
      ),
    });
  }
  return out;
}

/**
 * For each network with a `wasm` row, its nominal training GFLOP/s (FLOPs per
 * sample times samples/s) over the GFLOP/s of the wasm backend's plain 1024³
 * product timed in the same rounds.
 */
function flopRatios(rows: Row[], productGflops: number | undefined): Ratio[] {
  if (productGflops === undefined) return [];
  return rows.filter((r) => r.impl === "wasm").map((r) => {
    const flops = nominalTrainingFlops(
      ourLayers(r.model),
      sampleShape(r.model),
    );
    const gflops = (flops * r.samplesPerSec) / 1e9;
    return {
      ratio: "wasm_training_flops_vs_matmul_1024",
      model: r.model,
      value: round(gflops / productGflops),
      convention: FLOP_CONVENTION,
      flopsPerSample: flops,
      trainingGflops: Number(gflops.toPrecision(4)),
      matmulGflops: productGflops,
    };
  });
}

/**
 * The 1024³ matrix products (plain and with each transpose) of this library's
 * wasm backend and of TensorFlow.js, among the implementations asked for:
 * the kernel that dominates the networks' step time.
 */
async function matmulRows(
  opts: ReturnType<typeof parseOptions>,
): Promise<MatmulRow[]> {
  const impls = MATMUL_IMPLS.filter((i) => opts.impls.includes(i));
  if (impls.length === 0) return [];
  try {
    return await measureMatmul(SQUARE_SHAPES, {
      impls,
      samples: opts.samples,
      warmup: 1,
    });
  } catch (e) {
    console.error(`matmul: skipped, ${(e as Error).message}`);
    return [];
  }
}

function printMatmul(rows: MatmulRow[]): void {
  const impls = MATMUL_IMPLS.filter((i) => rows.some((r) => r.impl === i));
  const name = (r: MatmulRow) =>
    `${r.m}×${r.n}×${r.k}${r.transA ? " tA" : ""}${r.transB ? " tB" : ""}`;
  console.log(
    `\n${"matmul (m×n×k)".padEnd(20)}${
      impls.map((i) => `${i} GFLOP/s`.padStart(20)).join("")
    }${impls.length === 2 ? "wasm/tfjs".padStart(12) : ""}`,
  );
  for (let i = 0; i < rows.length; i += impls.length) {
    const group = rows.slice(i, i + impls.length);
    const ratio = group.length === 2
      ? (group[0].gflops / group[1].gflops).toFixed(2).padStart(12)
      : "";
    console.log(
      `${name(group[0]).padEnd(20)}${
        group.map((g) => String(g.gflops).padStart(20)).join("")
      }${ratio}`,
    );
  }
}

function printFlopRatios(found: Ratio[]): void {
  if (found.length === 0) return;
  console.log(
    `\n${"wasm training".padEnd(12)}${"MFLOP/sample".padStart(14)}${
      "GFLOP/s".padStart(10)
    }${"1024³ GFLOP/s".padStart(15)}${"ratio".padStart(7)}`,
  );
  for (const r of found) {
    console.log(
      `${r.model!.padEnd(12)}${
        (r.flopsPerSample! / 1e6).toFixed(1).padStart(14)
      }${String(r.trainingGflops).padStart(10)}${
        String(r.matmulGflops).padStart(15)
      }${r.value.toFixed(3).padStart(7)}`,
    );
  }
  console.log(`(${FLOP_CONVENTION})`);
}

function printTable(rows: Row[], found: Ratio[]): void {
  const line = (cells: (string | number)[], widths: number[]) =>
    cells.map((c, i) => String(c)[i < 2 ? "padEnd" : "padStart"](widths[i]))
      .join("  ");
  const widths = [11, 9, 5, 11, 9, 7];
  console.log(
    line(["model", "impl", "batch", "ms/step", "samples/s", "steps"], widths),
  );
  for (const r of rows) {
    const note = r.impl === "webgpu" && r.adapter
      ? `  ${r.adapter}${r.fallback ? " (software)" : ""}`
      : r.tfjsNote
      ? `  ${r.tfjsNote}`
      : r.torchThreads
      ? `  ${r.torchThreads} thread${
        r.torchThreads > 1 ? "s" : ""
      }, torch ${r.torchVersion}, ${r.torchConv}; ${r.torchNote}`
      : "";
    console.log(
      line([
        r.model,
        r.impl,
        r.batch,
        r.medianMsPerStep,
        r.samplesPerSec,
        `${r.steps}×${r.samples}`,
      ], widths) + note,
    );
  }
  const names = found.map((r) => `${r.ratio} (${r.model ?? r.impl})`);
  const width = Math.max(5, ...names.map((n) => n.length));
  if (found.length) console.log(`\n${"ratio".padEnd(width)}  value`);
  found.forEach((r, i) =>
    console.log(`${names[i].padEnd(width)}  ${r.value.toFixed(3)}`)
  );
}

const opts = parseOptions(Deno.args);
const { rows, productGflops } = await timeAll(opts);
if (opts.json) { for (const r of rows) console.log(JSON.stringify(r)); }
const found = ratios(rows);
if (opts.json) {
  for (const r of found) console.log(JSON.stringify(r));
} else {
  printTable(rows, found);
}
if (opts.matmul) {
  const matmul = await matmulRows(opts);
  const flops = flopRatios(rows, productGflops);
  if (opts.json) {
    for (const r of [...matmul, ...flops]) console.log(JSON.stringify(r));
  } else {
    if (matmul.length) printMatmul(matmul);
    printFlopRatios(flops);
  }
}
