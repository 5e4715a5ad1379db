/**
 * What `deno task train --resume` finds in its output folder: the last
 * complete epoch's checkpoint, checked to be of the same run, and the
 * figures of the epochs before it.
 *
 * @module
 */

import { checkpointHistory, readCheckpointHeader } from "../mod.ts";
import type { EpochRecord } from "./_fit.ts";
import { UsageError } from "./_exit_on_error.ts";

/** A run to go on with. */
export interface Resumed {
  /** The checkpoint. */
  bytes: Uint8Array;
  /** The figures of its epochs, from the results file (or the checkpoint). */
  epochs: EpochRecord[];
  /** When the run first started, if the results file says. */
  started?: string;
}

/**
 * The run in `out` to go on with, if any.
 *
 * @param out The output folder.
 * @param identity The metadata pairs that name this run (its settings and
 *   data): the checkpoint's must be equal.
 * @returns The checkpoint and its epochs, or undefined when `out` holds no
 *   checkpoint yet.
 * @throws {UsageError} When the checkpoint is of another run; the message
 *   names what differs.
 */
export async function findResumed(
  out: string,
  identity: Record<string, string>,
): Promise<Resumed | undefined> {
  const path = `${out}/checkpoint.safetensors`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const { metadata } = readCheckpointHeader(bytes);
  for (const [key, value] of Object.entries(identity)) {
    if (metadata[key] !== value) {
      throw new UsageError(
        `Cannot train: --resume needs the options and data of the run in ${out}, got ${
          difference(value, metadata[key])
        }`,
      );
    }
  }
  const { epoch, history } = checkpointHistory(bytes);
  let saved: { started?: string; epochs?: EpochRecord[] } = {};
  try {
    saved = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  } catch {
    // Killed before its first results: the checkpoint has the figures.
  }
  const epochs = epoch.map((e, i): EpochRecord =>
    saved.epochs?.find((r) => r.epoch === e) ?? {
      epoch: e,
      trainLoss: history.loss[i],
      trainAccuracy: history.accuracy[i],
      evalLoss: history.valLoss?.[i] ?? NaN,
      evalAccuracy: history.valAccuracy?.[i] ?? NaN,
      seconds: NaN,
      samplesPerSec: NaN,
    }
  );
  return { bytes, epochs, started: saved.started };
}

/** `epochs 5 where the run has 10`, from the two JSON objects. */
function difference(here: string, there: string | undefined): string {
  const parse = (text: string | undefined) => {
    try {
      return JSON.parse(text ?? "null");
    } catch {
      return text;
    }
  };
  const a = parse(here);
  const b = parse(there);
  if (
    a === null || typeof a !== "object" || b === null || typeof b !== "object"
  ) {
    return `${here} where the run has ${there ?? "none"}`;
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const key = keys.find((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  const show = (v: unknown) => v === undefined ? "none" : JSON.stringify(v);
  return `${key} ${show(a[key!])} where the run has ${show(b[key!])}`;
}
