/**
 * `deno run -A bench/matmul.ts [--json] [--impls wasm,tfjs-wasm]
 * [--shapes square|training|all] [--shape m,n,k[,transA,transB]] [--samples K]`:
 * the median GFLOP/s (`2·m·n·k` per product) of this library's wasm `matmul`
 * (through `createBackend("wasm")` and `backend.run`) and of TensorFlow.js's
 * `tf.matMul` on its single-threaded SIMD wasm backend (XNNPACK), on the same
 * shapes in the same run. In each round every implementation takes one sample
 * in turn, so slow spells of a shared machine hit them alike.
 *
 * Shapes: `square` is 1024³ plain and with each transpose; `training` the
 * products of the benchmark networks (batch 128) in the forward pass, for the
 * weight gradient (`xᵀ · dy`, transA) and for the input gradient (`dy · Wᵀ`,
 * transB); `all` (the default) both. `--shape` (repeatable) replaces them.
 *
 * With `--json`, one JSON object per line:
 * `{"kernel": "matmul", "impl", "m", "n", "k", "transA", "transB", "gflops", "medianMs"}`.
 * Otherwise a table with the ratio of wasm to tfjs-wasm. When an
 * implementation fails, the error is reported on stderr and no rows follow.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Backend, createBackend, type Tensor } from "../mod.ts";
import { type KernelCase, medianTimes, reluLike } from "./_kernels.ts";
import { exitOnError } from "../cli/_exit_on_error.ts";

/** One product: `c[m × n] = op(a) · op(b)` with `k` shared. */
export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

/** The implementations timed: ours, and TensorFlow.js's. */
export const MATMUL_IMPLS = ["wasm", "tfjs-wasm"] as const;
/** One of {@linkcode MATMUL_IMPLS}. */
export type MatmulImpl = typeof MATMUL_IMPLS[number];

/** One timed product on one implementation. */
export interface MatmulRow extends MatmulShape {
  kernel: "matmul";
  impl: MatmulImpl;
  /** `2·m·n·k` over the median time, in 10^9 per second. */
  gflops: number;
  /** The median time of one product. */
  medianMs: number;
}

/** 1024³, plain and with each transpose. */
export const SQUARE_SHAPES: MatmulShape[] = [
  shape(1024, 1024, 1024),
  shape(1024, 1024, 1024, true),
  shape(1024, 1024, 1024, false, true),
];

/**
 * The products of one training step of the benchmark networks at batch 128:
 * dense layers 784→1024, 1024→1024 and 1024→10, and the two 3×3
 * convolutions over 28×28 images (1→16 and 16→32 channels, as im2col
 * products). Each appears as forward, weight gradient and input gradient.
 */
export const TRAINING_SHAPES: MatmulShape[] = [
  ...dense(128, 784, 1024),
  ...dense(128, 1024, 1024),
  ...dense(128, 1024, 10),
  ...conv(16, 9, 128 * 28 * 28),
  ...conv(32, 144, 128 * 14 * 14),
];

/** A shape, plain unless told. */
function shape(
  m: number,
  n: number,
  k: number,
  transA = false,
  transB = false,
): MatmulShape {
  return { m, n, k, transA, transB };
}

/** A dense layer's `x · W`, `xᵀ · dy` and `dy · Wᵀ`. */
function dense(batch: number, inputs: number, outputs: number): MatmulShape[] {
  return [
    shape(batch, outputs, inputs),
    shape(inputs, outputs, batch, true),
    shape(batch, inputs, outputs, false, true),
  ];
}

/** A convolution's `W · cols`, `dy · colsᵀ` and `Wᵀ · dy`. */
function conv(out: number, depth: number, positions: number): MatmulShape[] {
  return [
    shape(out, positions, depth),
    shape(out, depth, positions, false, true),
    shape(depth, positions, out, true),
  ];
}

