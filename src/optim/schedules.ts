/**
 * Learning-rate schedules: pure functions from the step number to a rate.
 *
 * @module
 */

/**
 * A learning rate per optimiser step. `step` counts the updates already made:
 * the first update uses `schedule(0)`.
 */
export type Schedule = (step: number) => number;

/** Options of {@linkcode stepSchedule}. */
export interface StepScheduleOptions {
  /** The rate of the first `stepSize` steps; finite, > 0. */
  lr: number;
  /** How many steps each rate lasts; an integer >= 1. */
  stepSize: number;
  /** The factor applied every `stepSize` steps; in (0, 1]. Default 0.1. */
  gamma?: number;
}

/** Options of {@linkcode cosineSchedule}. */
export interface CosineScheduleOptions {
  /** The peak rate, reached at the end of the warmup; finite, > 0. */
  lr: number;
  /** The step at which the rate reaches `minLr`; an integer >= 1. */
  totalSteps: number;
  /** The final rate, in [0, lr]. Default 0. */
  minLr?: number;
  /** Steps of linear warmup, in [0, totalSteps]. Default 0. */
  warmupSteps?: number;
}

/**
 * The same rate at every step.
 *
 * @param lr The rate; finite, > 0.
 * @returns The schedule.
 * @throws {RangeError} When `lr` is not a finite number > 0.
 *
 * @example A constant rate
 * ```ts
 * import { constantSchedule } from "./schedules.ts";
 * import { equal } from "node:assert/strict";
 *
 * const schedule = constantSchedule(0.01);
 * equal(schedule(0), 0.01);
 * equal(schedule(1000), 0.01);
 * ```
 */
export function constantSchedule(lr: number): Schedule {
  checkLr(lr, "constantSchedule");
  return () => lr;
}

/**
 * Step decay: `lr · gamma^floor(step / stepSize)`.
 *
 * @param options The rate, the period and the factor.
 * @returns The schedule.
 * @throws {RangeError} When an option is out of range.
 *
 * @example Divide the rate by 10 every 30 steps
 * ```ts
 * import { stepSchedule } from "./schedules.ts";
 * import { equal } from "node:assert/strict";
 *
 * const schedule = stepSchedule({ lr: 0.1, stepSize: 30, gamma: 0.1 });
 * equal(schedule(29), 0.1);
 * equal(schedule(30), 0.1 * 0.1);
 * ```
 */
export function stepSchedule(options: StepScheduleOptions): Schedule {
  const what = "stepSchedule";
  checkOptions(options, what);
  const { lr, stepSize, gamma = 0.1 } = options;
  checkLr(lr, what);
  if (!Number.isSafeInteger(stepSize) || stepSize < 1) {
    fail(what, `stepSize must be an integer >= 1, got ${stepSize}`);
  }
  if (!(Number.isFinite(gamma) && gamma > 0 && gamma <= 1)) {
    fail(what, `gamma must be in (0, 1], got ${gamma}`);
  }
  return (step) => lr * gamma ** Math.floor(checkStep(step) / stepSize);
}

/**
 * Linear warmup, then a half cosine down to `minLr`, held there after
 * `totalSteps`. During warmup step `s` uses `lr · (s + 1) / warmupSteps`, so
 * the first update already moves; from `warmupSteps` on, with
 * `t = (step - warmupSteps) / (totalSteps - warmupSteps)`:
 * `minLr + (lr - minLr) · (1 + cos(π t)) / 2`.
 *
 * @param options The peak rate, the length, the final rate and the warmup.
 * @returns The schedule.
 * @throws {RangeError} When an option is out of range.
 *
 * @example Ten warmup steps, then cosine to 0 at step 110
 * ```ts
 * import { cosineSchedule } from "./schedules.ts";
 * import { equal } from "node:assert/strict";
 *
 * const schedule = cosineSchedule({ lr: 0.1, totalSteps: 110, warmupSteps: 10 });
 * equal(schedule(4), 0.05);
 * equal(schedule(10), 0.1);
 * equal(schedule(60), 0.05);
 * equal(schedule(500), 0);
 * ```
 */
export function cosineSchedule(options: CosineScheduleOptions): Schedule {
  const what = "cosineSchedule";
  checkOptions(options, what);
  const { lr, totalSteps, minLr = 0, warmupSteps = 0 } = options;
  checkLr(lr, what);
  if (!Number.isSafeInteger(totalSteps) || totalSteps < 1) {
    fail(what, `totalSteps must be an integer >= 1, got ${totalSteps}`);
  }
  if (!(Number.isFinite(minLr) && minLr >= 0 && minLr <= lr)) {
    fail(what, `minLr must be in [0, lr] = [0, ${lr}], got ${minLr}`);
  }
  if (
    !Number.isSafeInteger(warmupSteps) || warmupSteps < 0 ||
    warmupSteps > totalSteps
  ) {
    fail(
      what,
      `warmupSteps must be an integer in [0, totalSteps] = [0, ${totalSteps}], got ${warmupSteps}`,
    );
  }
  const decaySteps = totalSteps - warmupSteps;
  return (step) => {
    checkStep(step);
    if (step < warmupSteps) return lr * (step + 1) / warmupSteps;
    if (step >= totalSteps) return minLr;
    const t = (step - warmupSteps) / decaySteps;
    return minLr + (lr - minLr) * (1 + Math.cos(Math.PI * t)) / 2;
  };
}

function checkOptions(options: unknown, what: string): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot create ${what}: options must be an object, got ${
        String(options)
      }`,
    );
  }
}

function checkLr(lr: number, what: string): void {
  if (!(Number.isFinite(lr) && lr > 0)) {
    fail(what, `lr must be a finite number > 0, got ${lr}`);
  }
}

function checkStep(step: number): number {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new RangeError(
      `Cannot compute a learning rate: step must be an integer >= 0, got ${step}`,
    );
  }
  return step;
}

function fail(what: string, detail: string): never {
  throw new RangeError(`Cannot create ${what}: ${detail}`);
}
