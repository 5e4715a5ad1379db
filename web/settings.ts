/**
 * What one demo run does, and how a page address presets it, so a link (or
 * a test) can start a given run without touching the controls.
 *
 * @module
 */

/** The backends the demo offers. */
export type DemoBackend = "wasm" | "webgpu";

/** One run's settings. */
export interface DemoSettings {
  /** Where the replicas compute. */
  backend: DemoBackend;
  /** Training steps to run. */
  steps: number;
  /** Rows per step, split between the workers. */
  batchSize: number;
  /** Workers, each holding one replica. */
  workers: number;
  /** Training rows taken from the embedded subset. */
  trainRows: number;
  /** Test rows taken from the embedded subset. */
  testRows: number;
  /** Steps between two test evaluations. */
  evalEvery: number;
  /** Seed of the weights, the masks and the batch order. */
  seed: number;
  /** Start training as soon as the page has loaded. */
  autostart: boolean;
}

/** The sizes of the embedded subset, which bound the rows a run may take. */
const SUBSET = { train: 3000, test: 1000 };

/**
 * The settings of a run nobody changed: a few hundred steps on WebAssembly
 * with as many workers as there are cores (at most 4, as a page shares the
 * machine).
 *
 * @param cores The machine's logical cores (`navigator.hardwareConcurrency`).
 * @returns The defaults.
 *
 * @example Two cores, two workers
 * ```ts
 * import { defaultSettings } from "./settings.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(defaultSettings(2).workers, 2);
 * equal(defaultSettings(16).workers, 4);
 * ```
 */
export function defaultSettings(cores: number): DemoSettings {
  return {
    backend: "wasm",
    steps: 300,
    batchSize: 64,
    workers: Math.max(1, Math.min(4, Math.floor(cores) || 1)),
    trainRows: 2000,
    testRows: 500,
    evalEvery: 25,
    seed: 1,
    autostart: false,
  };
}

/**
 * Reads settings from a query string such as
 * `?backend=wasm&steps=30&batch=32&workers=2&autostart=1`. Parameters:
 * `backend`, `steps`, `batch`, `workers`, `train`, `test`, `eval`, `seed`,
 * `autostart` (`1` or `true`). A parameter that is absent keeps its default;
 * one that is present but bad is reported and keeps its default, so a typo
 * never runs something other than what the page shows. With `webgpu` and
 * no `workers`, one worker runs (replicas on one GPU only contend for it).
 *
 * @param query The query string, with or without its leading `?`.
 * @param defaults The settings of parameters that are absent or bad.
 * @returns The settings, and one message per bad parameter.
 *
 * @example A short WebGPU run that starts by itself
 * ```ts
 * import { defaultSettings, settingsFromQuery } from "./settings.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const { settings, problems } = settingsFromQuery(
 *   "?backend=webgpu&steps=30&autostart=1&batch=0",
 *   defaultSettings(2),
 * );
 * equal(settings.backend, "webgpu");
 * equal(settings.workers, 1);
 * equal(settings.steps, 30);
 * equal(settings.autostart, true);
 * equal(settings.batchSize, 64);
 * deepEqual(problems, ["batch must be an integer in [1, 1024], got 0"]);
 * ```
 */
export function settingsFromQuery(
  query: string,
  defaults: DemoSettings,
): { settings: DemoSettings; problems: string[] } {
  const params = new URLSearchParams(query);
  const problems: string[] = [];
  const settings = { ...defaults };
  const integer = (
    name: string,
    min: number,
    max: number,
    fallback: number,
  ) => {
    const text = params.get(name);
    if (text === null) return fallback;
    const value = Number(text);
    if (Number.isSafeInteger(value) && value >= min && value <= max) {
      return value;
    }
    problems.push(
      `${name} must be an integer in [${min}, ${max}], got ${text || '""'}`,
    );
    return fallback;
  };
  const backend = params.get("backend");
  if (backend === "wasm" || backend === "webgpu") {
    settings.backend = backend;
    if (backend === "webgpu") settings.workers = 1;
  } else if (backend !== null) {
    problems.push(`backend must be "wasm" or "webgpu", got "${backend}"`);
  }
  settings.steps = integer("steps", 1, 100_000, settings.steps);
  settings.batchSize = integer("batch", 1, 1024, settings.batchSize);
  settings.workers = integer("workers", 1, 16, settings.workers);
  settings.trainRows = integer("train", 1, SUBSET.train, settings.trainRows);
  settings.testRows = integer("test", 1, SUBSET.test, settings.testRows);
  settings.evalEvery = integer("eval", 1, 100_000, settings.evalEvery);
  settings.seed = integer("seed", 0, 2 ** 32 - 1, settings.seed);
  const autostart = params.get("autostart");
  if (autostart !== null) {
    settings.autostart = autostart === "1" || autostart === "true";
  }
  return { settings, problems };
}

/**
 * Checks settings before a run, naming the first one that cannot work.
 *
 * @param settings What the controls or the address asked for.
 * @returns A message, or `undefined` when the run can start.
 *
 * @example Each worker needs at least one row of every batch
 * ```ts
 * import { defaultSettings, settingsProblem } from "./settings.ts";
 * import { equal } from "node:assert/strict";
 *
 * const settings = { ...defaultSettings(4), batchSize: 2 };
 * equal(
 *   settingsProblem(settings),
 *   "Cannot start training: batch size must be at least the workers (4), got 2",
 * );
 * equal(settingsProblem(defaultSettings(4)), undefined);
 * ```
 */
export function settingsProblem(settings: DemoSettings): string | undefined {
  const what = "Cannot start training";
  const { steps, batchSize, workers, trainRows } = settings;
  if (!(Number.isSafeInteger(steps) && steps >= 1)) {
    return `${what}: steps must be an integer >= 1, got ${steps}`;
  }
  if (!(Number.isSafeInteger(workers) && workers >= 1)) {
    return `${what}: workers must be an integer >= 1, got ${workers}`;
  }
  if (!(Number.isSafeInteger(batchSize) && batchSize >= workers)) {
    return `${what}: batch size must be at least the workers (${workers}), got ${batchSize}`;
  }
  if (batchSize > trainRows) {
    return `${what}: batch size must be at most the training rows (${trainRows}), got ${batchSize}`;
  }
  return undefined;
}
