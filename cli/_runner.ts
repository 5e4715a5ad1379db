/**
 * Runs the training runs of an experiment through a {@linkcode RunStore}:
 * a run whose file exists is read instead of trained, a new run's file is
 * written as soon as it ends, and progress says `run k of N`, the current
 * run's bar and an estimate for the whole job.
 *
 * @module
 */

import type { DataParallel } from "../mod.ts";
import type { FashionMnist } from "../src/data/fashion_mnist.ts";
import { formatDuration, type Progress } from "../report/progress.ts";
import {
  type EpochRecord,
  fit,
  type FitConfig,
  type FitHooks,
  type FitResult,
  progressOf,
} from "./_fit.ts";
import { TORCH_PYTHON, torchFit } from "./_torch_fit.ts";
import { regularizerName } from "./_models.ts";
import {
  RUN_FORMAT,
  type RunRecord,
  type RunSpec,
  type RunStore,
  specKey,
} from "./_run_store.ts";
import denoJson from "../deno.json" with { type: "json" };

/** Thrown when a run is stopped by the runner's signal; finished runs are kept. */
export class RunStopped extends Error {
  /**
   * @param name The run that was stopped.
   */
  constructor(name: string) {
    super(`Stopped during ${name}; every finished run is kept`);
    this.name = "RunStopped";
  }
}

/** How a {@linkcode Runner} works. */
export interface RunnerOptions {
  /** Where runs are found and written. */
  store: RunStore;
  /** The data every run trains on. */
  data: FashionMnist;
  /** Train runs that have no file (true), or only read those that do. */
  train: boolean;
  /** Messages (one line each). */
  log(line: string): void;
  /** A progress display per trained run; none when absent. */
  progress?: () => Progress;
  /** Stops the run in progress between two steps. */
  signal?: AbortSignal;
}

/** Extra work of one run. */
export interface RunExtras {
  /** Measurements the run takes, with their settings: part of its spec. */
  measure?: Record<string, unknown>;
  /** After each epoch: a measurement kept in the run file's `measured.epochs`. */
  onEpoch?(record: EpochRecord, trainer: DataParallel): Promise<unknown>;
}

/** A run expected later: its trainer and network, and how many samples it trains on. */
interface Expected {
  /** See `paceKey`. */
  model: string;
  samples: number;
}

/**
 * The data set's identity in a run's spec: image counts and a hash of the
 * labels, so that a run on the embedded subset is never taken for one on the
 * whole set.
 *
 * @param data The data set.
 * @returns E.g. `fashion-mnist 60000+10000 9f0c3b2e`.
 */
export function dataIdentity(data: FashionMnist): string {
  let h = 0x811c9dc5;
  for (const labels of [data.train.labels, data.test.labels]) {
    for (let i = 0; i < labels.length; i++) {
      h = Math.imul(h ^ labels[i], 0x01000193) >>> 0;
    }
  }
  return `fashion-mnist ${data.train.count}+${data.test.count} ${
    h.toString(16).padStart(8, "0")
  }`;
}

/** The samples a run trains on. */
export function trainingSamples(config: FitConfig, data: FashionMnist): number {
  const available = data.train.count - (config.validation ?? 0);
  const images = Math.min(config.trainSize ?? available, available);
  return Math.floor(images / config.batch) * config.batch * config.epochs;
}

/** See the module doc. */
export class Runner {
  readonly #options: RunnerOptions;
  readonly #dataId: string;
  #expected: Expected[] = [];
  #index = 0;
  /** Seconds per training sample, by network, from runs read or trained. */
  readonly #pace = new Map<string, number>();
  /** Runs trained in this sitting. */
  trained = 0;
  /** Keys of the runs read from their files. */
  readonly #read = new Set<string>();
  /** Runs asked for that have no file (when not training). */
  missing = 0;

  /** @param options See {@linkcode RunnerOptions}. */
  constructor(options: RunnerOptions) {
    this.#options = options;
    this.#dataId = dataIdentity(options.data);
  }

