/**
 * The input checks every subsystem shares, and how their messages describe
 * values: one check that a tensor is live, of a dtype and of a backend;
 * integer, boolean and seed checks; shapes and values as messages write them.
 *
 * @module
 */

import { type Backend, type DType, Tensor } from "./backend.ts";

/**
 * A value of the wrong kind, briefly, for messages: its class or its type.
 *
 * @param value Anything.
 * @returns The description, e.g. `Array`, `Float64Array`, `null`, `number`.
 *
 * @example
 * ```ts
 * import { describe } from "./_checks.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(describe(new Float64Array(2)), "Float64Array");
 * equal(describe(null), "null");
 * equal(describe("x"), "string");
 * ```
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}

/**
 * A value that is not one of the allowed ones, for messages: strings quoted,
 * numbers and other primitives as written, objects by their kind.
 *
 * @param value Anything.
 * @returns A short description.
 *
 * @example
 * ```ts
 * import { showValue } from "./_checks.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(showValue("sgdd"), '"sgdd"');
 * equal(showValue(1.5), "1.5");
 * equal(showValue([1]), "an array");
 * ```
 */
export function showValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  if (typeof value === "object") return "an object";
  return String(value);
}

/**
 * A shape as written in messages.
 *
 * @param shape Dimensions (a name such as `"N"` may stand for one).
 * @returns E.g. `"[32, 512]"`.
 *
 * @example
 * ```ts
 * import { showShape } from "./_checks.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(showShape([32, 512]), "[32, 512]");
 * equal(showShape([]), "[]");
 * ```
 */
export function showShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Whether two shapes are equal.
 *
 * @param a Dimensions.
 * @param b Dimensions.
 * @returns True when they have the same rank and dimensions.
 *
 * @example
 * ```ts
 * import { sameShape } from "./_checks.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(sameShape([2, 3], [2, 3]) && !sameShape([2, 3], [2, 3, 1]));
 * ```
 */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** What {@linkcode checkTensor} requires of a tensor besides being live. */
export interface TensorRequirements<D extends DType | "any"> {
  /** The backend it must be on; any when absent. */
  backend?: Backend;
  /**
   * What fixed `backend`, as the message says it after "the <name>
   * backend", e.g. `"the layer was built for"`.
   */
  where?: string;
  /** Its element type: `float32` when absent, `"any"` for either. */
  dtype?: D;
}

/**
 * Throws unless `t` is a live tensor of the required dtype and backend.
 * Checked in that order, so the message names the first problem.
 *
 * @param t The value to check.
 * @param what What the caller was doing, e.g. `"run Dense(4 → 2) forward"`.
 * @param name How the message names `t`, e.g. `"x"`.
 * @param requirements Its backend and dtype (`float32` unless given).
 * @returns `t`, typed.
 * @throws {TypeError} When `t` is not a tensor, was released, has another
 *   dtype or lives on another backend.
 *
 * @example A released tensor is named in the message
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { checkTensor } from "./_checks.ts";
 * import { throws } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.allocate([2, 3]);
 * checkTensor(x, "run f", "x", { backend });
 * backend.release(x);
 * throws(() => checkTensor(x, "run f", "x"), /Cannot run f: x was released, got a released tensor of shape \[2, 3\]/);
 * ```
 */
export function checkTensor<D extends DType | "any" = "float32">(
  t: unknown,
  what: string,
  name: string,
  requirements: TensorRequirements<D> = {},
): Tensor<D extends DType ? D : DType> {
  const { backend, where, dtype = "float32" } = requirements;
  if (!(t instanceof Tensor)) {
    throw new TypeError(
      `Cannot ${what}: ${name} must be a Tensor, got ${describe(t)}`,
    );
  }
  if (t.released) {
    throw new TypeError(
      `Cannot ${what}: ${name} was released, got a released tensor of shape ${
        showShape(t.shape)
      }`,
    );
  }
  if (dtype !== "any" && t.dtype !== dtype) {
    throw new TypeError(
      `Cannot ${what}: ${name} must be a ${dtype} tensor, got ${t.dtype}`,
    );
  }
  if (backend !== undefined && t.backend !== backend) {
    throw new TypeError(
      `Cannot ${what}: ${name} must be on the ${backend.name} backend${
        where === undefined ? "" : ` ${where}`
      }, got a tensor of the ${t.backend.name} backend`,
    );
  }
  return t as Tensor<D extends DType ? D : DType>;
}

/**
 * Throws unless `value` is an integer of at least `min`.
 *
 * @param value What was given.
 * @param min The least allowed.
 * @param what What the caller was doing.
 * @param name How the message names `value`.
 * @returns `value`.
 */
export function checkInteger(
  value: unknown,
  min: number,
  what: string,
  name: string,
): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new RangeError(
      `Cannot ${what}: ${name} must be an integer >= ${min}, got ${
        String(value)
      }`,
    );
  }
  return value as number;
}

/**
 * Throws unless `value` is a boolean.
 *
 * @param value What was given.
 * @param what What the caller was doing.
 * @param name How the message names `value`.
 * @returns `value`.
 */
export function checkBoolean(
  value: unknown,
  what: string,
  name: string,
): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot ${what}: ${name} must be a boolean, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Throws unless `seed` is a 32-bit unsigned integer.
 *
 * @param what What the caller was doing.
 * @param seed What was given.
 * @returns `seed`.
 */
export function checkSeed(what: string, seed: unknown): number {
  if (
    !Number.isInteger(seed) || (seed as number) < 0 ||
    (seed as number) >= 2 ** 32
  ) {
    throw new RangeError(
      `Cannot ${what}: seed must be an integer in [0, 2^32), got ${
        String(seed)
      }`,
    );
  }
  return seed as number;
}
