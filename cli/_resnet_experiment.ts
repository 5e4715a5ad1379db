/**
 * Table 2's Fashion-MNIST column on the paper's own network: a
 * pre-activation ResNet with random crops and flips, dropout against
 * Jumpout (and optionally none), dropout's rate and Jumpout's sigma tuned on
 * held-out training images with a shorter budget, then every seed on the
 * whole training set with the test accuracy after each epoch (Figure 4 in
 * kind).
 *
 * @module
 */

import type { FitConfig } from "./_fit.ts";
import type { NetworkName, Regularizer } from "./_models.ts";
import type { Runner } from "./_runner.ts";
import type { RunRecord } from "./_run_store.ts";
import { type Grid, rateGrid, sigmaGrid, tune, type Tuned } from "./_tuning.ts";

/** The experiment's size in a preset. */
export interface ResNetPreset {
  /** The network, e.g. `resnet20`. */
  model: NetworkName;
  /** Epochs of each final run. */
  epochs: number;
  /** Peak learning rate. */
  lr: number;
  /** Seeds of the final runs. */
  seeds: number[];
  /** Training images of the final runs (all 60,000 when absent). */
  trainSize?: number;
  /** The regularisers compared. */
  regs: ("none" | "dropout" | "jumpout")[];
  /** Tuning: training images, held-out images, epochs. */
  tune: { trainSize: number; validation: number; epochs: number };
  /** First tuning grids: dropout's rate, Jumpout's sigma. */
  rates: number[];
  sigmas: number[];
  /** Workers of every run. */
  workers: number;
}

/** What every run of a preset shares, and what becomes of the tuning grids. */
export interface Common {
  batch: number;
  weightDecay: number;
  /** Default: the grids extend past an edge. */
  grid?: (g: Grid) => Grid;
  /** Whether PyTorch trains the same dropout runs for comparison. */
  torch?: boolean;
}

/** One final run in the report. */
export interface ResNetRun {
  reg: string;
  seed: number;
  /** Test accuracy after the last epoch. */
  accuracy: number;
  /** Test accuracy after each epoch. */
  curve: number[];
  seconds: number;
  /** Training samples per second, over the run. */
  samplesPerSec: number;
  backend: string;
  workers: number | "default";
}

/** What the report shows of this experiment. */
export interface ResNetReport {
  model: NetworkName;
  epochs: number;
  trainImages: number;
  lr: number;
  /** The tunings; a value is missing while its runs are. */
  rate?: Tuned;
  sigma?: Tuned;
  tuning: { trainSize: number; validation: number; epochs: number };
  runs: ResNetRun[];
  /** PyTorch's runs of the same dropout network, same budget. */
  torch: ResNetRun[];
  /** Every run the section uses (tuning and PyTorch included): how many. */
  runCount: number;
  /** ...and their training time in all, in seconds. */
  seconds: number;
}

/** Where the experiment's runs come from: a {@linkcode Runner}, or one wrapped. */
export type RunSource = Pick<Runner, "run" | "training">;

/**
 * Full Jumpout with the given sigma; its fixed rate is unused and kept at 0
 * so that the run's spec does not depend on dropout's tuning.
 *
 * @param sigma Sigma of the half-normal.
 * @returns The regulariser.
 */
export function fullJumpout(sigma: number): Regularizer {
  return {
    kind: "jumpout",
    sigma,
    rate: 0,
    monotone: true,
    normalize: true,
    rescalePower: 0.75,
  };
}

/** The configs of the final runs and of the tuning runs. */
function configsOf(r: ResNetPreset, common: Common) {
  const final = (seed: number, reg: Regularizer): FitConfig => ({
    model: r.model,
    reg,
    epochs: r.epochs,
    batch: common.batch,
    lr: r.lr,
    weightDecay: common.weightDecay,
    backend: "wasm",
    workers: r.workers,
    seed,
    trainSize: r.trainSize,
    validation: 0,
    augment: true,
    evalEvery: 1,
  });
  const tuning = (reg: Regularizer): FitConfig => ({
    ...final(r.seeds[0], reg),
    epochs: r.tune.epochs,
    trainSize: r.tune.trainSize,
    validation: r.tune.validation,
    evaluateOn: "validation",
    evalEvery: r.tune.epochs,
  });

  return { final, tuning };
}

