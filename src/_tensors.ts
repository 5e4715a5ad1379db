/**
 * What the library's classes share about the tensors callers hand them:
 * one check that a tensor is live, of a dtype and of a backend, with the
 * messages that name it; shapes as messages write them; and the release of
 * whatever is still live.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { type DType, Tensor } from "./tensor.ts";

/**
 * Throws unless `t` is a live tensor of `dtype`, and of `backend` when one is
 * given. Checked in that order, so the message names the first problem.
 *
 * @param t The value to check.
 * @param what What the caller was doing, e.g. `"run Dense(4 → 2) forward"`.
 * @param name How the message names `t`, e.g. `"x"`.
 * @param backend The backend `t` must be on, or undefined for any.
 * @param where What fixed `backend`, as the message says it after "the
 *   <name> backend", e.g. `"the layer was built for"`.
 * @param dtype The element type `t` must have.
 * @returns `t`, typed.
 * @throws {TypeError} When `t` is not a tensor, was released, has another
 *   dtype or lives on another backend.
 *
 * @example A released tensor is named in the message
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { checkTensor } from "./_tensors.ts";
 * import { throws } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.allocate([2, 3]);
 * checkTensor(x, "run f", "x", backend);
 * backend.release(x);
 * throws(() => checkTensor(x, "run f", "x"), /Cannot run f: x was released, got a released tensor of shape \[2, 3\]/);
 * ```
 */
export function checkTensor<D extends DType = "float32">(
  t: unknown,
  what: string,
  name: string,
  backend?: Backend,
  where?: string,
  dtype: D = "float32" as D,
): Tensor<D> {
  if (!(t instanceof Tensor)) {
    throw new TypeError(
      `Cannot ${what}: ${name} must be a Tensor, got ${
        t === null ? "null" : typeof t
      }`,
    );
  }
  if (t.released) {
    throw new TypeError(
      `Cannot ${what}: ${name} was released, got a released tensor of shape ${
        showShape(t.shape)
      }`,
    );
  }
  if (t.dtype !== dtype) {
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
  return t as Tensor<D>;
}

/**
 * A shape as written in messages.
 *
 * @param shape Dimensions (a name such as `"N"` may stand for one).
 * @returns E.g. `"[32, 512]"`.
 *
 * @example
 * ```ts
 * import { showShape } from "./_tensors.ts";
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
 * import { sameShape } from "./_tensors.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(sameShape([2, 3], [2, 3]) && !sameShape([2, 3], [2, 3, 1]));
 * ```
 */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Frees the tensors that are still live, each on its own backend; released
 * ones and `undefined`s are skipped, so a tensor listed twice is freed once.
 *
 * @param tensors Tensors or `undefined`s.
 *
 * @example Free what is left, whatever state it is in
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { release } from "./_tensors.ts";
 * import { ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const a = backend.allocate([2]);
 * const b = backend.allocate([2]);
 * backend.release(b);
 * release(a, b, undefined, a);
 * ok(a.released && b.released);
 * ```
 */
export function release(...tensors: (Tensor | undefined)[]): void {
  for (const t of tensors) {
    if (t !== undefined && !t.released) t.backend.release(t);
  }
}
