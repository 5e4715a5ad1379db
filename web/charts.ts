/**
 * The run's curves as SVG: loss and accuracy against steps, training (each
 * batch) and test (each evaluation) together.
 *
 * @module
 */

import { lineChart } from "../report/svg_chart.ts";
import type { DemoState } from "./demo_state.ts";

/** Chart size in pixels; the page scales it to its column. */
const WIDTH = 480;
const HEIGHT = 300;

/**
 * The loss chart.
 *
 * @param state The run so far.
 * @returns An SVG document.
 *
 * @example Before any step, an empty frame over the planned steps
 * ```ts
 * import { lossChart } from "./charts.ts";
 * import { idleState } from "./demo_state.ts";
 * import { defaultSettings } from "./settings.ts";
 * import { ok } from "node:assert/strict";
 *
 * const svg = lossChart(idleState(defaultSettings(2), false));
 * ok(svg.startsWith("<svg") && svg.includes(">Loss</text>"));
 * ```
 */
export function lossChart(state: DemoState): string {
  return lineChart({
    title: "Loss",
    xLabel: "step",
    yLabel: "cross-entropy",
    xMin: 0,
    xMax: lastStep(state),
    yMin: 0,
    width: WIDTH,
    height: HEIGHT,
    series: [
      { label: "train batch", x: stepsOf(state.losses), y: state.losses },
      { label: "test", x: state.testSteps, y: state.testLosses },
    ],
  });
}

/**
 * The accuracy chart, from 0 to 1, with chance (0.1) as a floor to beat.
 *
 * @param state The run so far.
 * @returns An SVG document.
 *
 * @example Test accuracy before and after one step
 * ```ts
 * import { accuracyChart } from "./charts.ts";
 * import { idleState } from "./demo_state.ts";
 * import { defaultSettings } from "./settings.ts";
 * import { ok } from "node:assert/strict";
 *
 * const state = idleState({ ...defaultSettings(2), steps: 1 }, false);
 * state.testSteps.push(0, 1);
 * state.testAccuracies.push(0.1, 0.4);
 * ok(accuracyChart(state).includes(">test</text>"));
 * ```
 */
export function accuracyChart(state: DemoState): string {
  return lineChart({
    title: "Accuracy",
    xLabel: "step",
    yLabel: "accuracy",
    xMin: 0,
    xMax: lastStep(state),
    yMin: 0,
    yMax: 1,
    width: WIDTH,
    height: HEIGHT,
    series: [
      {
        label: "train batch",
        x: stepsOf(state.trainAccuracies),
        y: state.trainAccuracies,
      },
      { label: "test", x: state.testSteps, y: state.testAccuracies },
    ],
  });
}

/** The x axis's end: the planned steps, or the last one of a stopped run. */
function lastStep(state: DemoState): number {
  return state.stopped ? Math.max(1, state.steps) : state.settings.steps;
}

/** 1, 2, … for per-step values: the value of step k is recorded after it. */
function stepsOf(values: readonly number[]): number[] {
  return values.map((_, i) => i + 1);
}
