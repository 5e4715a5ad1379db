/**
 * The interface every backend implements, and the kernels it runs.
 *
 * A backend is a handful of methods: allocate, upload, read back (async),
 * run a named kernel, release. Layers are written once against it.
 *
 * @module
 */

import type { DType, HostArray, Tensor } from "./tensor.ts";

/** The backends this library ships. */
export type BackendName = "reference" | "wasm" | "webgpu";

/**
 * Fixed-point unit of dropout rates inside the kernels: a rate r is the
 * integer `round(r * RATE_ONE)`, and a unit is kept when the top 24 bits of its
 * hash are below `RATE_ONE - drop`. Integer arithmetic keeps CPU and GPU masks
 * bit-identical.
 */
export const RATE_ONE = 16777216; // 2^24

/** The largest finite float32; kernel products saturate here instead of overflowing. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Arguments of each kernel. Every backend implements every kernel under the
 * same name; `reference` is the definition.
 *
 * A tensor is seen as `rows × cols` elements: one row per scope unit (one row
 * for the whole batch, or one per sample).
 */
export interface KernelArgs {
  /**
   * `counts[r] = #{ c : x[r*cols + c] > 0 }` (NaN counts as inactive).
   * `x`: float32 `[rows*cols]`; `counts`: uint32 `[rows]`, fully overwritten.
   */
  count_active: {
    x: Tensor<"float32">;
    counts: Tensor<"uint32">;
    rows: number;
    cols: number;
  };
  /**
   * Per row: the dropout rate actually applied and the rescale factor.
   *
   * With `normalize`: `drop = counts[r] == 0 ? 0 : min(floor(rate[r] * cols / counts[r]), maxDrop)`,
   * else `drop = rate[r]` (rates in units of 2^-24, see {@linkcode RATE_ONE}).
   * Then `keep[r] = 2^24 - drop` and
   * `scale[r] = keep[r] == 0 ? 0 : (keep[r] / 2^24)^(-power)` in float32.
   * `counts` is ignored without `normalize`.
   */
  jumpout_params: {
    counts: Tensor<"uint32">;
    rate: Tensor<"uint32">;
    keep: Tensor<"uint32">;
    scale: Tensor<"float32">;
    rows: number;
    cols: number;
    maxDrop: number;
    normalize: boolean;
    power: number;
  };
  /**
   * `y[i] = (hash32(i ^ key) >>> 8) < keep[row] ? x[i] * scale[row] : 0`
   * with `row = floor(i / cols)`; a finite `x[i]` never becomes infinite
   * (the product saturates at ±3.4028235e38). Used for forward (x = h) and
   * backward (x = dy, same key and params).
   */
  mask_scale: {
    x: Tensor<"float32">;
    keep: Tensor<"uint32">;
    scale: Tensor<"float32">;
    y: Tensor<"float32">;
    rows: number;
    cols: number;
    key: number;
  };
}

/** Names of the kernels every backend runs. */
export type KernelName = keyof KernelArgs;

/**
 * A place where tensors live and kernels run.
 *
 * @example Run a kernel on the reference backend
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.tensor(new Float32Array([1, 0, -1, 2]), [4]);
 * const counts = backend.allocate([1], "uint32");
 * backend.run("count_active", { x, counts, rows: 1, cols: 4 });
 * deepEqual([...(await backend.read(counts))], [2]);
 * ```
 */
export interface Backend {
  /** Which implementation this is. */
  readonly name: BackendName;
  /**
   * Makes a tensor, zero-filled unless `init` is `"uninitialized"` (for a
   * kernel output that is about to be overwritten whole: it skips a pass over
   * memory on backends that reuse storage).
   *
   * @param shape Dimensions, outermost first.
   * @param dtype Element type, `float32` unless given.
   * @param init `"zeros"` (default) or `"uninitialized"`.
   * @returns The new tensor.
   */
  allocate<D extends DType = "float32">(
    shape: readonly number[],
    dtype?: D,
    init?: "zeros" | "uninitialized",
  ): Tensor<D>;
  /**
   * Copies host values into a tensor of the same size and type.
   *
   * @param tensor Destination on this backend.
   * @param data Values, one per element.
   */
  upload<D extends DType>(tensor: Tensor<D>, data: HostArray<D>): void;
  /**
   * Copies a tensor's values to the host once all queued kernels have run.
   *
   * @param tensor Source on this backend.
   * @returns A fresh typed array.
   */
  read<D extends DType>(tensor: Tensor<D>): Promise<HostArray<D>>;
  /**
   * Runs a named kernel.
   *
   * @param kernel The kernel's name, the same on every backend.
   * @param args Its tensors and scalars.
   */
  run<K extends KernelName>(kernel: K, args: KernelArgs[K]): void;
  /**
   * Frees a tensor's storage; using it afterwards is an error.
   *
   * @param tensor A tensor of this backend.
   */
  release(tensor: Tensor): void;
  /**
   * Makes a float32 tensor from host data: `allocate` then `upload`.
   *
   * @param data Values, `Float32Array` only.
   * @param shape Dimensions whose product is `data.length`.
   * @returns The new tensor.
   */
  tensor(data: Float32Array, shape: readonly number[]): Tensor<"float32">;
  /**
   * Reads a tensor synchronously; only CPU backends have it.
   */
  readSync?<D extends DType>(tensor: Tensor<D>): HostArray<D>;
  /** Frees everything the backend holds. */
  dispose(): void;
}
