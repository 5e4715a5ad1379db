/**
 * `deno task bench:kernels [--json] [--backend NAME[,NAME]] [--sizes 20,24]
 * [--samples K] [--yardstick]`: median time of Jumpout's and Dropout's forward
 * and backward on each backend, TensorFlow.js's wasm `tf.dropout` and
 * (with `--yardstick`) the C program, all in one run, then their ratios.
 *
 * With `--json`, one JSON object per line: rows
 * `{"kernel", "backend", "n", "medianMs"}`, then ratios `{"ratio", "n", "value"}`.
 * Backends: `reference`, `wasm`, `webgpu` (rows name the adapter, and say
 * `"fallback": true` on a software one such as llvmpipe, whose times say
 * nothing about a GPU), `tfjs-wasm`; all by default. Sizes are powers of two.
 * A backend that fails is reported on stderr and skipped.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BackendName, createBackend } from "../mod.ts";
import {
  DROPOUT_RATE,
  type KernelCase,
  type KernelId,
  KERNELS,
  medianTimes,
  prepareKernel,
  reluLike,
} from "./_kernels.ts";
import { runYardstick } from "./_yardstick.ts";
import { exitOnError } from "../cli/_exit_on_error.ts";

exitOnError("benchmark the kernels");

/** One timed kernel. */
interface Row {
  kernel: KernelId;
  backend: string;
  n: number;
  medianMs: number;
  /** The GPU adapter, on webgpu rows. */
  adapter?: string;
  /** Whether that adapter is a software fallback. */
  fallback?: boolean;
}

/** A ratio of two rows at the same size. */
interface Ratio {
  ratio: string;
  n: number;
  value: number;
}

const BACKENDS = ["reference", "wasm", "webgpu", "tfjs-wasm"];
const USAGE =
  "Usage: deno task bench:kernels [--json] [--backend NAME[,NAME]] [--sizes 20,24] [--samples K] [--yardstick] [--debug]";

/** Ratios to report: name, numerator and denominator as backend/kernel. */
const RATIOS: [string, string, string][] = [
  ["wasm_jumpout_forward_vs_c", "wasm/jumpout_forward", "c-O3/jumpout_forward"],
  ["wasm_dropout_forward_vs_c", "wasm/dropout_forward", "c-O3/dropout_forward"],
  [
    "wasm_jumpout_vs_dropout_forward",
    "wasm/jumpout_forward",
    "wasm/dropout_forward",
  ],
  [
    "wasm_jumpout_vs_dropout_backward",
    "wasm/jumpout_backward",
    "wasm/dropout_backward",
  ],
  [
    "tfjs_dropout_forward_vs_wasm_jumpout_forward",
    "tfjs-wasm/dropout_forward",
    "wasm/jumpout_forward",
  ],
];

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

function parseOptions(args: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        json: { type: "boolean", default: false },
        backend: { type: "string", multiple: true },
        sizes: { type: "string", default: "20,24" },
        samples: { type: "string", default: "9" },
        yardstick: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        debug: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    fail(`Cannot parse the arguments: ${(e as Error).message}`);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const backends = values.backend?.flatMap((b) => b.split(",")) ?? BACKENDS;
  for (const b of backends) {
    if (!BACKENDS.includes(b)) {
      fail(
        `Cannot run the benchmark: --backend must be one of ${
          BACKENDS.join(", ")
        }, got ${b}`,
      );
    }
  }
  const sizes = values.sizes.split(",").map(Number);
  if (!values.sizes.split(",").every((e) => /^\d+$/.test(e) && +e <= 28)) {
    fail(
      `Cannot run the benchmark: --sizes must be exponents in 0..28, got ${values.sizes}`,
    );
  }
  const samples = Number(values.samples);
  if (!Number.isInteger(samples) || samples < 1) {
    fail(
      `Cannot run the benchmark: --samples must be a positive integer, got ${values.samples}`,
    );
  }
  return {
    json: values.json,
    backends,
    sizes: sizes.map((e) => 2 ** e),
    samples,
    yardstick: values.yardstick,
  };
}

const opts = parseOptions(Deno.args);
const rows: Row[] = [];

