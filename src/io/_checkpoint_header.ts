/**
 * The metadata a checkpoint carries, read and checked without touching its
 * tensors.
 *
 * @module
 */

import { readSafetensorsLayout } from "./_safetensors_header.ts";
import { SAFETENSORS_MAX_HEADER_BYTES } from "./safetensors.ts";

/** Prefix of the optimiser's tensors in a checkpoint. */
export const OPTIMIZER_PREFIX = "optimizer.";

/** The metadata key that marks a checkpoint and its format version. */
export const METADATA_FORMAT = "jumpout.checkpoint";

/** What a checkpoint's metadata says. */
export interface CheckpointHeader {
  /** Training steps done. */
  step: number;
  /** The optimiser's step count. */
  optimizerStep: number;
  /** Each Jumpout and Dropout layer's mask-stream counter, by layer index. */
  maskSteps: Record<string, number>;
  /** Every metadata pair, those above included. */
  metadata: Record<string, string>;
}

/**
 * Reads a checkpoint's metadata.
 *
 * @param bytes The file.
 * @returns Its header.
 * @throws {RangeError | SyntaxError | TypeError} When the file is not a
 *   safetensors file or lacks a checkpoint's metadata.
 *
 * @example Not every safetensors file is a checkpoint
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { readCheckpointHeader } from "./_checkpoint_header.ts";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => readCheckpointHeader(encodeSafetensors(new Map())), /not a checkpoint/);
 * ```
 */
export function readCheckpointHeader(bytes: Uint8Array): CheckpointHeader {
  const what = "read a checkpoint";
  const { metadata } = readSafetensorsLayout(
    bytes,
    SAFETENSORS_MAX_HEADER_BYTES,
  );
  if (metadata[METADATA_FORMAT] !== "1") {
    throw new RangeError(
      `Cannot ${what}: the file is not a checkpoint of this library (format 1), got metadata ${METADATA_FORMAT} = ${
        JSON.stringify(metadata[METADATA_FORMAT] ?? null)
      }`,
    );
  }
  const count = (key: string): number => {
    const value = Number(metadata[key]);
    if (
      !/^(0|[1-9][0-9]*)$/.test(metadata[key] ?? "") ||
      !Number.isSafeInteger(value)
    ) {
      throw new RangeError(
        `Cannot ${what}: ${key} must be an integer >= 0, got ${
          JSON.stringify(metadata[key] ?? null)
        }`,
      );
    }
    return value;
  };
  let steps: unknown;
  try {
    steps = JSON.parse(metadata["jumpout.maskSteps"] ?? "null");
  } catch {
    steps = undefined;
  }
  const ok = steps !== null && typeof steps === "object" &&
    !Array.isArray(steps) &&
    Object.entries(steps as object).every(([k, v]) =>
      LAYER_PATH.test(k) && Number.isSafeInteger(v) && v >= 0
    );
  if (!ok) {
    throw new RangeError(
      `Cannot ${what}: jumpout.maskSteps must be a JSON object of layer path to step, got ${
        JSON.stringify(metadata["jumpout.maskSteps"] ?? null)
      }`,
    );
  }
  return {
    step: count("jumpout.step"),
    optimizerStep: count("jumpout.optimizerStep"),
    maskSteps: steps as Record<string, number>,
    metadata,
  };
}

/** A layer's path in a model: `"3"`, or `"3.body.4"` inside a block. */
const LAYER_PATH = /^(0|[1-9][0-9]*)(\.[a-z_]+\.(0|[1-9][0-9]*))*$/;
