/**
 * The interface every backend implements, and the kernels it runs.
 *
 * A backend is a handful of methods: allocate, upload, read back (async),
 * run a named kernel, release. Layers are written once against it.
 *
 * @module
 */

import type { KernelArgs, KernelName } from "./backends/kernels.ts";
import type { DType, HostArray, Tensor } from "./tensor.ts";

/** The backends this library ships. */
export type BackendName = "reference" | "wasm" | "webgpu";

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
   * A view of a tensor with another shape of the same size: it shares the
   * storage (no copy), is valid while the base tensor is live, and releasing
   * it frees nothing.
   *
   * @param tensor A live tensor of this backend.
   * @param shape The new dimensions; their product must be `tensor.size`.
   * @returns The view.
   */
  reshape<D extends DType>(
    tensor: Tensor<D>,
    shape: readonly number[],
  ): Tensor<D>;
  /**
   * Reads a tensor synchronously; only CPU backends have it. With `into`
   * (an array of the tensor's element type and exactly its size, e.g. a
   * `subarray` of a bigger buffer) the values are copied there and `into`
   * is returned; otherwise into a new array.
   */
  readSync?<D extends DType>(
    tensor: Tensor<D>,
    into?: HostArray<D>,
  ): HostArray<D>;
  /** Frees everything the backend holds. */
  dispose(): void;
}