function emit(row: Row): void {
  row.medianMs = Number(row.medianMs.toPrecision(4));
  rows.push(row);
  if (opts.json) console.log(JSON.stringify(row));
}

/** Times the kernels side by side at each size, releasing them afterwards. */
async function timeKernels(
  backend: string,
  kernels: readonly KernelId[],
  prepare: (kernel: KernelId, n: number) => KernelCase | Promise<KernelCase>,
  extra: Partial<Row> = {},
): Promise<void> {
  for (const n of opts.sizes) {
    // The plain-TypeScript reference is slow: fewer samples at large sizes.
    const slow = backend === "reference" && n > 2 ** 20;
    const cases: KernelCase[] = [];
    try {
      for (const kernel of kernels) cases.push(await prepare(kernel, n));
      const ms = await medianTimes(cases, {
        reps: Math.max(1, Math.round(2 ** 24 / n)),
        samples: slow ? Math.min(opts.samples, 3) : opts.samples,
        warmup: slow ? 1 : 2,
      });
      kernels.forEach((kernel, i) =>
        emit({ kernel, backend, n, medianMs: ms[i], ...extra })
      );
    } finally {
      for (const c of cases) c.dispose();
    }
  }
}

/** The adapter's description and whether it is a software one, for webgpu rows. */
async function adapterInfo(): Promise<Partial<Row>> {
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  if (!adapter) return {};
  const { description, vendor, isFallbackAdapter } = adapter.info;
  return {
    adapter: description || vendor || "unknown",
    fallback: isFallbackAdapter,
  };
}

for (const name of opts.backends) {
  try {
    if (name === "tfjs-wasm") {
      const { prepareTfjsDropout } = await import("./_tfjs.ts");
      await timeKernels(
        name,
        ["dropout_forward"],
        (_, n) => prepareTfjsDropout(reluLike(n), DROPOUT_RATE),
      );
      continue;
    }
    const backend = await createBackend(name as BackendName);
    try {
      await timeKernels(
        name,
        KERNELS,
        (kernel, n) => prepareKernel(backend, kernel, n),
        name === "webgpu" ? await adapterInfo() : {},
      );
    } finally {
      backend.dispose();
    }
  } catch (e) {
    console.error(`${name}: skipped, ${(e as Error).message}`);
  }
}

if (opts.yardstick) {
  try {
    for (const row of await runYardstick(opts.sizes, opts.samples)) {
      emit({
        kernel: row.kernel,
        backend: "c-O3",
        n: row.n,
        medianMs: row.medianMs,
      });
    }
  } catch (e) {
    console.error(`c-O3: skipped, ${(e as Error).message}`);
  }
}

const find = (key: string, n: number) =>
  rows.find((r) => `${r.backend}/${r.kernel}` === key && r.n === n)?.medianMs;
const ratios: Ratio[] = [];
for (const n of opts.sizes) {
  for (const [ratio, top, bottom] of RATIOS) {
    const [a, b] = [find(top, n), find(bottom, n)];
    if (a !== undefined && b) {
      ratios.push({ ratio, n, value: Math.round((a / b) * 1000) / 1000 });
    }
  }
}

if (opts.json) {
  for (const r of ratios) console.log(JSON.stringify(r));
} else {
  const line = (cells: (string | number)[], widths: number[]) =>
    cells.map((c, i) => String(c)[i < 2 ? "padEnd" : "padStart"](widths[i]))
      .join("  ");
  const widths = [10, 17, 9, 11, 8];
  console.log(line(["backend", "kernel", "n", "median ms", "ns/elem"], widths));
  for (const r of rows) {
    const ns = ((r.medianMs * 1e6) / r.n).toFixed(2);
    console.log(
      line([r.backend, r.kernel, r.n, r.medianMs, ns], widths),
    );
  }
  if (ratios.length) {
    console.log(`\n${"ratio".padEnd(44)}  ${"n".padStart(9)}  value`);
  }
  for (const r of ratios) {
    console.log(
      `${r.ratio.padEnd(44)}  ${String(r.n).padStart(9)}  ${
        r.value.toFixed(3)
      }`,
    );
  }
}
