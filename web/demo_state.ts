/**
 * The state of a demo run: what the page draws from, and what it exposes as
 * `globalThis.jumpoutDemo` for scripts that drive the page.
 *
 * @module
 */

import type { JumpoutRow } from "./jumpout_rows.ts";
import type { DemoSettings } from "./settings.ts";

declare global {
  /** The page's current run (see {@linkcode DemoState}). */
  var jumpoutDemo: DemoState | undefined;
}

/** Where a run is: not started, running, finished (or stopped), failed. */
export type DemoStatus = "idle" | "training" | "done" | "error";

/** One test image of the grid and what the model makes of it. */
export interface Prediction {
  /** The image's index in the test rows. */
  index: number;
  /** Its true label. */
  label: number;
  /** The predicted label; -1 before the first prediction. */
  predicted: number;
  /** The predicted label's probability; NaN before the first prediction. */
  probability: number;
}

/** Everything the page knows about the current run. */
export interface DemoState {
  /** Where the run is. */
  status: DemoStatus;
  /** What it is doing now, in words. */
  phase: string;
  /** The run's settings. */
  settings: DemoSettings;
  /** Training steps done. */
  steps: number;
  /** Each step's training loss (the batch's mean, before its update). */
  losses: number[];
  /** Each step's training accuracy on its batch. */
  trainAccuracies: number[];
  /** Test accuracy at each evaluation; the first is before any training. */
  testAccuracies: number[];
  /** Test loss at each evaluation. */
  testLosses: number[];
  /** Steps done at each evaluation. */
  testSteps: number[];
  /** Jumpout's statistics of the last step, per layer. */
  jumpout: JumpoutRow[];
  /** The backend the replicas run on, once started. */
  backend?: string;
  /** How gradients travel: `shared`, `transfer`, or `none` with one replica. */
  transport?: string;
  /** Workers running replicas. */
  workers?: number;
  /** Whether the page is cross-origin isolated (shared memory allowed). */
  crossOriginIsolated: boolean;
  /** The grid's images and their predictions. */
  predictions: Prediction[];
  /** Whether the run was stopped before its last step. */
  stopped: boolean;
  /** Milliseconds spent training so far (workers' start and evaluations included). */
  elapsedMs: number;
  /** Why the run failed. */
  error?: string;
}

/**
 * A state for a run that has not started.
 *
 * @param settings The run's settings.
 * @param isolated Whether the page is cross-origin isolated.
 * @returns The state, `idle`.
 *
 * @example Nothing done yet
 * ```ts
 * import { idleState } from "./demo_state.ts";
 * import { defaultSettings } from "./settings.ts";
 * import { equal } from "node:assert/strict";
 *
 * const state = idleState(defaultSettings(2), false);
 * equal(state.status, "idle");
 * equal(state.losses.length, 0);
 * ```
 */
export function idleState(
  settings: DemoSettings,
  isolated: boolean,
): DemoState {
  return {
    status: "idle",
    phase: "Ready",
    settings,
    steps: 0,
    losses: [],
    trainAccuracies: [],
    testAccuracies: [],
    testLosses: [],
    testSteps: [],
    jumpout: [],
    crossOriginIsolated: isolated,
    predictions: [],
    stopped: false,
    elapsedMs: 0,
  };
}
