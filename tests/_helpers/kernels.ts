/**
 * Running one kernel from host arrays, and the comparisons the kernel tests
 * share.
 */
import { equal, fail } from "node:assert/strict";
import type { Backend, KernelArgs, KernelName, Tensor } from "../../mod.ts";
import { ReferenceBackend } from "../../src/backends/reference.ts";

/** Host values of one tensor. */
export type HostData = Float32Array | Uint32Array;

/** Every tensor of a kernel call after it ran, by argument name. */
export type Outputs = Record<string, HostData>;

/** One call of a kernel: its tensors' initial contents and its scalars. */
export interface KernelCase {
  /** Shown in failure messages. */
  what: string;
  /** Every tensor argument, outputs included (prefilled to catch unwritten elements). */
  tensors: Record<string, HostData>;
  /** The non-tensor arguments. */
  scalars: Record<string, number | boolean>;
  /** Arguments passed as the same tensor as another one (in place), e.g. `{ y: "x" }`. */
  same?: Record<string, string>;
}

/** The reference backend every other one is compared with. */
export const reference = new ReferenceBackend();

/**
 * Uploads a case, runs the kernel, and reads back every tensor, or those
 * named in `reads`.
 */
export async function runKernel(
  backend: Backend,
  kernel: KernelName,
  c: KernelCase,
  reads?: readonly string[],
): Promise<Outputs> {
  const made: Record<string, Tensor> = {};
  const owned: Tensor[] = [];
  for (const [name, data] of Object.entries(c.tensors)) {
    if (c.same?.[name] !== undefined) continue;
    const t = upload(backend, data);
    made[name] = t;
    owned.push(t);
  }
  for (const [name, other] of Object.entries(c.same ?? {})) {
    made[name] = made[other];
  }
  try {
    const args = { ...c.scalars, ...made } as unknown;
    backend.run(kernel, args as KernelArgs[typeof kernel]);
    // All reads at once: on webgpu each waits for the device in turn otherwise.
    const names = reads ?? Object.keys(made);
    const data = await Promise.all(
      names.map((name) => backend.read(made[name])),
    );
    return Object.fromEntries(names.map((name, i) => [name, data[i]]));
  } finally {
    for (const t of owned) backend.release(t);
  }
}

/**
 * A new tensor holding `data`; all-zero data (no -0) is only allocated, which
 * zero-fills, sparing large rows an upload.
 */
function upload(backend: Backend, data: HostData): Tensor {
  const dtype = data instanceof Float32Array ? "float32" : "uint32";
  const t = backend.allocate([data.length], dtype);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  if (bits.some((b) => b !== 0)) backend.upload(t, data as never);
  return t;
}

/**
 * The same case with every float tensor and every number made non-negative:
 * run through a kernel that only adds and multiplies, it gives Σ|terms| of
 * each output element, the scale its rounding error is measured against.
 */
export function absCase(c: KernelCase): KernelCase {
  const tensors = Object.fromEntries(
    Object.entries(c.tensors).map((
      [k, v],
    ) => [k, v instanceof Float32Array ? v.map(Math.abs) : v]),
  );
  const scalars = Object.fromEntries(
    Object.entries(c.scalars).map((
      [k, v],
    ) => [k, typeof v === "number" ? Math.abs(v) : v]),
  );
  return { ...c, tensors, scalars };
}

/**
 * Throws at the first element with `|actual - expected| > tol · bound + 1e-30`
 * (equal values, infinities included, and NaN against NaN always pass).
 */
export function assertWithin(
  actual: HostData,
  expected: HostData,
  bound: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    if (Math.abs(a - e) <= tol * bound[i] + 1e-30) continue;
    fail(
      `${what}[${i}]: got ${a}, expected ${e} (allowed error ${
        tol * bound[i]
      })`,
    );
  }
}
