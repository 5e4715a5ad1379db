/**
 * Early stopping's bookkeeping: the best figure so far and the epochs since.
 *
 * @module
 */

import type { EarlyStoppingOptions, Monitor } from "./fit_options.ts";

/** Checked early-stopping options. */
export interface EarlyStoppingRule {
  monitor: Monitor;
  patience: number;
  minDelta: number;
  restoreBest: boolean;
}

/** What an epoch's figure means for the run. */
export type Verdict = "improved" | "waiting" | "stop";

/**
 * Tracks the monitored figure epoch after epoch. Epochs without the figure
 * (not validated) are passed over.
 */
export class EarlyStopping {
  readonly rule: EarlyStoppingRule;
  /** The best epoch so far. */
  bestEpoch: number | undefined;
  #best = NaN;
  #wait = 0;

  /** @param rule The checked options. */
  constructor(rule: EarlyStoppingRule) {
    this.rule = rule;
  }

  /**
   * Takes one epoch's figure.
   *
   * @param epoch The epoch.
   * @param value Its monitored figure (NaN when not measured).
   * @returns Whether it improved, the run waits, or should stop.
   */
  update(epoch: number, value: number): Verdict {
    if (Number.isNaN(value)) return "waiting";
    const sign = this.rule.monitor.endsWith("ccuracy") ? 1 : -1;
    if (
      this.bestEpoch === undefined ||
      sign * (value - this.#best) > this.rule.minDelta
    ) {
      this.#best = value;
      this.bestEpoch = epoch;
      this.#wait = 0;
      return "improved";
    }
    this.#wait++;
    return this.#wait >= Math.max(1, this.rule.patience) ? "stop" : "waiting";
  }
}

/**
 * Checks early stopping's options.
 *
 * @param what What the caller is doing, for messages.
 * @param options As given.
 * @param validation Whether the run validates.
 * @returns The rule.
 */
export function checkEarlyStopping(
  what: string,
  options: EarlyStoppingOptions,
  validation: boolean,
): EarlyStoppingRule {
  const name = "earlyStopping";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${what}: ${name} must be an object, got ${String(options)}`,
    );
  }
  const {
    monitor = validation ? "valLoss" : "loss",
    patience = 0,
    minDelta = 0,
    restoreBest = false,
  } = options;
  const monitors = ["loss", "accuracy", "valLoss", "valAccuracy"];
  if (!monitors.includes(monitor)) {
    throw new RangeError(
      `Cannot ${what}: ${name}.monitor must be loss, accuracy, valLoss or valAccuracy, got ${
        String(monitor)
      }`,
    );
  }
  if (monitor.startsWith("val") && !validation) {
    throw new RangeError(
      `Cannot ${what}: ${name}.monitor ${monitor} needs validationSplit or validationData, got neither`,
    );
  }
  if (!Number.isSafeInteger(patience) || patience < 0) {
    throw new RangeError(
      `Cannot ${what}: ${name}.patience must be an integer >= 0, got ${patience}`,
    );
  }
  if (!(Number.isFinite(minDelta) && minDelta >= 0)) {
    throw new RangeError(
      `Cannot ${what}: ${name}.minDelta must be a finite number >= 0, got ${minDelta}`,
    );
  }
  if (typeof restoreBest !== "boolean") {
    throw new TypeError(
      `Cannot ${what}: ${name}.restoreBest must be a boolean, got ${
        String(restoreBest)
      }`,
    );
  }
  return { monitor, patience, minDelta, restoreBest };
}
