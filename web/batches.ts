/**
 * Training batches drawn from a split: every epoch visits each row once, in
 * an order shuffled from the run's seed, so the same seed gives the same
 * batches.
 *
 * @module
 */

/** Rows of images and labels. */
export interface Rows {
  /** `count × size` values, row after row. */
  images: Float32Array;
  /** One label per row. */
  labels: Uint8Array;
}

/**
 * The first `count` rows of a split, copied.
 *
 * @param images The split's images, `size` values each.
 * @param labels The split's labels.
 * @param count How many rows to take, at most the split's.
 * @param size Values per row.
 * @returns The rows.
 * @throws {RangeError} When the split has fewer than `count` rows.
 *
 * @example Two rows of three values
 * ```ts
 * import { firstRows } from "./batches.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const rows = firstRows(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), new Uint8Array([0, 1, 2]), 2, 3);
 * deepEqual([...rows.images], [1, 2, 3, 4, 5, 6]);
 * deepEqual([...rows.labels], [0, 1]);
 * ```
 */
export function firstRows(
  images: Float32Array,
  labels: Uint8Array,
  count: number,
  size: number,
): Rows {
  if (!(Number.isSafeInteger(count) && count >= 0 && count <= labels.length)) {
    throw new RangeError(
      `Cannot take rows: count must be an integer in [0, ${labels.length}], got ${count}`,
    );
  }
  return {
    images: images.slice(0, count * size),
    labels: labels.slice(0, count),
  };
}

/**
 * Hands out batches of a fixed size, epoch after epoch. A batch that would
 * run past the end of an epoch takes its rest from the next epoch's order.
 *
 * @example Every row once per epoch, the same for the same seed
 * ```ts
 * import { BatchSampler } from "./batches.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const rows = { images: new Float32Array([0, 1, 2, 3]), labels: new Uint8Array([0, 1, 2, 3]) };
 * const a = new BatchSampler(rows, 1, 2, 7);
 * const b = new BatchSampler(rows, 1, 2, 7);
 * const epoch0 = [...a.next().labels, ...a.next().labels];
 * deepEqual(epoch0, [...b.next().labels, ...b.next().labels]);
 * deepEqual([...epoch0].sort(), [0, 1, 2, 3]);
 * equal(a.epoch, 0);
 * a.next();
 * equal(a.epoch, 1);
 * ```
 */
export class BatchSampler {
  readonly #rows: Rows;
  readonly #size: number;
  readonly #batchSize: number;
  readonly #seed: number;
  #order: Uint32Array;
  #cursor = 0;
  #epoch = 0;

  /**
   * Shuffles the rows for the first epoch.
   *
   * @param rows The rows to draw from.
   * @param size Values per row.
   * @param batchSize Rows per batch, at least 1 and at most the rows.
   * @param seed Seed of the shuffles.
   * @throws {RangeError} When `batchSize` does not fit the rows.
   */
  constructor(rows: Rows, size: number, batchSize: number, seed: number) {
    const count = rows.labels.length;
    if (
      !(Number.isSafeInteger(batchSize) && batchSize >= 1 &&
        batchSize <= count)
    ) {
      throw new RangeError(
        `Cannot draw batches: batchSize must be an integer in [1, ${count}], got ${batchSize}`,
      );
    }
    this.#rows = rows;
    this.#size = size;
    this.#batchSize = batchSize;
    this.#seed = seed >>> 0;
    this.#order = shuffled(count, this.#seed);
  }

  /** Epochs completed. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * The next batch.
   *
   * @returns `batchSize` rows, copied.
   */
  next(): Rows {
    const size = this.#size;
    const images = new Float32Array(this.#batchSize * size);
    const labels = new Uint8Array(this.#batchSize);
    for (let i = 0; i < this.#batchSize; i++) {
      if (this.#cursor === this.#order.length) {
        this.#epoch++;
        this.#cursor = 0;
        this.#order = shuffled(this.#order.length, this.#seed + this.#epoch);
      }
      const row = this.#order[this.#cursor++];
      images.set(
        this.#rows.images.subarray(row * size, (row + 1) * size),
        i * size,
      );
      labels[i] = this.#rows.labels[row];
    }
    return { images, labels };
  }
}

/** 0 … count − 1 in a Fisher–Yates order from a small seeded generator. */
function shuffled(count: number, seed: number): Uint32Array {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  let state = seed >>> 0;
  // mulberry32: enough for shuffling a few thousand rows reproducibly.
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
