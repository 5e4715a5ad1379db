/**
 * The tensor handle shared by every backend.
 *
 * @module
 */

import type { Backend } from "./backend.ts";

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

/**
 * Checks a shape and returns its element count.
 *
 * @param shape The dimensions to check.
 * @param what Who is asking, for the error message.
 * @returns The product of the dimensions.
 * @throws {RangeError} When a dimension is not a non-negative integer.
 *
 * @example Count the elements of an NCHW shape
 * ```ts
 * import { shapeSize } from "./tensor.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(shapeSize([2, 3, 4, 4], "example"), 96);
 * ```
 */
export function shapeSize(shape: readonly number[], what: string): number {
  if (!Array.isArray(shape)) {
    throw new TypeError(
      `Cannot ${what}: shape must be an array of integers, got ${
        String(shape)
      }`,
    );
  }
  let size = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `Cannot ${what}: shape must hold non-negative integers, got [${
          shape.join(", ")
        }]`,
      );
    }
    size *= d;
  }
  if (size > 2 ** 32 - 1) {
    throw new RangeError(
      `Cannot ${what}: shape must have fewer than 2^32 elements, got [${
        shape.join(", ")
      }]`,
    );
  }
  return size;
}
