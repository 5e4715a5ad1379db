/**
 * Tensor shapes: the one check of a shape, with its element count.
 *
 * The tensor handle and its element types are declared in `backend.ts`,
 * next to the backend that owns them; their names are exported here too,
 * where the kernel table (which `backend.ts` imports) takes them from.
 *
 * @module
 */

export type { DType, HostArray, Tensor } from "./backend.ts";

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
