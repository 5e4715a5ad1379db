import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  allocateShared,
  SharedControl,
  SharedSync,
} from "../src/parallel/shared_sync.ts";
import {
  countOf,
  type SyncReply,
  type SyncRequest,
} from "./_helpers/workers/_sync_rounds.ts";

const WORKER = new URL("./_helpers/workers/sync_worker.ts", import.meta.url);

/** A started sync worker and its replies, in order. */
interface Started {
  worker: Worker;
  send(request: SyncRequest): void;
  next(): Promise<SyncReply>;
}

/** Starts a sync worker and waits until it is ready to take a request. */
async function startWorker(): Promise<Started> {
  const worker = new Worker(WORKER, { type: "module" });
  const queue: SyncReply[] = [];
  let wake: (() => void) | undefined;
  const arrive = (reply: SyncReply) => {
    queue.push(reply);
    wake?.();
  };
  worker.onmessage = (e: MessageEvent<SyncReply>) => arrive(e.data);
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    arrive({ kind: "failed", message: e.message });
  };
  const next = async () => {
    while (queue.length === 0) {
      await new Promise<void>((resolve) => wake = resolve);
    }
    return queue.shift()!;
  };
  const started = {
    worker,
    send: (request: SyncRequest) => worker.postMessage(request),
    next,
  };
  deepEqual(await next(), { kind: "ready" });
  return started;
}

Deno.test("Atomics.wait blocks on this thread (what the tests below rely on)", () => {
  const word = new Int32Array(new SharedArrayBuffer(4));
  equal(Atomics.wait(word, 0, 0, 20), "timed-out");
});

Deno.test("SharedSync: a lone replica of two times out, naming what it waited for", () => {
  const buffers = allocateShared(2, 4, 1);
  const sync = new SharedSync(buffers, 0, 300);
  const start = performance.now();
  throws(
    () => sync.barrier("the gradients of step 3"),
    (e: unknown) =>
      e instanceof Error &&
      e.message ===
        "the others did not reach the gradients of step 3 within 300 ms",
  );
  const elapsed = performance.now() - start;
  // Bound: the deadline (300 ms) less clock slack, and well under 10× it.
  ok(elapsed >= 280 && elapsed < 3000, `timed out after ${elapsed} ms`);
  deepEqual(new SharedControl(buffers).progress(), [1, 0]);
});

Deno.test("SharedSync: exchangeCount of a lone replica times out naming the count", () => {
  const sync = new SharedSync(allocateShared(2, 1, 2), 1, 200);
  throws(
    () => sync.exchangeCount(1, 5),
    /^Error: the others did not reach the exchange of count 1 within 200 ms$/,
  );
});

Deno.test("SharedControl.abort: a barrier entered afterwards throws at once", () => {
  const buffers = allocateShared(2, 4, 1);
  const sync = new SharedSync(buffers, 1, 60_000);
  new SharedControl(buffers).abort();
  const start = performance.now();
  throws(
    () => sync.barrier("the reduced vector"),
    (e: unknown) =>
      e instanceof Error &&
      e.message ===
        "aborted while waiting for the others at the reduced vector",
  );
  // Far below the 60 s deadline: the flag is seen before any wait.
  ok(performance.now() - start < 5000);
});

Deno.test("SharedControl.abort from another thread wakes a waiting barrier", async () => {
  const buffers = allocateShared(2, 4, 1);
  const aborter = await startWorker();
  try {
    aborter.send({ kind: "abort", buffers, delayMs: 200 });
    const sync = new SharedSync(buffers, 0, 20_000);
    const start = performance.now();
    // Blocks this thread until the worker's abort arrives.
    throws(
      () => sync.barrier("step 7"),
      /^Error: aborted while waiting for the others at step 7$/,
    );
    const elapsed = performance.now() - start;
    // Woken by the abort (after ~200 ms), long before the 20 s deadline.
    ok(elapsed < 10_000, `aborted after ${elapsed} ms`);
    deepEqual(await aborter.next(), { kind: "aborted" });
  } finally {
    aborter.worker.terminate();
  }
});

Deno.test("SharedControl.progress counts the barriers each replica reached", () => {
  const buffers = allocateShared(1, 2, 2);
  const control = new SharedControl(buffers);
  deepEqual(control.progress(), [0]);
  const sync = new SharedSync(buffers, 0, 1000);
  sync.barrier("a");
  sync.barrier("b");
  deepEqual(control.progress(), [2]);
  sync.exchangeCount(0, 1);
  sync.exchangeCount(1, 1);
  sync.barrier("c");
  deepEqual(control.progress(), [5]);
});

Deno.test("SharedSync.exchangeCount: one replica gets its own count back, per slot", () => {
  const sync = new SharedSync(allocateShared(1, 3, 3), 0, 1000);
  equal(sync.exchangeCount(0, 7), 7);
  equal(sync.exchangeCount(2, 2.5), 2.5);
  equal(sync.exchangeCount(1, 0), 0);
  equal(sync.exchangeCount(2, 123456789), 123456789);
});

Deno.test("SharedSync.exchangeCount: a slot outside [0, countSlots) is refused", () => {
  const sync = new SharedSync(allocateShared(1, 3, 2), 0, 1000);
  for (const slot of [-1, 2, 3, NaN]) {
    throws(
      () => sync.exchangeCount(slot, 1),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message ===
          `Cannot exchange a count: slot must be an integer in [0, 2), got ${slot}`,
      `slot ${slot}`,
    );
  }
  // A refused slot reached no barrier.
  equal(sync.exchangeCount(1, 4), 4);
});

Deno.test("SharedSync.exchangeCount: a non-integer slot is refused", () => {
  const sync = new SharedSync(allocateShared(1, 3, 2), 0, 1000);
  throws(
    () => sync.exchangeCount(0.5, 1),
    /slot must be an integer in \[0, 2\), got 0.5/,
  );
});

Deno.test("SharedSync: after an abort even the last replica to arrive is refused", () => {
  const buffers = allocateShared(2, 1, 1);
  const first = new SharedSync(buffers, 0, 100);
  throws(
    () => first.barrier("a lonely barrier"),
    /did not reach a lonely barrier/,
  );
  // The first replica's arrival is still counted: the second would be last.
  new SharedControl(buffers).abort();
  const second = new SharedSync(buffers, 1, 100);
  throws(() => second.barrier("the next phase"), /aborted .*the next phase/);
});

Deno.test("SharedSync: two workers meet 50 times, see each other's vectors and get the same sums", async () => {
  const rounds = 50;
  const buffers = allocateShared(2, 16, 3);
  const workers = [await startWorker(), await startWorker()];
  try {
    workers.forEach((w, index) =>
      w.send({ kind: "meet", buffers, index, rounds, timeoutMs: 5000 })
    );
    const replies = await Promise.all(workers.map((w) => w.next()));
    const want = Array.from(
      { length: rounds },
      (_, r) => countOf(0, r) + countOf(1, r),
    );
    for (const reply of replies) {
      deepEqual(reply, { kind: "met", totals: want, mismatches: 0 });
    }
    // A barrier and an exchange per round.
    deepEqual(new SharedControl(buffers).progress(), [2 * rounds, 2 * rounds]);
  } finally {
    for (const w of workers) w.worker.terminate();
  }
});
