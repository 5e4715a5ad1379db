/**
 * What the conformance suite knows about each kernel: the cases to run and
 * how a backend's outputs are compared with the reference's.
 */
import { assertSameBits } from "../assert.ts";
import { pattern } from "../backends.ts";
import {
  absCase,
  assertWithin,
  type KernelCase,
  type Outputs,
  reference,
  runKernel,
} from "../kernels.ts";
import type { KernelName } from "../../../mod.ts";

/** The cases of one kernel and the comparison of their outputs. */
export interface KernelSpec {
  /** Built only when the test runs (some inputs are large). */
  cases(): KernelCase[];
  /** Throws when a backend's outputs differ too much from the reference's. */
  check(
    c: KernelCase,
    actual: Outputs,
    expected: Outputs,
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
 * Outputs within `tol · Σ|terms|` of the reference, for kernels that only add
 * and multiply: Σ|terms| is the reference run on absolute values.
 */
export function withinTerms(
  kernel: KernelName,
  tol: number,
  ...names: string[]
): KernelSpec["check"] {
  return async (c, actual, expected) => {
    const bound = await runKernel(reference, kernel, absCase(c));
    for (const name of names) {
      assertWithin(
        actual[name],
        expected[name],
        bound[name],
        tol,
        `${c.what}: ${name}`,
      );
    }
  };
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

/** `[outer, channels, inner]` layouts: empty axes, dense (inner 1), NCHW-like. */
export const CHANNEL_SHAPES: [number, number, number][] = [
  [0, 3, 5],
  [2, 0, 3],
  [2, 3, 0],
  [1, 1, 1],
  [4, 10, 1],
  [3, 5, 7],
  [8, 16, 49],
  [32, 3, 1_031],
];