/**
 * Times `matmul` on each shape with each implementation, interleaved: for
 * each shape, every round takes one sample of every implementation in turn.
 * A sample runs enough products for about 0.4 GFLOP (1 to 1000 of them).
 *
 * @param shapes The products to time.
 * @param options `impls` to time (both by default); `samples` rounds kept
 *   (default 7) after `warmup` dropped (default 2); `onRow` is called with
 *   each row as soon as it is measured.
 * @returns One row per shape and implementation, in that order.
 * @throws {Error} When an implementation cannot start.
 *
 * @example Time a small product on this library's wasm backend
 * ```ts
 * import { measureMatmul } from "./matmul.ts";
 * import { ok } from "node:assert/strict";
 *
 * const rows = await measureMatmul(
 *   [{ m: 8, n: 8, k: 8, transA: false, transB: true }],
 *   { impls: ["wasm"], samples: 1, warmup: 0 },
 * );
 * ok(rows.length === 1 && rows[0].gflops > 0);
 * ```
 */
export async function measureMatmul(
  shapes: readonly MatmulShape[],
  options: {
    impls?: readonly MatmulImpl[];
    samples?: number;
    warmup?: number;
    onRow?: (row: MatmulRow) => void;
  } = {},
): Promise<MatmulRow[]> {
  const impls = options.impls ?? MATMUL_IMPLS;
  const samples = options.samples ?? 7;
  const warmup = options.warmup ?? 2;
  const backend = impls.includes("wasm")
    ? await createBackend("wasm")
    : undefined;
  if (impls.includes("tfjs-wasm")) {
    await (await import("./_tfjs.ts")).initTfjsWasm();
  }
  const rows: MatmulRow[] = [];
  try {
    for (const s of shapes) {
      const flops = 2 * s.m * s.n * s.k;
      const cases: KernelCase[] = [];
      try {
        for (const impl of impls) {
          cases.push(
            impl === "wasm"
              ? prepareWasmProduct(backend!, s)
              : await prepareTfjs(s),
          );
        }
        const ms = await medianTimes(cases, {
          reps: Math.min(1000, Math.max(1, Math.round(4e8 / flops))),
          samples,
          warmup,
        });
        impls.forEach((impl, i) => {
          const row: MatmulRow = {
            kernel: "matmul",
            impl,
            ...s,
            gflops: Number((flops / ms[i] / 1e6).toPrecision(4)),
            medianMs: Number(ms[i].toPrecision(4)),
          };
          rows.push(row);
          options.onRow?.(row);
        });
      } finally {
        for (const c of cases) c.dispose();
      }
    }
  } finally {
    backend?.dispose();
  }
  return rows;
}

/** The stored sizes of `a` and `b`. */
function storedShapes(s: MatmulShape): [number[], number[]] {
  return [
    s.transA ? [s.k, s.m] : [s.m, s.k],
    s.transB ? [s.n, s.k] : [s.k, s.n],
  ];
}

/**
 * A product on this library's wasm backend, which runs at once, so `sync`
 * waits for nothing.
 *
 * @param backend A wasm backend.
 * @param s The product's shape.
 * @returns The case; `dispose` frees its three tensors.
 *
 * @example One 8³ product
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { prepareWasmProduct } from "./matmul.ts";
 *
 * const backend = await createBackend("wasm");
 * const product = prepareWasmProduct(backend, { m: 8, n: 8, k: 8, transA: false, transB: false });
 * product.run();
 * product.dispose();
 * backend.dispose();
 * ```
 */
export function prepareWasmProduct(
  backend: Backend,
  s: MatmulShape,
): KernelCase {
  const [aShape, bShape] = storedShapes(s);
  const tensors: Tensor<"float32">[] = [
    backend.tensor(reluLike(s.m * s.k, 1), aShape),
    backend.tensor(reluLike(s.k * s.n, 2), bShape),
    backend.allocate([s.m, s.n]),
  ];
  const [a, b, c] = tensors;
  return {
    run: () => backend.run("matmul", { a, b, c, ...s, accumulate: false }),
    sync: () => Promise.resolve(),
    dispose: () => tensors.forEach((t) => backend.release(t)),
  };
}

/** `tf.matMul` on TensorFlow.js's wasm backend, which runs ops at once. */
async function prepareTfjs(s: MatmulShape): Promise<KernelCase> {
  const tf = await import("@tensorflow/tfjs-core");
  const [aShape, bShape] = storedShapes(s);
  const a = tf.tensor2d(reluLike(s.m * s.k, 1), aShape as [number, number]);
  const b = tf.tensor2d(reluLike(s.k * s.n, 2), bShape as [number, number]);
  return {
    run: () => tf.matMul(a, b, s.transA, s.transB).dispose(),
    sync: () => Promise.resolve(),
    dispose: () => {
      a.dispose();
      b.dispose();
    },
  };
}

