/**
 * The four re-measurements of the paper's claims, as plain functions of a
 * preset: the comparison of regularisers (Table 2 in kind), the ablation of
 * Jumpout's three changes (Table 1), the share of active units over training
 * (Figure 1) and the mean/variance drift of rescaling (Figures 3 and 5).
 *
 * @module
 */

import type { FashionMnist } from "../src/data/fashion_mnist.ts";
import { type DriftRow, measureDrift } from "./_drift.ts";
import { type FitConfig, gather, optimizerSpec } from "./_fit.ts";
import { permutation } from "../mod.ts";
import {
  ablationName,
  inputShapeOf,
  type ModelName,
  networkSpecs,
  type Regularizer,
  regularizerName,
} from "./_models.ts";
import {
  expectResNetRuns,
  fullJumpout,
  resnetExperiment,
  type ResNetPreset,
  type ResNetReport,
} from "./_resnet_experiment.ts";
import type { RunExtras, Runner } from "./_runner.ts";
import { torchAvailable } from "./_torch_fit.ts";
import type { RunRecord } from "./_run_store.ts";
import { type Grid, rateGrid, sigmaGrid, tune } from "./_tuning.ts";

/** How big the experiments are. */
export interface Preset {
  /** `full`, `quick` or `tiny`. */
  name: string;
  /** What the numbers are, said in the report. */
  label: string;
  seeds: number[];
  /** Training images of the comparison and the ablation. */
  trainSize: number;
  /** Training images held out for tuning. */
  validation: number;
  epochs: Record<ModelName, number>;
  lr: Record<ModelName, number>;
  batch: number;
  weightDecay: number;
  /** Tuning grids: dropout's rate, Jumpout's sigma. */
  rates: number[];
  sigmas: number[];
  models: ModelName[];
  ablationModel: ModelName;
  /** Test images the drift is measured on. */
  driftImages: number;
  /** Full-training-set runs, one seed, for the headline; none when absent. */
  headline?: { epochs: Record<ModelName, number> };
  /** Workers per run (the trainer's default when absent). */
  workers?: number;
  /** Table 2's Fashion-MNIST column on the paper's network; none when absent. */
  resnet?: ResNetPreset;
  /** Tuning grids stay as given, never extended past an edge (tests). */
  fixedGrids?: boolean;
}

/** The presets. */
export const PRESETS: Record<"full" | "quick" | "tiny", Preset> = {
  full: {
    name: "full",
    label: "full run",
    seeds: [1, 2, 3],
    trainSize: 10000,
    validation: 5000,
    epochs: { mlp: 15, cnn: 10 },
    lr: { mlp: 0.05, cnn: 0.1 },
    batch: 128,
    weightDecay: 5e-4,
    rates: [0.1, 0.2, 0.3],
    sigmas: [0.05, 0.1, 0.2],
    models: ["mlp", "cnn"],
    ablationModel: "mlp",
    driftImages: 256,
    headline: { epochs: { mlp: 20, cnn: 12 } },
    // Named, not the machine's core count: a run's numbers depend on how
    // many shards its batch is split into (q+ and BatchNorm per shard).
    workers: 2,
    resnet: {
      model: "resnet20",
      epochs: 15,
      lr: 0.1,
      seeds: [1, 2, 3],
      regs: ["dropout", "jumpout"],
      tune: { trainSize: 20000, validation: 5000, epochs: 6 },
      rates: [0.1, 0.2, 0.3],
      sigmas: [0.05, 0.1, 0.2],
      workers: 2,
    },
  },
  quick: {
    name: "quick",
    label:
      "QUICK RUN (2 seeds, 3000 training images, few epochs): a smoke test of the pipeline, not evidence",
    seeds: [1, 2],
    trainSize: 3000,
    validation: 1000,
    epochs: { mlp: 4, cnn: 2 },
    lr: { mlp: 0.05, cnn: 0.1 },
    batch: 128,
    weightDecay: 5e-4,
    rates: [0.1, 0.3],
    sigmas: [0.05, 0.2],
    models: ["mlp", "cnn"],
    ablationModel: "mlp",
    driftImages: 128,
    resnet: {
      model: "resnet8",
      epochs: 2,
      lr: 0.1,
      seeds: [1, 2],
      trainSize: 3000,
      regs: ["none", "dropout", "jumpout"],
      tune: { trainSize: 1000, validation: 500, epochs: 1 },
      rates: [0.1, 0.3],
      sigmas: [0.05, 0.2],
      workers: 2,
    },
  },
  tiny: {
    name: "tiny",
    label: "TINY RUN (a test of the code only)",
    seeds: [1, 2],
    trainSize: 256,
    validation: 128,
    epochs: { mlp: 1, cnn: 1 },
    lr: { mlp: 0.05, cnn: 0.1 },
    batch: 64,
    weightDecay: 5e-4,
    rates: [0.1],
    sigmas: [0.1],
    models: ["mlp", "cnn"],
    ablationModel: "mlp",
    driftImages: 32,
    workers: 0,
    fixedGrids: true,
    resnet: {
      model: "resnet8",
      epochs: 1,
      lr: 0.1,
      seeds: [1, 2],
      trainSize: 256,
      regs: ["none", "dropout", "jumpout"],
      tune: { trainSize: 256, validation: 128, epochs: 1 },
      rates: [0.1],
      sigmas: [0.1],
      workers: 0,
    },
  },
};

