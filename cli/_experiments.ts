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
import {
  fit,
  type FitConfig,
  type FitResult,
  gather,
  optimizerSpec,
  permutation,
} from "./_fit.ts";
import {
  inputShapeOf,
  type ModelName,
  networkSpecs,
  type Regularizer,
  regularizerName,
} from "./_models.ts";

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
  /** Total wall time (s). */
  seconds: number;
  /** When the run ended (ISO 8601). */
  finished?: string;
}

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

/**
 * Runs every experiment of a preset.
 *
 * @param preset How big.
 * @param data The data set.
 * @param log Where progress lines go.
 * @returns What the report shows.
 */
export async function runExperiments(
  preset: Preset,
  data: FashionMnist,
  log: (line: string) => void,
): Promise<Report> {
  const started = performance.now();
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
    seconds: 0,
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
  const summary = (r: FitResult, reg: Regularizer): RunSummary => ({
    model: r.config.model as ModelName,
    reg: regularizerName(reg),
    seed: r.config.seed,
    accuracy: r.epochs[r.epochs.length - 1].evalAccuracy,
    trainImages: r.trainImages,
    epochs: r.epochs.length,
    seconds: r.epochs.reduce((s, e) => s + e.seconds, 0),
  });
  const run = async (config: FitConfig, extra: Partial<FitConfig> = {}) => {
    const r = await fit({ ...config, ...extra }, data);
    log(
      `${config.model} ${
        regularizerName(config.reg)
      } seed ${config.seed}: ${r.evaluatedOn} accuracy ${
        (100 * r.epochs[r.epochs.length - 1].evalAccuracy).toFixed(2)
      }%`,
    );
    return r;
  };

  for (const model of preset.models) {
    // 1. Tuning on the validation split, first seed: dropout's rate, then
    // Jumpout's sigma (its fixed-rate ablations use the tuned rate).
    const tune: RunSummary[] = [];
    const bestOf = async <T>(
      values: T[],
      regOf: (value: T) => Regularizer,
      label: (value: T) => string,
    ): Promise<T> => {
      let best = values[0];
      let bestAccuracy = -1;
      for (const value of values) {
        const reg = regOf(value);
        const r = await run({
          ...base(model, preset.seeds[0]),
          reg,
          evaluateOn: "validation",
        });
        const s = { ...summary(r, reg), reg: label(value) };
        tune.push(s);
        if (s.accuracy > bestAccuracy) {
          [best, bestAccuracy] = [value, s.accuracy];
        }
      }
      return best;
    };
    const rate = await bestOf(
      preset.rates,
      (rate) => ({ kind: "dropout", rate }),
      (rate) => `dropout(${rate})`,
    );
    const sigma = await bestOf(
      preset.sigmas,
      (sigma) => jumpout(sigma, rate, true, true, true),
      (sigma) => `jumpout(σ=${sigma})`,
    );
    const best = { rate, sigma };
    report.tuning.push({ model, ...best, runs: tune });

    // 2. The comparison, every seed; the first jumpout run also records q+
    // and a checkpoint per epoch for the drift.
    const regs: Regularizer[] = [
      { kind: "none" },
      { kind: "dropout", rate: best.rate },
      jumpout(best.sigma, best.rate, true, true, true),
    ];
    const checkpoints: { epoch: number; bytes: Uint8Array }[] = [];
    for (const s of preset.seeds) {
      for (const reg of regs) {
        const first = s === preset.seeds[0] && reg.kind === "jumpout";
        const config = { ...base(model, s), reg };
        const steps = Math.floor(preset.trainSize / preset.batch) *
          config.epochs;
        const r = first
          ? await fit(
            {
              ...config,
              recordActiveEvery: Math.max(1, Math.floor(steps / 40)),
            },
            data,
            {
              onEpoch: async (record, trainer) => {
                checkpoints.push({
                  epoch: record.epoch,
                  bytes: await trainer.checkpoint(),
                });
              },
            },
          )
          : await run(config);
        if (first) {
          log(
            `${model} jumpout seed ${s}: test accuracy ${
              (100 * summary(r, reg).accuracy).toFixed(2)
            }%`,
          );
          const layers = networkSpecs(model, reg).flatMap((spec, i) =>
            spec.type === "jumpout" ? [i] : []
          );
          report.active.push({ model, layers, points: r.active });
        }
        report.comparison.push(summary(r, reg));
        if (model === preset.ablationModel) {
          const letters = regularizerName(reg);
          if (letters === "jumpout" || reg.kind === "dropout") {
            report.ablation.push({
              ...summary(r, reg),
              reg: reg.kind === "dropout" ? "jumpout[-]" : "jumpout",
            });
          }
        }
      }
    }

    // 4. Drift of the mean and variance at each epoch's checkpoint.
    const specs = networkSpecs(model, regs[2]);
    const images = testImages(data, preset.driftImages);
    const drift = {
      model,
      epochs: [] as { epoch: number; rows: DriftRow[] }[],
    };
    for (const { epoch, bytes } of checkpoints) {
      drift.epochs.push({
        epoch,
        rows: await measureDrift(
          specs,
          inputShapeOf(model),
          optimizerSpec(preset.weightDecay),
          bytes,
          images,
          [0.1, 0.2],
          [1, 0.5, 0.75],
        ),
      });
    }
    report.drift.push(drift);

    // 3. The ablation: the six combinations the comparison did not run.
    if (model === preset.ablationModel) {
      for (const s of preset.seeds) {
        for (const [m, n, rescale] of ABLATION) {
          const reg = jumpout(best.sigma, best.rate, m, n, rescale);
          const name = regularizerName(reg);
          if (name === "jumpout" || name === "jumpout[-]") continue;
          const r = await run({ ...base(model, s), reg });
          report.ablation.push(summary(r, reg));
        }
      }
    }
  }

  // Headline: the whole training set, one seed.
  if (preset.headline) {
    for (const model of preset.models) {
      const tuned = report.tuning.find((t) => t.model === model)!;
      const regs: Regularizer[] = [
        { kind: "none" },
        { kind: "dropout", rate: tuned.rate },
        jumpout(tuned.sigma, tuned.rate, true, true, true),
      ];
      for (const reg of regs) {
        const r = await run({
          ...base(model, preset.seeds[0]),
          reg,
          trainSize: undefined,
          validation: 0,
          epochs: preset.headline.epochs[model],
          evalEvery: preset.headline.epochs[model],
        });
        report.headline.push(summary(r, reg));
      }
    }
  }
  report.seconds = (performance.now() - started) / 1000;
  report.finished = new Date().toISOString();
  return report;
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
