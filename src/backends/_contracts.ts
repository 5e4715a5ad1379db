/**
 * The kernel table as the backends walk it: rows without their kernels'
 * argument types, and the check of each argument kind.
 *
 * @module
 */

import type { DType, KernelName } from "../backend.ts";
import { KERNELS, type ScalarKind } from "./kernels.ts";

/**
 * Why `v` is not a valid argument of kind `kind`, or `undefined` when it is.
 *
 * @param kind The argument's kind.
 * @param v The value given.
 * @returns The reason, e.g. `"must be an integer >= 1"`.
 *
 * @example Kinds at their edges
 * ```ts
 * import { scalarError } from "./_contracts.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(scalarError("count", 0), undefined);
 * equal(scalarError("positive", 0), "must be an integer >= 1");
 * equal(scalarError("unit", 1), "must be in [0, 1)");
 * ```
 */
export function scalarError(kind: ScalarKind, v: unknown): string | undefined {
  const n = v as number;
  switch (kind) {
    case "count":
      return Number.isSafeInteger(n) && n >= 0
        ? undefined
        : "must be a non-negative integer";
    case "positive":
      return Number.isSafeInteger(n) && n >= 1
        ? undefined
        : "must be an integer >= 1";
    case "uint32":
      return Number.isInteger(n) && n >= 0 && n < 2 ** 32
        ? undefined
        : "must be an integer in [0, 2^32)";
    case "bool":
      return typeof v === "boolean" ? undefined : "must be a boolean";
    case "finite":
      return Number.isFinite(n) ? undefined : "must be a finite number";
    case "nonNegative":
      return Number.isFinite(n) && n >= 0
        ? undefined
        : "must be a finite number >= 0";
    case "unit":
      return n >= 0 && n < 1 ? undefined : "must be in [0, 1)";
  }
}

/**
 * A row of {@linkcode KERNELS} without its kernel's argument types, as the
 * backends walk it: names in order, kinds, and the size and derived-value
 * functions over plain argument records.
 */
export interface AnyKernelContract {
  /** Tensor names in binding order, with their element types. */
  readonly tensors: Readonly<Record<string, DType>>;
  /** Each written tensor with the inputs it may share storage with. */
  readonly outputs: Readonly<Record<string, readonly string[]>>;
  /** Other argument names in parameter order, with their kinds. */
  readonly scalars: Readonly<Record<string, ScalarKind>>;
  /** Each tensor's element count. */
  readonly sizes: (a: Readonly<Record<string, unknown>>) => Readonly<
    Record<string, number>
  >;
  /** Values computed in float64, passed after the other arguments. */
  readonly derived?: Readonly<
    Record<string, (a: Readonly<Record<string, unknown>>) => number>
  >;
}

/**
 * A kernel's row of {@linkcode KERNELS}, seen without its argument types.
 *
 * @param kernel The kernel's name.
 * @returns Its row.
 *
 * @example The order of `matmul`'s other arguments
 * ```ts
 * import { contractOf } from "./_contracts.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(Object.keys(contractOf("matmul").scalars), ["m", "n", "k", "transA", "transB", "accumulate"]);
 * ```
 */
export function contractOf(kernel: KernelName): AnyKernelContract {
  return KERNELS[kernel] as unknown as AnyKernelContract;
}
