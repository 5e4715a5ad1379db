/**
 * What the shared-memory test worker and its test agree on: the messages,
 * and each replica's values in each round.
 *
 * @module
 */

import type { SharedBuffers } from "../../../src/parallel/shared_sync.ts";

/** What the worker is asked to do. */
export type SyncRequest =
  | {
    kind: "meet";
    buffers: SharedBuffers;
    index: number;
    rounds: number;
    timeoutMs: number;
  }
  | { kind: "abort"; buffers: SharedBuffers; delayMs: number };

/** What it answers. */
export type SyncReply =
  | { kind: "ready" }
  | { kind: "met"; totals: number[]; mismatches: number }
  | { kind: "aborted" }
  | { kind: "failed"; message: string };

/** Replica `index`'s count in round `round`: differs between replicas and rounds. */
export function countOf(index: number, round: number): number {
  return (index + 1) * 1000 + round + index * 0.25;
}

/** Replica `index`'s vector value in round `round`. */
export function valueOf(index: number, round: number): number {
  return round * 10 + index;
}