/**
 * Announces the experiment's runs to the runner (grids that grow past an
 * edge add more on the way).
 *
 * @param r Its size.
 * @param common Batch and weight decay of every run.
 * @param runner Where runs come from.
 */
export function expectResNetRuns(
  r: ResNetPreset,
  common: Common,
  runner: Runner,
): void {
  const { final, tuning } = configsOf(r, common);
  const tuningRuns = (r.regs.includes("dropout") ? r.rates.length : 0) +
    (r.regs.includes("jumpout") ? r.sigmas.length : 0);
  runner.expect(tuning({ kind: "none" }), tuningRuns);
  runner.expect(
    final(r.seeds[0], { kind: "none" }),
    r.seeds.length * r.regs.length,
  );
  if (common.torch && r.regs.includes("dropout")) {
    runner.expect(
      { ...final(r.seeds[0], { kind: "none" }), impl: "torch" },
      r.seeds.length,
    );
  }
}

/**
 * Runs (or reads) the experiment's runs.
 *
 * @param r Its size.
 * @param common Batch and weight decay of every run, and what becomes of
 *   the tuning grids (default: they extend past an edge).
 * @param source Where runs come from.
 * @returns The report's section, with whatever runs exist.
 */
export async function resnetExperiment(
  r: ResNetPreset,
  common: Common,
  source: RunSource,
): Promise<ResNetReport> {
  const { final, tuning } = configsOf(r, common);
  const runner = {
    training: source.training,
    run: async (config: FitConfig) => {
      const run = await source.run(config);
      if (run !== undefined) {
        report.runCount++;
        report.seconds += run.result.epochs.reduce((s, e) => s + e.seconds, 0);
      }
      return run;
    },
  };
  const grid = common.grid ?? ((g: Grid) => g);
  const score = async (reg: Regularizer) => {
    const run = await runner.run(tuning(reg));
    return run && run.result.epochs.at(-1)!.evalAccuracy;
  };
  const report: ResNetReport = {
    model: r.model,
    epochs: r.epochs,
    trainImages: 0,
    lr: r.lr,
    tuning: r.tune,
    runs: [],
    torch: [],
    runCount: 0,
    seconds: 0,
  };
  if (r.regs.includes("dropout")) {
    report.rate = await tune(
      grid(rateGrid(r.rates)),
      (rate) => score({ kind: "dropout", rate }),
    );
  }
  if (r.regs.includes("jumpout")) {
    report.sigma = await tune(
      grid(sigmaGrid(r.sigmas)),
      (sigma) => score(fullJumpout(sigma)),
    );
  }
  for (const seed of r.seeds) {
    for (const kind of r.regs) {
      let reg: Regularizer = { kind: "none" };
      if (kind === "dropout") {
        if (report.rate === undefined) continue;
        reg = { kind: "dropout", rate: report.rate.best };
      } else if (kind === "jumpout") {
        if (report.sigma === undefined) continue;
        reg = fullJumpout(report.sigma.best);
      }
      const run = await runner.run(final(seed, reg));
      if (run === undefined) continue;
      report.trainImages = run.result.trainImages;
      report.runs.push(finalRun(kind, seed, run));
    }
  }
  // PyTorch's dropout runs last: the comparison at equal budget.
  if (report.rate !== undefined && (common.torch || !runner.training)) {
    for (const seed of r.seeds) {
      const run = await runner.run({
        ...final(seed, { kind: "dropout", rate: report.rate.best }),
        impl: "torch",
      });
      if (run !== undefined) report.torch.push(finalRun("dropout", seed, run));
    }
  }
  return report;
}

function finalRun(reg: string, seed: number, run: RunRecord): ResNetRun {
  const epochs = run.result.epochs;
  const seconds = epochs.reduce((s, e) => s + e.seconds, 0);
  const samples = epochs.reduce((s, e) => s + e.seconds * e.samplesPerSec, 0);
  return {
    reg,
    seed,
    accuracy: epochs.at(-1)!.evalAccuracy,
    curve: epochs.map((e) => e.evalAccuracy),
    seconds,
    samplesPerSec: samples / seconds,
    backend: run.ran.adapter
      ? `${run.ran.backend} (${run.ran.adapter})`
      : run.ran.backend,
    workers: run.ran.workers,
  };
}
