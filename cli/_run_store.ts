/**
 * One file per finished training run, so that a long experiment survives
 * being stopped: a run's result is written (atomically) as soon as it ends,
 * and a later sitting finds it by its spec instead of training again.
 *
 * A run's spec is everything that decides its numbers: the training config,
 * the data set, and any measurement taken along the way. Its file is named
 * after a readable slug and the first hex digits of the SHA-256 of the spec
 * written as canonical JSON (keys sorted), e.g.
 * `resnet20-dropout-0.1-seed1-3f2a9c01d4.json`, and found by those digits
 * alone (the readable part may change). A file is reused only when
 * its spec equals the one asked for; a file that cannot be read as a
 * finished run is refused, naming it, and never overwritten.
 *
 * @module
 */

import { writeFileAtomic } from "../mod.ts";
import type { FitResult } from "./_fit.ts";

/** The format tag of a run file. */
export const RUN_FORMAT = "jumpout-run/1";

/** What decides a run's numbers. */
export interface RunSpec {
  /** The training config (see `FitConfig`). */
  config: FitResult["config"];
  /** Which data: `fashion-mnist <train>+<test> <label hash>`. */
  data: string;
  /** Measurements taken during the run (e.g. drift), with their settings. */
  measure?: Record<string, unknown>;
}

/** A finished run as its file holds it. */
export interface RunRecord {
  format: typeof RUN_FORMAT;
  /** For people: model, regulariser and seed. */
  name: string;
  /** Hex SHA-256 of the canonical spec. */
  key: string;
  spec: RunSpec;
  /** The library's version that trained it. */
  library: string;
  /** Where it ran: the backend, the workers, and the GPU adapter's name on webgpu. */
  ran: { backend: string; workers: number | "default"; adapter?: string };
  /** When the run ended (ISO 8601). */
  finished: string;
  result: FitResult;
  /** What `spec.measure` asked for, measured. */
  measured?: Record<string, unknown>;
}

/** A run file that exists but cannot be used. */
export class RunFileError extends Error {
  /** The file. */
  readonly path: string;

  /**
   * @param path The file.
   * @param why What is wrong with it.
   */
  constructor(path: string, why: string) {
    super(
      `Cannot reuse the run file ${path}: ${why}. Delete it to train that run again.`,
    );
    this.name = "RunFileError";
    this.path = path;
  }
}

/**
 * JSON with object keys sorted at every level, so equal values give equal
 * text.
 *
 * @param value A JSON value.
 * @returns Its canonical text.
 *
 * @example Key order does not matter
 * ```ts
 * import { canonicalJson } from "./_run_store.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
          Object.keys(v).sort().map((
            k,
          ) => [k, (v as Record<string, unknown>)[k]]),
        )
        : v,
  );
}

/**
 * The hex SHA-256 of a spec's canonical JSON.
 *
 * @param spec The spec.
 * @returns 64 hex digits.
 */
export async function specKey(spec: RunSpec): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(spec));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A file-name slug: lower case, runs of other characters as one `-`.
 *
 * @param name E.g. `resnet20 dropout(0.1) seed 1`.
 * @returns E.g. `resnet20-dropout-0.1-seed-1`.
 *
 * @example
 * ```ts
 * import { slug } from "./_run_store.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(slug("resnet20 jumpout(σ=0.05) seed 1"), "resnet20-jumpout-0.05-seed-1");
 * ```
 */
export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.]+/g, "-").replace(
    /^-+|-+$/g,
    "",
  );
}

/**
 * The run files of an output folder, read from it and from any number of
 * read-only folders (e.g. the committed `results/runs/`), written to it.
 */
export class RunStore {
  /** Where new runs are written. */
  readonly dir: string;
  /** Where runs are also looked up, after `dir`. */
  readonly readOnly: readonly string[];

  /**
   * @param dir Where new runs are written (made when the first is).
   * @param readOnly More folders to look in, never written.
   */
  constructor(dir: string, readOnly: readonly string[] = []) {
    this.dir = dir;
    this.readOnly = readOnly.filter((d) => d !== dir);
  }

  /**
   * The finished run of `spec`, if a folder has it.
   *
   * @param spec What decides its numbers.
   * @returns The record, or undefined when no folder has it.
   * @throws {RunFileError} When its file exists but is not a finished run
   *   of this spec.
   */
  async get(spec: RunSpec): Promise<RunRecord | undefined> {
    const key = await specKey(spec);
    // Found by the key alone: a run's readable name may change.
    const suffix = `-${key.slice(0, KEY_DIGITS)}.json`;
    for (const dir of [this.dir, ...this.readOnly]) {
      let file: string | undefined;
      try {
        for (const entry of Deno.readDirSync(dir)) {
          if (entry.isFile && entry.name.endsWith(suffix)) file = entry.name;
        }
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      if (file === undefined) continue;
      const path = `${dir}/${file}`;
      return parseRecord(path, await Deno.readTextFile(path), key, spec);
    }
    return undefined;
  }

  /**
   * Writes a finished run's file atomically.
   *
   * @param record The run.
   * @returns The file's path.
   */
  async put(record: RunRecord): Promise<string> {
    await Deno.mkdir(this.dir, { recursive: true });
    const path = `${this.dir}/${fileName(record.name, record.key)}`;
    await writeFileAtomic(
      path,
      new TextEncoder().encode(JSON.stringify(record, null, 1) + "\n"),
    );
    return path;
  }
}

/** Hex digits of the key in a run file's name. */
const KEY_DIGITS = 10;

/** `<slug>-<first 10 hex digits of the key>.json`. */
function fileName(name: string, key: string): string {
  return `${slug(name)}-${key.slice(0, KEY_DIGITS)}.json`;
}

/** A record from its file's text, checked against the spec asked for. */
function parseRecord(
  path: string,
  text: string,
  key: string,
  spec: RunSpec,
): RunRecord {
  let record: RunRecord;
  try {
    record = JSON.parse(text);
  } catch (error) {
    throw new RunFileError(
      path,
      `it is not valid JSON (${(error as Error).message})`,
    );
  }
  if (record === null || typeof record !== "object") {
    throw new RunFileError(path, "it is not a JSON object");
  }
  if (record.format !== RUN_FORMAT) {
    throw new RunFileError(
      path,
      `format must be ${RUN_FORMAT}, got ${String(record.format)}`,
    );
  }
  if (
    record.key !== key || canonicalJson(record.spec) !== canonicalJson(spec)
  ) {
    throw new RunFileError(path, "its spec differs from the run asked for");
  }
  const epochs = record.result?.epochs;
  const wanted = spec.config.epochs;
  if (!Array.isArray(epochs) || epochs.length !== wanted) {
    throw new RunFileError(
      path,
      `it must hold ${wanted} epochs, got ${
        Array.isArray(epochs) ? epochs.length : "none"
      }`,
    );
  }
  if (record.result.interrupted !== false) {
    throw new RunFileError(path, "the run was interrupted");
  }
  // JSON has no NaN: epochs that were not evaluated come back as null.
  for (const e of epochs) {
    for (const field of ["evalLoss", "evalAccuracy"] as const) {
      if (e[field] === null) e[field] = NaN;
      if (typeof e[field] !== "number") {
        throw new RunFileError(
          path,
          `epoch ${e.epoch} has no number for ${field}`,
        );
      }
    }
  }
  return record;
}