const USAGE =
  "Usage: deno run -A bench/matmul.ts [--json] [--impls wasm,tfjs-wasm] [--shapes square|training|all] [--shape m,n,k[,transA,transB]] [--samples K] [--debug]";

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

/** Reads `m,n,k[,transA,transB]` with flags as 0/1 or false/true. */
function parseShape(text: string): MatmulShape {
  const parts = text.split(",");
  const sizes = parts.slice(0, 3).map(Number);
  const flags = parts.slice(3).map((f) => f === "1" || f === "true");
  const validFlags = parts.slice(3).every((f) => /^(0|1|true|false)$/.test(f));
  if (
    parts.length < 3 || parts.length > 5 || !validFlags ||
    !sizes.every((v) => Number.isSafeInteger(v) && v >= 0)
  ) {
    fail(
      `Cannot run the benchmark: --shape must be m,n,k[,transA,transB], got ${text}`,
    );
  }
  const [m, n, k] = sizes;
  return shape(m, n, k, flags[0] ?? false, flags[1] ?? false);
}

function parseOptions(args: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        json: { type: "boolean", default: false },
        impls: { type: "string", default: MATMUL_IMPLS.join(",") },
        shapes: { type: "string", default: "all" },
        shape: { type: "string", multiple: true },
        samples: { type: "string", default: "7" },
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
  const asked = values.impls.split(",") as MatmulImpl[];
  for (const impl of asked) {
    if (!MATMUL_IMPLS.includes(impl)) {
      fail(
        `Cannot run the benchmark: --impls must be among ${
          MATMUL_IMPLS.join(", ")
        }, got ${impl}`,
      );
    }
  }
  const presets: Record<string, MatmulShape[]> = {
    square: SQUARE_SHAPES,
    training: TRAINING_SHAPES,
    all: [...SQUARE_SHAPES, ...TRAINING_SHAPES],
  };
  if (!(values.shapes in presets)) {
    fail(
      `Cannot run the benchmark: --shapes must be square, training or all, got ${values.shapes}`,
    );
  }
  const samples = Number(values.samples);
  if (!Number.isInteger(samples) || samples < 1) {
    fail(
      `Cannot run the benchmark: --samples must be a positive integer, got ${values.samples}`,
    );
  }
  // Canonical order, no repeats: the table's ratio is wasm over tfjs-wasm.
  const impls = MATMUL_IMPLS.filter((i) => asked.includes(i));
  return {
    json: values.json,
    impls,
    shapes: values.shape?.map(parseShape) ?? presets[values.shapes],
    samples,
  };
}

if (import.meta.main) {
  exitOnError("benchmark matmul");
  const opts = parseOptions(Deno.args);
  let rows: MatmulRow[] = [];
  try {
    rows = await measureMatmul(opts.shapes, {
      impls: opts.impls,
      samples: opts.samples,
      onRow: opts.json ? (row) => console.log(JSON.stringify(row)) : undefined,
    });
  } catch (e) {
    console.error(`matmul: skipped, ${(e as Error).message}`);
  }
  if (!opts.json) {
    const name = (s: MatmulShape) =>
      `${s.m}×${s.n}×${s.k}${s.transA ? " tA" : ""}${s.transB ? " tB" : ""}`;
    console.log(
      `${"shape (m×n×k)".padEnd(22)}${
        opts.impls.map((i) => `${i} GFLOP/s`.padStart(20)).join("")
      }${opts.impls.length === 2 ? "  wasm/tfjs".padStart(12) : ""}`,
    );
    for (let r = 0; r < rows.length; r += opts.impls.length) {
      const group = rows.slice(r, r + opts.impls.length);
      const ratio = group.length === 2
        ? (group[0].gflops / group[1].gflops).toFixed(2).padStart(12)
        : "";
      console.log(
        `${name(group[0]).padEnd(22)}${
          group.map((g) => String(g.gflops).padStart(20)).join("")
        }${ratio}`,
      );
    }
  }
}