/** A run's summary in the report. */
export interface RunSummary {
  model: ModelName;
  reg: string;
  seed: number;
  /** Final accuracy on the test set (or validation, when tuning). */
  accuracy: number;
  trainImages: number;
  epochs: number;
  seconds: number;
}

/** Everything the report shows. */
export interface Report {
  preset: Preset;
  /** Where the data came from. */
  source: string;
  /** Test images every accuracy is measured on. */
  testImages: number;
  tuning: {
    model: ModelName;
    rate: number;
    sigma: number;
    runs: RunSummary[];
  }[];
  comparison: RunSummary[];
  ablation: RunSummary[];
  active: {
    model: ModelName;
    layers: number[];
    points: { step: number; layers: number[] }[];
  }[];
  drift: {
    model: ModelName;
    /** Per epoch, every row. */
    epochs: { epoch: number; rows: DriftRow[] }[];
  }[];
  headline: RunSummary[];
  /** Figure 2: the `cnn` with and without BatchNorm. */
  batchnorm: (RunSummary & { batchNorm: boolean })[];
  /** Table 2's Fashion-MNIST column on a pre-activation ResNet. */
  resnet?: ResNetReport;
  /** Total training time of the runs shown (s). */
  seconds: number;
  /** When the last run shown ended (ISO 8601). */
  finished?: string;
}

/** The network of Figure 2's experiment (the one with BatchNorm). */
const BATCHNORM_MODEL: ModelName = "cnn";

/** The eight combinations of the three changes, as M, N and R letters. */
export const ABLATION = [
  [false, false, false],
  [true, false, false],
  [false, true, false],
  [false, false, true],
  [true, true, false],
  [true, false, true],
  [false, true, true],
  [true, true, true],
] as const;

/** The experiments `--only` may name. */
export const EXPERIMENTS = [
  "regularisers",
  "ablation",
  "batchnorm",
  "headline",
  "resnet",
] as const;

/** One of {@linkcode EXPERIMENTS}. */
export type ExperimentName = typeof EXPERIMENTS[number];

/**
 * Runs (or reads from their files) the runs of a preset's experiments and
 * gathers what the report shows. With a runner that only reads, the report
 * has whatever runs exist.
 *
 * @param preset How big.
 * @param data The data set.
 * @param runner Where runs come from.
 * @param only The experiments to run (default: all).
 * @returns What the report shows.
 */
