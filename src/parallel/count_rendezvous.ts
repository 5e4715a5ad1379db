/**
 * Adding up Jumpout's active-unit counts over the replicas by message, for
 * when there is no shared memory.
 *
 * @module
 */

import type { CountExchange } from "./replica.ts";

/** The counts of one (step, slot) gathered so far. */
interface Meeting {
  counts: number[];
  arrived: number;
  answers: ((total: number) => void)[];
}

/**
 * Where the replicas' counts meet on the main thread: each replica sends
 * its count for (step, slot); when all have, each gets the sum, added in
 * replica order.
 *
 * @example Two replicas meet
 * ```ts
 * import { CountRendezvous } from "./count_rendezvous.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const meet = new CountRendezvous(2);
 * const totals = await Promise.all([meet.exchangeFor(0)(0, 0, 5), meet.exchangeFor(1)(0, 0, 7)]);
 * deepEqual(totals, [12, 12]);
 * ```
 */
export class CountRendezvous {
  readonly #replicas: number;
  readonly #meetings = new Map<string, Meeting>();

  /**
   * Makes a meeting place.
   *
   * @param replicas How many replicas meet.
   */
  constructor(replicas: number) {
    this.#replicas = replicas;
  }

  /**
   * Replica `index`'s way in.
   *
   * @param index The replica.
   * @returns Its exchange function.
   */
  exchangeFor(index: number): CountExchange {
    return (step, slot, count) =>
      new Promise((resolve) => {
        const key = `${step}:${slot}`;
        let meeting = this.#meetings.get(key);
        if (meeting === undefined) {
          meeting = {
            counts: new Array(this.#replicas).fill(0),
            arrived: 0,
            answers: [],
          };
          this.#meetings.set(key, meeting);
        }
        meeting.counts[index] = count;
        meeting.answers.push(resolve);
        if (++meeting.arrived === this.#replicas) {
          this.#meetings.delete(key);
          const total = meeting.counts.reduce((a, b) => a + b, 0);
          for (const answer of meeting.answers) answer(total);
        }
      });
  }
}
