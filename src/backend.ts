/**
 * The interface every backend implements, and the tensor handle it hands
 * out. The two are declared together because each names the other: a
 * tensor holds the backend that owns its storage, and a backend's methods
 * take and return tensors.
 *
 * A backend is a handful of methods: allocate, upload, read back (async),
 * run a named kernel, release. Layers are written once against it.
 *
 * @module
 */

import type { KernelArgs, KernelName } from "./backends/kernels.ts";

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

/** Element types a tensor can hold: activations are `float32`; counts and thresholds are `uint32`. */
export type DType = "float32" | "uint32";

/** The typed array that holds a tensor's values on the host, for each {@linkcode DType}. */
export type HostArray<D extends DType> = D extends "float32" ? Float32Array
  : Uint32Array;

/**
 * A block of numbers that lives on one backend (a JavaScript array, WebAssembly
 * memory or a GPU buffer) with a shape. Tensors are made by a backend
 * ({@linkcode Backend.tensor} or {@linkcode Backend.allocate}), read back with
 * {@linkcode Backend.read} and freed with {@linkcode Backend.release}.
 *
 * @example Make, read and release a tensor
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.tensor(new Float32Array([1, -2, 3, 4]), [2, 2]);
 * deepEqual(x.size, 4);
 * deepEqual([...(await backend.read(x))], [1, -2, 3, 4]);
 * backend.release(x);
 * ```
 */
export class Tensor<D extends DType = DType> {
  /** The backend that owns the storage. */
  readonly backend: Backend;
  /** Dimensions, outermost first (NCHW for images). */
  readonly shape: readonly number[];
  /** Number of elements: the product of the shape. */
  readonly size: number;
  /** Element type. */
  readonly dtype: D;
  /** Backend-specific storage (a typed array, a byte offset, a GPU buffer). */
  readonly storage: unknown;
  /** The tensor whose storage this one views, for a reshaped view. */
  readonly base: Tensor<D> | undefined;
  #released = false;

  /**
   * Wraps storage that a backend has allocated; user code gets tensors from a backend instead.
   *
   * @param backend The owning backend.
   * @param shape Dimensions, validated by the caller.
   * @param dtype Element type.
   * @param storage Backend-specific storage.
   * @param base The tensor whose storage this one views, if any.
   */
  constructor(
    backend: Backend,
    shape: readonly number[],
    dtype: D,
    storage: unknown,
    base?: Tensor<D>,
  ) {
    this.base = base?.base ?? base;
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.dtype = dtype;
    this.storage = storage;
  }

  /** Whether {@linkcode Backend.release} has freed this tensor. */
  get released(): boolean {
    return this.#released || (this.base?.released ?? false);
  }

  /** Marks the tensor freed; backends call this from `release`. */
  markReleased(): void {
    this.#released = true;
  }
}
