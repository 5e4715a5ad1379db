/**
 * One demo run: load the embedded Fashion-MNIST subset, train the MLP on
 * workers step by step, evaluate on the test rows now and then, and record
 * everything in the run's state for the page to draw.
 *
 * @module
 */

import { DataParallel, loadFashionMnist } from "../mod.ts";
import { BatchSampler, firstRows, type Rows } from "./batches.ts";
import type { DemoState } from "./demo_state.ts";
import { jumpoutRows } from "./jumpout_rows.ts";
import { MLP_INPUT_SHAPE, MLP_LAYERS, MLP_OPTIMIZER } from "./model.ts";
import { predictedLabels } from "./pixels.ts";

/** Values per image. */
const SIZE = 784;
/** Classes of Fashion-MNIST. */
const CLASSES = 10;

/** The rows a run trains and tests on. */
export interface DemoData {
  /** Training rows. */
  train: Rows;
  /** Test rows. */
  test: Rows;
}

/**
 * Loads the embedded subset and keeps the first rows of each split.
 *
 * @param trainRows Training rows to keep (at most 3000).
 * @param testRows Test rows to keep (at most 1000).
 * @returns The rows.
 * @throws {Error} When the subset cannot be read.
 *
 * @example A small slice
 * ```ts
 * import { loadDemoData } from "./training.ts";
 * import { equal } from "node:assert/strict";
 *
 * const { train, test } = await loadDemoData(20, 10);
 * equal(train.labels.length, 20);
 * equal(test.images.length, 10 * 784);
 * ```
 */
export async function loadDemoData(
  trainRows: number,
  testRows: number,
): Promise<DemoData> {
  const { train, test } = await loadFashionMnist({ source: "embedded" });
  return {
    train: firstRows(train.images, train.labels, trainRows, SIZE),
    test: firstRows(test.images, test.labels, testRows, SIZE),
  };
}

/**
 * The first test row of each class, in class order: the images the page
 * shows with their predictions.
 *
 * @param labels The test rows' labels.
 * @returns Up to ten row indices.
 *
 * @example Classes 1 and 0
 * ```ts
 * import { oneOfEachClass } from "./training.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(oneOfEachClass(new Uint8Array([1, 1, 0, 1])), [2, 0]);
 * ```
 */
export function oneOfEachClass(labels: Uint8Array): number[] {
  const first = new Map<number, number>();
  labels.forEach((label, i) => {
    if (!first.has(label)) first.set(label, i);
  });
  return [...first.entries()].sort(([a], [b]) => a - b).map(([, i]) => i);
}

/**
 * Runs the state's settings to the end, or until `signal` aborts (the run
 * then stops after its current step). Every change to `state` is followed
 * by a call to `onUpdate`. Failures end in status `error` with the message;
 * the workers are stopped either way.
 *
 * @param state The run's state, `idle`; it is filled in as the run goes.
 * @param data The rows to train and test on.
 * @param signal Aborts the run.
 * @param onUpdate Called after each change, to redraw.
 * @returns When the run has ended and its workers are stopped.
 *
 * @example Two steps on this thread
 * ```ts
 * import { idleState } from "./demo_state.ts";
 * import { defaultSettings } from "./settings.ts";
 * import { loadDemoData, runDemo } from "./training.ts";
 * import { equal } from "node:assert/strict";
 *
 * const settings = { ...defaultSettings(1), steps: 2, batchSize: 8, evalEvery: 2 };
 * const state = idleState(settings, false);
 * await runDemo(state, await loadDemoData(64, 16), new AbortController().signal, () => {});
 * equal(state.status, "done");
 * equal(state.losses.length, 2);
 * equal(state.testAccuracies.length, 2);
 * equal(state.jumpout.length, 2);
 * ```
 */
export async function runDemo(
  state: DemoState,
  data: DemoData,
  signal: AbortSignal,
  onUpdate: () => void,
): Promise<void> {
  const { settings } = state;
  const started = performance.now();
  const update = () => {
    state.elapsedMs = performance.now() - started;
    onUpdate();
  };
  state.status = "training";
  state.phase = `Starting ${settings.workers} worker${
    settings.workers === 1 ? "" : "s"
  } on ${settings.backend}`;
  const grid = oneOfEachClass(data.test.labels);
  state.predictions = grid.map((index) => ({
    index,
    label: data.test.labels[index],
    predicted: -1,
    probability: NaN,
  }));
  update();
  let trainer: DataParallel | undefined;
  try {
    trainer = await DataParallel.create({
      model: MLP_LAYERS,
      inputShape: MLP_INPUT_SHAPE,
      optimizer: MLP_OPTIMIZER,
      backend: settings.backend,
      workers: settings.workers,
      seed: settings.seed,
    });
    state.backend = trainer.backend;
    state.transport = trainer.transport;
    state.workers = trainer.workers;
    const gridImages = new Float32Array(grid.length * SIZE);
    grid.forEach((row, i) =>
      gridImages.set(
        data.test.images.subarray(row * SIZE, (row + 1) * SIZE),
        i * SIZE,
      )
    );
    const evaluate = async () => {
      state.phase = "Evaluating on the test rows";
      update();
      const { loss, accuracy } = await trainer!.evaluate(
        data.test.images,
        data.test.labels,
      );
      state.testAccuracies.push(accuracy);
      state.testLosses.push(loss);
      state.testSteps.push(state.steps);
      const probabilities = await trainer!.predict(gridImages);
      predictedLabels(probabilities, CLASSES).forEach((p, i) => {
        state.predictions[i].predicted = p.label;
        state.predictions[i].probability = p.probability;
      });
    };
    await evaluate();
    const sampler = new BatchSampler(
      data.train,
      SIZE,
      settings.batchSize,
      settings.seed,
    );
    while (state.steps < settings.steps && !signal.aborted) {
      state.phase = `Step ${state.steps + 1} of ${settings.steps}`;
      const batch = sampler.next();
      const { loss, accuracy } = await trainer.trainStep(
        batch.images,
        batch.labels,
      );
      state.losses.push(loss);
      state.trainAccuracies.push(accuracy);
      state.jumpout = jumpoutRows(await trainer.jumpoutStats());
      state.steps++;
      if (state.steps % settings.evalEvery === 0) await evaluate();
      update();
    }
    state.stopped = state.steps < settings.steps;
    // The curve ends where training ended, stopped or not.
    if (state.testSteps.at(-1) !== state.steps) await evaluate();
    state.status = "done";
    state.phase = state.stopped
      ? `Stopped after ${state.steps} steps`
      : `Done: ${state.steps} steps`;
  } catch (error) {
    state.status = "error";
    state.error = error instanceof Error ? error.message : String(error);
    state.phase = "Failed";
    console.error(error);
  } finally {
    await trainer?.dispose();
    update();
  }
}