export async function runExperiments(
  preset: Preset,
  data: FashionMnist,
  runner: Runner,
  only: ReadonlySet<ExperimentName> = new Set(EXPERIMENTS),
): Promise<Report> {
  const report: Report = {
    preset,
    source: data.source,
    testImages: data.test.count,
    tuning: [],
    comparison: [],
    ablation: [],
    active: [],
    drift: [],
    headline: [],
    batchnorm: [],
    seconds: 0,
  };
  /** The runs used, by key: a run two sections share counts once. */
  const records = new Map<string, RunRecord>();
  const run = async (config: FitConfig, extras?: RunExtras) => {
    const r = await runner.run(config, extras);
    if (r !== undefined) records.set(r.key, r);
    return r;
  };
  const base = (model: ModelName, seed: number): Omit<FitConfig, "reg"> => ({
    model,
    epochs: preset.epochs[model],
    batch: preset.batch,
    lr: preset.lr[model],
    weightDecay: preset.weightDecay,
    backend: "wasm",
    workers: preset.workers,
    seed,
    trainSize: preset.trainSize,
    // Every run trains on the same images, which exclude the validation set.
    validation: preset.validation,
    evalEvery: preset.epochs[model],
  });
  const grid = (g: Grid): Grid =>
    preset.fixedGrids
      ? { ...g, below: () => undefined, above: () => undefined }
      : g;
  const withTuning = only.has("regularisers") || only.has("ablation") ||
    only.has("batchnorm") || only.has("headline");
  const models = withTuning ? preset.models : [];
  // What is known in advance, for `run k of N` and the time left; grids
  // that grow past an edge add runs on the way.
  for (const model of models) {
    const none = { ...base(model, 1), reg: { kind: "none" as const } };
    const seeds = preset.seeds.length;
    runner.expect(none, preset.rates.length + preset.sigmas.length);
    if (only.has("regularisers")) runner.expect(none, 3 * seeds);
    if (only.has("ablation") && model === preset.ablationModel) {
      runner.expect(none, 2 * preset.rates.length + ABLATION.length * seeds);
    }
    if (only.has("batchnorm") && model === BATCHNORM_MODEL) {
      runner.expect(none, 6 * seeds);
    }
    if (only.has("headline") && preset.headline) {
      const epochs = preset.headline.epochs[model];
      runner.expect(
        { ...none, trainSize: undefined, validation: 0, epochs },
        3,
      );
    }
  }
  const torch = runner.training && only.has("resnet") &&
    preset.resnet !== undefined &&
    preset.name !== "tiny" && data.kind !== "embedded" &&
    await torchAvailable();
  if (only.has("resnet") && preset.resnet) {
    expectResNetRuns(preset.resnet, { ...preset, torch }, runner);
  }

  for (const model of models) {
    // 1. Tuning on the validation split, first seed: dropout's rate, then
    // Jumpout's sigma; each grid grows past an edge that holds the best.
    const tune1: RunSummary[] = [];
    const score = async (reg: Regularizer, label: string) => {
      const r = await run({
        ...base(model, preset.seeds[0]),
        reg,
        evaluateOn: "validation",
      });
      if (r === undefined) return undefined;
      const s = { ...summary(r), reg: label };
      tune1.push(s);
      return s.accuracy;
    };
    const rate = await tune(
      grid(rateGrid(preset.rates)),
      (v) => score({ kind: "dropout", rate: v }, `dropout(${v})`),
    );
    const sigma = await tune(
      grid(sigmaGrid(preset.sigmas)),
      (v) => score(fullJumpout(v), `jumpout(σ=${v})`),
    );
    if (rate === undefined || sigma === undefined) continue;
    tune1.sort((a, b) => a.reg.localeCompare(b.reg, "en", { numeric: true }));
    report.tuning.push({
      model,
      rate: rate.best,
      sigma: sigma.best,
      runs: tune1,
    });
    const regs: Regularizer[] = [
      { kind: "none" },
      { kind: "dropout", rate: rate.best },
      fullJumpout(sigma.best),
    ];

    // 2. The comparison, every seed; the first jumpout run also records q+
    // and measures the drift at each epoch's end.
    if (only.has("regularisers")) {
      const drift = {
        images: preset.driftImages,
        ps: [0.1, 0.2],
        powers: [1, 0.5, 0.75],
      };
      const images = testImages(data, preset.driftImages);
      const specs = networkSpecs(model, regs[2]);
      for (const s of preset.seeds) {
        for (const reg of regs) {
          const config = { ...base(model, s), reg };
          const first = s === preset.seeds[0] && reg.kind === "jumpout";
          const steps = Math.floor(preset.trainSize / preset.batch) *
            config.epochs;
          const r = first
            ? await run(
              {
                ...config,
                recordActiveEvery: Math.max(1, Math.floor(steps / 40)),
              },
              {
                measure: { drift },
                onEpoch: async (_record, trainer) =>
                  measureDrift(
                    specs,
                    inputShapeOf(model),
                    optimizerSpec(preset.weightDecay),
                    await trainer.checkpoint(),
                    images,
                    drift.ps,
                    drift.powers,
                  ),
              },
            )
            : await run(config);
          if (r === undefined) continue;
          if (first) {
            const layers = specs.flatMap((spec, i) =>
              spec.type === "jumpout" ? [i] : []
            );
            report.active.push({ model, layers, points: r.result.active });
            report.drift.push({
              model,
              epochs: (r.measured!.epochs as DriftRow[][]).map((rows, i) => ({
                epoch: i + 1,
                rows,
              })),
            });
          }
          report.comparison.push(summary(r));
        }
      }
    }

    // 3. The ablation: every combination of the three changes, every seed.
    // Without M the rate is fixed: dropout's tuned rate, except with N on,
    // where it is divided by q+ and so tuned for that row on its own.
    if (only.has("ablation") && model === preset.ablationModel) {
      const fixedRate = new Map<string, number>();
      for (const [m, n, rescale] of ABLATION) {
        if (m || !n) continue;
        const tuned = await tune(
          grid(rateGrid(preset.rates)),
          (v) =>
            score(
              jumpout(sigma.best, v, m, n, rescale),
              `${ablationName(m, n, rescale)}(${v})`,
            ),
        );
        if (tuned !== undefined) {
          fixedRate.set(ablationName(m, n, rescale), tuned.best);
        }
      }
      for (const s of preset.seeds) {
        for (const [m, n, rescale] of ABLATION) {
          const name = ablationName(m, n, rescale);
          const rowRate = m || !n ? rate.best : fixedRate.get(name);
          if (rowRate === undefined) continue;
          const reg = m && n && rescale
            ? fullJumpout(sigma.best)
            : !m && !n && !rescale
            ? { kind: "dropout" as const, rate: rate.best }
            : jumpout(sigma.best, rowRate, m, n, rescale);
          const r = await run({ ...base(model, s), reg });
          if (r === undefined) continue;
          report.ablation.push({ ...summary(r), reg: name });
        }
      }
    }

    // 4. Dropout and BatchNorm (Figure 2): dropout, dropout with Jumpout's
    // rescaling (1 - p)^-0.75, and Jumpout, with and without BatchNorm.
    if (only.has("batchnorm") && model === BATCHNORM_MODEL) {
      const variants: [string, Regularizer][] = [
        ["dropout", { kind: "dropout", rate: rate.best }],
        [
          "dropout, (1 − p)^−0.75",
          jumpout(sigma.best, rate.best, false, false, true),
        ],
        ["jumpout", fullJumpout(sigma.best)],
      ];
      for (const s of preset.seeds) {
        for (const batchNorm of [true, false]) {
          for (const [name, reg] of variants) {
            const r = await run({
              ...base(model, s),
              reg,
              ...(!batchNorm && { batchNorm }),
            });
            if (r === undefined) continue;
            report.batchnorm.push({ ...summary(r), reg: name, batchNorm });
          }
        }
      }
    }

    // 5. Headline: the whole training set, one seed.
    if (only.has("headline") && preset.headline) {
      for (const reg of regs) {
        const r = await run({
          ...base(model, preset.seeds[0]),
          reg,
          trainSize: undefined,
          validation: 0,
          epochs: preset.headline.epochs[model],
          evalEvery: preset.headline.epochs[model],
        });
        if (r !== undefined) report.headline.push(summary(r));
      }
    }
  }

  if (only.has("resnet") && preset.resnet) {
    report.resnet = await resnetExperiment(preset.resnet, {
      ...preset,
      grid,
      torch,
    }, { run, training: runner.training });
  }
  report.seconds = [...records.values()].reduce(
    (s, r) => s + r.result.epochs.reduce((t, e) => t + e.seconds, 0),
    0,
  );
  report.finished = [...records.values()].map((r) => r.finished).sort().at(-1);
  return report;
}

/** A run's line in the report. */
function summary(r: RunRecord): RunSummary {
  const c = r.result.config;
  return {
    model: c.model as ModelName,
    reg: regularizerName(c.reg),
    seed: c.seed,
    accuracy: r.result.epochs[r.result.epochs.length - 1].evalAccuracy,
    trainImages: r.result.trainImages,
    epochs: r.result.epochs.length,
    seconds: r.result.epochs.reduce((s, e) => s + e.seconds, 0),
  };
}

/** Jumpout with some of its changes switched off. */
function jumpout(
  sigma: number,
  rate: number,
  monotone: boolean,
  normalize: boolean,
  rescale: boolean,
): Regularizer {
  return {
    kind: "jumpout",
    sigma,
    rate,
    monotone,
    normalize,
    rescalePower: rescale ? 0.75 : 1,
  };
}

/** The first `count` test images in a fixed shuffled order, standardised. */
function testImages(data: FashionMnist, count: number): Float32Array {
  const order = permutation(data.test.count, 7);
  return gather(data.test, order.subarray(0, Math.min(count, data.test.count)))
    .images;
}
