/**
 * Freeing whatever tensors are still live, whatever state they are in.
 *
 * @module
 */

import type { Tensor } from "./backend.ts";

/**
 * Frees the tensors that are still live, each on its own backend; released
 * ones and `undefined`s are skipped, so a tensor listed twice is freed once.
 *
 * @param tensors Tensors or `undefined`s.
 *
 * @example Free what is left, whatever state it is in
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { release } from "./_release.ts";
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
