/**
 * What the conformance suite knows about each kernel: its rows (the calls to
 * run on every backend) and how a backend's outputs are compared with the
 * reference's.
 */
import { assertSameBits } from "../assert.ts";
import { pattern } from "../backends.ts";
import {
  absCase,
  assertWithin,
  type HostData,
  type KernelCase,
  type Outputs,
  reference,
  runKernel,
} from "../kernels.ts";
import type { BackendName, KernelName } from "../../../mod.ts";

/**
 * One row of the table: a call of the kernel, run on every backend and
 * compared with the reference run on separate tensors holding the same values.
 */
export interface Row extends KernelCase {
  /**
   * Backends the row does not run on, each with the reason: a limit that
   * backend's contract states (e.g. WGSL passes sizes as u32).
   */
  skip?: Partial<Record<BackendName, string>>;
  /** The row's own tolerance, where it differs from its kernel's. */
  tol?: number;
  /**
   * Outputs worked out by hand from the kernel's definition, which every
   * backend, the reference included, must give bit for bit.
   */
  expect?: Record<string, HostData>;
}

/** The rows of one kernel and the comparison of their outputs. */
export interface KernelSpec {
  /** Built only when the kernel's tests run (some inputs are large). */
  rows(): Row[];
  /**
   * Throws when a backend's outputs differ too much from the reference's.
   * `c` is the row on separate tensors (every tensor present).
   */
  check(
    c: Row,
    actual: Outputs,
    expected: Outputs,
    backend: BackendName,
  ): Promise<void> | void;
}

/** Outputs that must be bit-identical (NaN matches any NaN). */
export function exact(...names: string[]): KernelSpec["check"] {
  return (c, actual, expected) => {
    for (const name of names) {
      assertSameBits(actual[name], expected[name], `${c.what}: ${name}`);
    }
  };
}

/**
 * The reference run on absolute values, once per row's tensors (see
 * {@linkcode withinTerms}): each backend's check gets a copy of the row
 * under its own name, with the same tensors.
 */
const termBounds = new WeakMap<Row["tensors"], Promise<Outputs>>();

/**
 * Outputs within `tol · Σ|terms|` of the reference (or the row's own `tol`),
 * for kernels that only add and multiply: Σ|terms| is the reference run on
 * absolute values.
 */
export function withinTerms(
  kernel: KernelName,
  tol: number,
  ...names: string[]
): KernelSpec["check"] {
  return async (c, actual, expected) => {
    let bound = termBounds.get(c.tensors);
    if (bound === undefined) {
      bound = runKernel(reference, kernel, absCase(c));
      termBounds.set(c.tensors, bound);
    }
    for (const name of names) {
      assertWithin(
        actual[name],
        expected[name],
        (await bound)[name],
        c.tol ?? tol,
        `${c.what}: ${name}`,
      );
    }
  };
}

/** Why a convolution or pooling row skips webgpu. */
const WIDE_IMAGES = "webgpu refuses padded images of 2^31 cells a side " +
  "(its shaders place windows with signed 32-bit coordinates)";

/** Where a convolution or pooling row skips webgpu: a padded image that wide. */
export function skipWideImages(
  g: { height: number; width: number; padding: number },
): Row["skip"] {
  return Math.max(g.height, g.width) + 2 * g.padding >= 2 ** 31
    ? { webgpu: WIDE_IMAGES }
    : undefined;
}

/** Seeded values in about [-1.8, 2.2], 15% zeros. */
export function values(n: number, seed: number): Float32Array {
  return pattern(n, seed * 7919 + n);
}

/** An output buffer prefilled so that an element a kernel forgets shows. */
export function garbage(n: number): Float32Array {
  return new Float32Array(n).fill(NaN);
}

/** `values` with NaN, ±Infinity and -0 spread over the first 64 elements. */
export function withSpecials(n: number, seed: number): Float32Array {
  const x = values(n, seed);
  const specials = [NaN, Infinity, -Infinity, -0];
  for (let i = 0; i < Math.min(n, 64); i += 5) {
    x[i] = specials[(i / 5) % specials.length];
  }
  return x;
}

/** Element counts: empty, tiny, not a multiple of 4, and large. */
export const LENGTHS = [0, 1, 3, 4, 5, 17, 1023, 100_003];

/**
 * `[outer, channels, inner]` layouts, mostly dense (inner = 1), past one
 * block (64) of the wasm per-channel kernels' scratch channels.
 */
export const CHANNEL_BLOCK_SHAPES: [number, number, number][] = [
  [33, 200, 1],
  [5, 65, 1],
  [3, 64, 1],
  [2, 130, 2],
];

/**
 * `[outer, channels, inner]` layouts: empty axes, dense (inner 1), NCHW-like;
 * past a wasm channel block; and layouts whose webgpu reductions take several
 * rows per workgroup, or a workgroup per channel.
 */
export const CHANNEL_SHAPES: [number, number, number][] = [
  [0, 3, 5],
  [2, 0, 3],
  [2, 3, 0],
  [1, 1, 1],
  [4, 10, 1],
  [3, 5, 7],
  [8, 16, 49],
  [32, 3, 1_031],
  ...CHANNEL_BLOCK_SHAPES,
  [3, 1_000, 2],
  [4, 13, 30],
  [2, 3, 3_001],
  [0, 7, 5],
];
