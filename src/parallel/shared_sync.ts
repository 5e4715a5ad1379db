/**
 * Shared memory through which data-parallel replicas meet: a barrier that
 * can time out or be aborted, per-replica slots for the gradient all-reduce
 * and for Jumpout's active-unit counts.
 *
 * @module
 */

/** Control words: the barrier's generation and arrivals, the abort flag. */
const GENERATION = 0;
const ARRIVED = 1;
const ABORTED = 2;
/** Then one word per replica: how many barriers it has reached. */
const PROGRESS = 3;

/** How long one wait lasts before the abort flag and deadline are checked again (ms). */
const WAIT_SLICE_MS = 50;

/** The shared buffers, as they travel to each replica. */
export interface SharedBuffers {
  /** Control words (Int32). */
  control: SharedArrayBuffer;
  /** Active-unit counts (Float64), `countSlots` per replica. */
  counts: SharedArrayBuffer;
  /** Each replica's vector (Float32), `length` per replica. */
  slots: SharedArrayBuffer;
  /** The reduced vector (Float32), `length` values. */
  result: SharedArrayBuffer;
  /** Replicas. */
  replicas: number;
  /** Values in each replica's vector. */
  length: number;
  /** Count slots per replica: one per Jumpout layer. */
  countSlots: number;
}

/**
 * Allocates the shared buffers for `replicas` replicas exchanging vectors of
 * `length` values and up to `countSlots` counts per step.
 *
 * @param replicas How many replicas.
 * @param length Values in each replica's vector.
 * @param countSlots Counts each replica may exchange per step.
 * @returns The buffers, to send to every replica.
 *
 * @example Buffers for two replicas
 * ```ts
 * import { allocateShared } from "./shared_sync.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const shared = allocateShared(2, 10, 1);
 * deepEqual([shared.slots.byteLength, shared.result.byteLength], [80, 40]);
 * ```
 */
export function allocateShared(
  replicas: number,
  length: number,
  countSlots: number,
): SharedBuffers {
  return {
    control: new SharedArrayBuffer(4 * (PROGRESS + replicas)),
    counts: new SharedArrayBuffer(8 * Math.max(1, countSlots * replicas)),
    slots: new SharedArrayBuffer(4 * length * replicas),
    result: new SharedArrayBuffer(4 * length),
    replicas,
    length,
    countSlots,
  };
}

/**
 * One replica's view of the shared buffers.
 *
 * @example A single replica passes its barriers alone
 * ```ts
 * import { allocateShared, SharedSync } from "./shared_sync.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const sync = new SharedSync(allocateShared(1, 4, 1), 0, 1000);
 * sync.barrier("a test");
 * deepEqual(sync.exchangeCount(0, 7), 7);
 * ```
 */
export class SharedSync {
  /** This replica's index. */
  readonly index: number;
  /** How many replicas meet here. */
  readonly replicas: number;
  /** Every replica's vector, in replica order. */
  readonly slots: Float32Array[];
  /** The reduced vector. */
  readonly result: Float32Array;
  readonly #control: Int32Array;
  readonly #counts: Float64Array;
  readonly #countSlots: number;
  readonly #timeoutMs: number;
  #reached = 0;

  /**
   * Attaches to the buffers.
   *
   * @param buffers What {@linkcode allocateShared} made.
   * @param index This replica's index.
   * @param timeoutMs The longest a barrier waits for the others.
   */
  constructor(buffers: SharedBuffers, index: number, timeoutMs: number) {
    this.index = index;
    this.replicas = buffers.replicas;
    this.#control = new Int32Array(buffers.control);
    this.#counts = new Float64Array(buffers.counts);
    this.#countSlots = buffers.countSlots;
    this.#timeoutMs = timeoutMs;
    this.slots = Array.from(
      { length: buffers.replicas },
      (_, k) =>
        new Float32Array(buffers.slots, 4 * buffers.length * k, buffers.length),
    );
    this.result = new Float32Array(buffers.result);
  }

  /**
   * Waits until every replica has reached this barrier. It waits in short
   * slices, so an abort from the main thread or the deadline ends it.
   *
   * @param what What the replicas meet for, for the error message.
   * @throws {Error} When aborted, or when the others do not arrive in time.
   */
  barrier(what: string): void {
    const c = this.#control;
    const aborted = () =>
      new Error(`aborted while waiting for the others at ${what}`);
    // An aborted run meets no more: not even the last to arrive passes.
    if (Atomics.load(c, ABORTED) !== 0) throw aborted();
    const generation = Atomics.load(c, GENERATION);
    Atomics.store(c, PROGRESS + this.index, ++this.#reached);
    if (Atomics.add(c, ARRIVED, 1) === this.replicas - 1) {
      // The last to arrive resets the count before releasing the others, so
      // none can arrive at the next barrier early.
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    const deadline = performance.now() + this.#timeoutMs;
    while (Atomics.load(c, GENERATION) === generation) {
      if (Atomics.load(c, ABORTED) !== 0) throw aborted();
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `the others did not reach ${what} within ${this.#timeoutMs} ms`,
        );
      }
      Atomics.wait(c, GENERATION, generation, Math.min(left, WAIT_SLICE_MS));
    }
  }

  /**
   * Adds up one count across the replicas: each writes its own, all meet,
   * each sums all in replica order.
   *
   * @param slot Which count of the step (one per Jumpout layer).
   * @param count This replica's count.
   * @returns The sum over every replica.
   */
  exchangeCount(slot: number, count: number): number {
    const base = slot * this.replicas;
    if (!(Number.isInteger(slot) && slot >= 0 && slot < this.#countSlots)) {
      throw new RangeError(
        `Cannot exchange a count: slot must be an integer in [0, ${this.#countSlots}), got ${slot}`,
      );
    }
    this.#counts[base + this.index] = count;
    this.barrier(`the exchange of count ${slot}`);
    let total = 0;
    for (let k = 0; k < this.replicas; k++) total += this.#counts[base + k];
    return total;
  }
}

/**
 * Main-thread control of the shared buffers: abort every waiting replica,
 * and see how far each got.
 *
 * @example Abort wakes waiting replicas
 * ```ts
 * import { allocateShared, SharedControl } from "./shared_sync.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const control = new SharedControl(allocateShared(2, 1, 1));
 * control.abort();
 * deepEqual(control.progress(), [0, 0]);
 * ```
 */
export class SharedControl {
  readonly #control: Int32Array;
  readonly #replicas: number;

  /**
   * Attaches to the buffers.
   *
   * @param buffers What {@linkcode allocateShared} made.
   */
  constructor(buffers: SharedBuffers) {
    this.#control = new Int32Array(buffers.control);
    this.#replicas = buffers.replicas;
  }

  /** Makes every barrier throw, now and from now on. */
  abort(): void {
    Atomics.store(this.#control, ABORTED, 1);
    Atomics.notify(this.#control, GENERATION);
  }

  /**
   * How many barriers each replica has reached.
   *
   * @returns One count per replica.
   */
  progress(): number[] {
    return Array.from(
      { length: this.#replicas },
      (_, k) => Atomics.load(this.#control, PROGRESS + k),
    );
  }
}