  /**
   * Announces runs to come, for `run k of N` and the time estimate.
   *
   * @param config A run's config.
   * @param count How many such runs.
   */
  expect(config: FitConfig, count = 1): void {
    const samples = trainingSamples(config, this.#options.data);
    for (let i = 0; i < count; i++) {
      this.#expected.push({ model: paceKey(config), samples });
    }
  }

  /**
   * The run of `config`: read from its file when one exists, else trained
   * (and its file written) unless the runner only reads.
   *
   * @param config The training config.
   * @param extras Measurements taken along the way.
   * @returns The run, or undefined when it has no file and the runner only reads.
   * @throws {RunStopped} When the signal stops it.
   * @throws {RunFileError} When its file exists but cannot be used.
   */
  async run(
    config: FitConfig,
    extras: RunExtras = {},
  ): Promise<RunRecord | undefined> {
    const { store, data, log } = this.#options;
    const name = `${config.impl === "torch" ? "PyTorch " : ""}${config.model} ${
      regularizerName(config.reg)
    } seed ${config.seed}${
      config.batchNorm === false ? " without BatchNorm" : ""
    }${config.evaluateOn === "validation" ? " (tuning)" : ""}`;
    const spec: RunSpec = {
      config,
      data: this.#dataId,
      ...(extras.measure && { measure: extras.measure }),
    };
    const samples = trainingSamples(config, data);
    const at = this.#expected.findIndex((e) =>
      e.model === paceKey(config) && e.samples === samples
    );
    if (at >= 0) this.#expected.splice(at, 1);
    const k = ++this.#index;
    const total = k + this.#expected.length;
    const found = await store.get(spec);
    if (found !== undefined) {
      this.#read.add(found.key);
      this.#learnPace(found);
      log(`run ${k} of ${total}: ${name}: finished before, ${summary(found)}`);
      return found;
    }
    if (!this.#options.train) {
      this.missing++;
      return undefined;
    }
    log(`run ${k} of ${total}: ${name}${this.#estimate(config, samples)}`);
    const progress = this.#options.progress?.();
    const measured: unknown[] = [];
    const started = performance.now();
    let result;
    try {
      result = await this.#train(config, {
        signal: this.#options.signal,
        onStep: progress &&
          ((s) => {
            const later = this.#expectedSeconds();
            progress.update({
              ...progressOf(s, config.epochs),
              label: `run ${k}/${total}`,
              ...(later.untimed === 0 &&
                { totalSecondsLeft: s.secondsLeft + later.seconds }),
            });
          }),
        onEpoch: async (record, trainer: DataParallel) => {
          progress?.log(
            `  epoch ${record.epoch}: ${
              Number.isNaN(record.evalAccuracy)
                ? "not evaluated"
                : `${config.evaluateOn ?? "test"} accuracy ${
                  (100 * record.evalAccuracy).toFixed(2)
                }%`
            }`,
          );
          if (extras.onEpoch) {
            measured.push(await extras.onEpoch(record, trainer));
          }
        },
      });
    } finally {
      await progress?.done();
    }
    if (result.interrupted) throw new RunStopped(name);
    const record: RunRecord = {
      format: RUN_FORMAT,
      name,
      key: await specKey(spec),
      spec,
      library: denoJson.version,
      ran: {
        backend: config.impl === "torch"
          ? `PyTorch on the CPU (${TORCH_PYTHON})`
          : String(config.backend),
        workers: config.workers ?? "default",
        ...(config.backend === "webgpu" && { adapter: await adapterName() }),
      },
      finished: new Date().toISOString(),
      result,
      ...(extras.onEpoch && { measured: { epochs: measured } }),
    };
    const path = await store.put(record);
    // What the report uses is what the file holds (JSON has no NaN).
    const written = await store.get(spec);
    this.trained++;
    this.#learnPace(written!);
    log(
      `  ${summary(written!)}, ${
        formatDuration((performance.now() - started) / 1000)
      }; wrote ${path}`,
    );
    return written;
  }

  /** Runs read from their files; one asked for twice counts once. */
  get reused(): number {
    return this.#read.size;
  }

  /** Whether runs without a file are trained. */
  get training(): boolean {
    return this.#options.train;
  }

  #train(config: FitConfig, hooks: FitHooks): Promise<FitResult> {
    const { data } = this.#options;
    if (config.impl !== "torch") return fit(config, data, hooks);
    return torchFit(config, data.source.replace(/^file:\/\//, ""), hooks);
  }

  #learnPace(record: RunRecord): void {
    const epochs = record.result.epochs;
    const seconds = epochs.reduce((s, e) => s + e.seconds, 0);
    const samples = epochs.reduce((s, e) => s + e.seconds * e.samplesPerSec, 0);
    if (samples > 0) {
      this.#pace.set(paceKey(record.spec.config), seconds / samples);
    }
  }

  /**
   * The seconds the runs still expected will take, from the pace of runs of
   * their kind, and how many have no such run to go by.
   */
  #expectedSeconds(): { seconds: number; untimed: number } {
    let seconds = 0;
    let untimed = 0;
    for (const e of this.#expected) {
      const pace = this.#pace.get(e.model);
      if (pace === undefined) untimed++;
      else seconds += e.samples * pace;
    }
    return { seconds, untimed };
  }

  /**
   * `; all runs: about 2h40m00s left` (with `, and 3 runs not timed yet`
   * when some kinds of run have not run yet), or nothing before any run of
   * a kind to come has a pace.
   */
  #estimate(config: FitConfig, samples: number): string {
    const later = this.#expectedSeconds();
    const pace = this.#pace.get(paceKey(config));
    const untimed = later.untimed + (pace === undefined ? 1 : 0);
    const runs = this.#expected.length + 1;
    if (this.#expected.length === 0 || untimed === runs) return "";
    const seconds = later.seconds + (pace === undefined ? 0 : samples * pace);
    return `; all runs: about ${formatDuration(seconds)} left${
      untimed === 0
        ? ""
        : `, and ${untimed} run${untimed === 1 ? "" : "s"} not timed yet`
    }`;
  }
}

/** Who trains which network: runs of one key share a pace. */
function paceKey(config: FitConfig): string {
  return `${config.impl ?? "jumpout"} ${config.model}`;
}

/** `test accuracy 91.23%` from the last epoch. */
function summary(record: RunRecord): string {
  const last = record.result.epochs.at(-1)!;
  return `${record.result.evaluatedOn} accuracy ${
    (100 * last.evalAccuracy).toFixed(2)
  }%`;
}

/** The GPU adapter's description, as the run's file records it. */
async function adapterName(): Promise<string> {
  const adapter = await navigator.gpu?.requestAdapter();
  const info = adapter?.info;
  return info ? info.description || info.vendor || "unknown" : "none";
}
