/**
 * The C yardstick (`../shared/bench/jumpout_ref.c` from the repository root):
 * compiled to a temporary folder and run single-threaded, so the kernels are
 * compared with it in the same run.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { KernelId } from "./_kernels.ts";

/** The C program's source, relative to this file. */
const SOURCE = new URL("../../shared/bench/jumpout_ref.c", import.meta.url);

/** The C rows that stand for each kernel. */
const ROWS: Record<string, KernelId> = {
  jumpout_fwd_hash: "jumpout_forward",
  dropout_fwd_hash: "dropout_forward",
};

/** One `ms median` figure of the C program. */
export interface YardstickRow {
  /** The kernel the C row stands for. */
  kernel: KernelId;
  /** Element count. */
  n: number;
  /** Median time of one call, in milliseconds. */
  medianMs: number;
}

/**
 * Compiles the C program with `gcc -O3 -march=native -fopenmp` and runs it with
 * `OMP_NUM_THREADS=1` once per size.
 *
 * @param sizes Element counts.
 * @param samples Samples per figure (the program's second argument).
 * @returns The `jumpout_fwd_hash` and `dropout_fwd_hash` medians per size.
 * @throws {Error} When the source or gcc is missing, or a step fails.
 *
 * @example Run the yardstick at 2^20 elements
 * ```ts ignore
 * import { runYardstick } from "./_yardstick.ts";
 *
 * console.log(await runYardstick([2 ** 20], 5));
 * ```
 */
export async function runYardstick(
  sizes: readonly number[],
  samples: number,
): Promise<YardstickRow[]> {
  const source = fileURLToPath(SOURCE);
  await Deno.stat(source).catch(() => {
    throw new Error(
      `Cannot run the C yardstick: source not found, got no file at ${source}`,
    );
  });
  const dir = await Deno.makeTempDir({ prefix: "jumpout_ref_" });
  try {
    const exe = `${dir}/jumpout_ref`;
    await exec("gcc", [
      "-O3",
      "-march=native",
      "-fopenmp",
      source,
      "-o",
      exe,
      "-lm",
    ]);
    const rows: YardstickRow[] = [];
    for (const n of sizes) {
      const out = await exec(exe, [String(n), String(samples)], {
        OMP_NUM_THREADS: "1",
      });
      for (const [, name, size, ms] of out.matchAll(LINE)) {
        rows.push({
          kernel: ROWS[name],
          n: Number(size),
          medianMs: Number(ms),
        });
      }
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `C jumpout_fwd_hash   omp1 n= 16777216  ms   median  21.0 ...` */
const LINE =
  /^C (jumpout_fwd_hash|dropout_fwd_hash)\s+omp\d+ n=\s*(\d+)\s+ms\s+median\s+([\d.]+)/gm;

/** Runs a program and returns its stdout; throws with its stderr on failure. */
async function exec(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<string> {
  const run = new Deno.Command(cmd, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  });
  const out = await run.output().catch((e: Error) => {
    throw new Error(
      `Cannot run the C yardstick: ${cmd} failed to start, got ${e.message}`,
    );
  });
  if (!out.success) {
    throw new Error(
      `Cannot run the C yardstick: ${cmd} exited with ${out.code}, got ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}
