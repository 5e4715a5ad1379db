/**
 * A worker that meets others through shared memory: it says `ready`, then
 * either runs rounds of barriers and count exchanges as one replica, or
 * aborts every replica after a delay.
 *
 * @module
 */

import {
  SharedControl,
  SharedSync,
} from "../../../src/parallel/shared_sync.ts";
import {
  countOf,
  type SyncReply,
  type SyncRequest,
  valueOf,
} from "./_sync_rounds.ts";

const post = (reply: SyncReply) => self.postMessage(reply);

self.onmessage = (event: MessageEvent<SyncRequest>) => {
  const request = event.data;
  if (request.kind === "abort") {
    setTimeout(() => {
      new SharedControl(request.buffers).abort();
      post({ kind: "aborted" });
    }, request.delayMs);
    return;
  }
  try {
    const { buffers, index, rounds, timeoutMs } = request;
    const sync = new SharedSync(buffers, index, timeoutMs);
    const totals: number[] = [];
    let mismatches = 0;
    for (let round = 0; round < rounds; round++) {
      sync.slots[index].fill(valueOf(index, round));
      sync.barrier(`round ${round}`);
      // Every replica's vector of this round is visible after the barrier.
      for (let k = 0; k < sync.replicas; k++) {
        if (!sync.slots[k].every((v) => v === valueOf(k, round))) mismatches++;
      }
      // The exchange's barrier also keeps the next round's writes after every read.
      totals.push(
        sync.exchangeCount(round % buffers.countSlots, countOf(index, round)),
      );
    }
    post({ kind: "met", totals, mismatches });
  } catch (error) {
    post({ kind: "failed", message: (error as Error).message });
  }
};

post({ kind: "ready" });
