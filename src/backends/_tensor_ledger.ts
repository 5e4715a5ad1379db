/**
 * The bookkeeping behind `Backend.scope`, `Backend.keep` and
 * `Backend.memoryUsage`: how many tensors of a backend hold storage, and which of
 * them each open scope will release.
 *
 * @module
 */

import { type MemoryUsage, Tensor } from "../backend.ts";

/** Bytes per element: both dtypes, `float32` and `uint32`, take four. */
const BYTES_PER_ELEMENT = 4;

/**
 * Counts a backend's live allocations and keeps the stack of its open
 * scopes. Views are not allocations: they hold no storage of their own, so
 * neither the counts nor the scopes see them.
 *
 * @example A scope releases what it allocated, except what it returns
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { TensorLedger } from "./_tensor_ledger.ts";
 * import { deepEqual, ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const ledger = new TensorLedger();
 * let inside: unknown;
 * const kept = ledger.scope(() => {
 *   const [a, b] = [backend.allocate([2]), backend.allocate([3])];
 *   ledger.allocated(a);
 *   ledger.allocated(b);
 *   inside = a;
 *   return b;
 * }, (t) => {
 *   ledger.freed(t);
 *   backend.release(t);
 * });
 * ok((inside as { released: boolean }).released && !kept.released);
 * deepEqual(ledger.memoryUsage(), { tensors: 1, bytes: 12 });
 * ```
 */
export class TensorLedger {
  #tensors = 0;
  #bytes = 0;
  /** The open scopes, innermost last: the allocations each will release. */
  readonly #scopes: Set<Tensor>[] = [];

  /**
   * Counts a new allocation and gives it to the innermost open scope.
   *
   * @param tensor A tensor with storage of its own (not a view).
   */
  allocated(tensor: Tensor): void {
    this.#tensors++;
    this.#bytes += tensor.size * BYTES_PER_ELEMENT;
    this.#scopes.at(-1)?.add(tensor);
  }

  /**
   * Uncounts a freed allocation; no scope releases it any more.
   *
   * @param tensor A tensor with storage of its own, just freed.
   */
  freed(tensor: Tensor): void {
    this.#tensors--;
    this.#bytes -= tensor.size * BYTES_PER_ELEMENT;
    for (const owned of this.#scopes) owned.delete(tensor);
  }

  /**
   * Takes the storage of `tensor` (its base, for a view) out of every open
   * scope, so that none releases it.
   *
   * @param tensor A tensor or a view.
   */
  keep(tensor: Tensor): void {
    const base = tensor.base ?? tensor;
    for (const owned of this.#scopes) owned.delete(base);
  }

  /** Forgets every allocation: the backend freed them all at once. */
  clear(): void {
    this.#tensors = 0;
    this.#bytes = 0;
    for (const owned of this.#scopes) owned.clear();
  }

  /**
   * The live allocations.
   *
   * @returns Their count and their elements' bytes.
   */
  memoryUsage(): MemoryUsage {
    return { tensors: this.#tensors, bytes: this.#bytes };
  }

  /**
   * Runs `fn` in a new scope, then releases what was allocated during it
   * and is still live, except the tensors its result holds (and the bases
   * of the views it holds), which pass to the enclosing scope if any. It
   * releases them whether `fn` returns or throws.
   *
   * @param fn The work; it must return synchronously.
   * @param release Frees one allocation (and calls {@linkcode freed}).
   * @returns What `fn` returns.
   * @throws {TypeError} When `fn` is not a function or returns a promise
   *   (what it allocated is released all the same).
   */
  scope<T>(fn: () => T, release: (tensor: Tensor) => void): T {
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot run a scope: fn must be a function, got ${typeof fn}`,
      );
    }
    const owned = new Set<Tensor>();
    const returned = new Set<Tensor>();
    this.#scopes.push(owned);
    try {
      const result = fn();
      if (isThenable(result)) {
        throw new TypeError(
          "Cannot run a scope: fn must return synchronously, got a promise (a scope cannot wait across an await: release those tensors, or declare them with `using`)",
        );
      }
      collectTensors(result, returned, new Set());
      return result;
    } finally {
      this.#scopes.pop();
      const outer = this.#scopes.at(-1);
      for (const t of owned) {
        if (returned.has(t)) outer?.add(t);
        else if (!t.released) release(t);
      }
    }
  }
}

/** Whether `value` looks like a promise. */
function isThenable(value: unknown): boolean {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * Adds to `into` the storage (base) of every tensor in `value`: a tensor, or
 * arrays and plain objects of them, nested.
 */
function collectTensors(
  value: unknown,
  into: Set<Tensor>,
  seen: Set<object>,
): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    into.add(value.base ?? value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectTensors(item, into, seen);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const item of Object.values(value)) {
      collectTensors(item, into, seen);
    }
  }
}
