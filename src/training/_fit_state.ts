/**
 * Where a `fit` stands, kept in the metadata of the checkpoints it writes so
 * that a later `fit` goes on from there: epochs done, steps per epoch, the
 * shuffle's seed and the history so far.
 *
 * @module
 */

import { readCheckpointHeader } from "../io/checkpoint.ts";
import type { HistoryValues } from "./history.ts";

/** The metadata names `fit` writes. */
const EPOCH = "fit.epoch";
const STEPS = "fit.stepsPerEpoch";
const SEED = "fit.shuffleSeed";
const HISTORY = "fit.history";

/** What a checkpoint of `fit` says of the run. */
export interface FitState {
  /** Epochs done. */
  epoch: number;
  /** Training steps per epoch. */
  stepsPerEpoch: number;
  /** The shuffle's seed, or null when the rows were not shuffled. */
  shuffleSeed: number | null;
  /** Each epoch's figures. */
  history: HistoryValues;
}

/**
 * The metadata of a checkpoint at the end of an epoch.
 *
 * @param state Where the run stands.
 * @returns String pairs for the checkpoint.
 */
export function fitMetadata(state: FitState): Record<string, string> {
  // JSON has no NaN: an epoch not validated is written null.
  return {
    [EPOCH]: String(state.epoch),
    [STEPS]: String(state.stepsPerEpoch),
    [SEED]: String(state.shuffleSeed),
    [HISTORY]: JSON.stringify(state.history),
  };
}

/**
 * Reads where a run stands from a checkpoint that `fit` wrote.
 *
 * @param what What the caller is doing, for messages.
 * @param bytes The checkpoint.
 * @returns Its state.
 * @throws {RangeError} When the file is not a checkpoint of `fit`.
 */
export function readFitState(what: string, bytes: Uint8Array): FitState {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot ${what}: resume must be the bytes of a checkpoint (Uint8Array), got ${typeof bytes}`,
    );
  }
  const { metadata } = readCheckpointHeader(bytes);
  const count = (key: string) => {
    const text = metadata[key] ?? "";
    if (!/^(0|[1-9][0-9]*)$/.test(text)) {
      throw new RangeError(
        `Cannot ${what}: resume must be a checkpoint written by fit, with ${key} an integer >= 0, got ${
          JSON.stringify(metadata[key] ?? null)
        }`,
      );
    }
    return Number(text);
  };
  const epoch = count(EPOCH);
  const stepsPerEpoch = count(STEPS);
  const shuffleSeed = metadata[SEED] === "null" ? null : count(SEED);
  let history: HistoryValues | undefined;
  try {
    history = JSON.parse(metadata[HISTORY] ?? "null", (_k, v) => v ?? NaN);
  } catch {
    history = undefined;
  }
  const columns = history && Object.values(history);
  if (
    !columns || !Array.isArray(history!.loss) ||
    !columns.every((c) =>
      Array.isArray(c) && c.length === epoch &&
      c.every((v) => typeof v === "number")
    )
  ) {
    throw new RangeError(
      `Cannot ${what}: resume must be a checkpoint written by fit, with ${HISTORY} a JSON object of ${epoch} numbers per figure, got ${
        JSON.stringify(metadata[HISTORY] ?? null)
      }`,
    );
  }
  return { epoch, stepsPerEpoch, shuffleSeed, history: history! };
}
