/**
 * The trainer's side of its replicas: calls to all of them at once, with a
 * deadline, and the first failure stopping every one.
 *
 * @module
 */

import { releaseProxy, type Remote, wrap } from "comlink";
import { DataParallelError } from "./data_parallel_error.ts";
import { createReplicaApi, type ReplicaApi } from "./replica_api.ts";
import type { SharedControl } from "./shared_sync.ts";
import type { StartWorker } from "./_worker_endpoints.ts";

/** The calls of a replica as the trainer makes them: all asynchronous. */
export type ReplicaCalls = {
  [K in keyof ReplicaApi]: (
    ...args: Parameters<ReplicaApi[K]>
  ) => Promise<Awaited<ReturnType<ReplicaApi[K]>>>;
};

/** A replica: its calls, and how to stop it. */
export interface ReplicaHandle {
  /** The replica's calls. */
  call: ReplicaCalls;
  /** Stops the worker at once (nothing to stop on the calling thread). */
  terminate(): void;
}

/**
 * The replica on the calling thread, for runtimes without workers.
 *
 * @returns Its handle.
 */
export function localReplica(): ReplicaHandle {
  const api = createReplicaApi();
  const call = Object.fromEntries(
    Object.entries(api).map(([name, method]) => [
      name,
      // Always asynchronous, as through a worker; errors become rejections.
      async (...args: unknown[]) =>
        await (method as (...a: unknown[]) => unknown)(...args),
    ]),
  ) as ReplicaCalls;
  return { call, terminate: () => api.dispose() };
}

/**
 * A replica in a new worker: a module `Worker`, or in Node a `worker_threads`
 * worker.
 *
 * @param start How to start a worker here (from `workerStarter`).
 * @param url The worker script.
 * @param index The replica's index, for the worker's name.
 * @param onCrash Called when the worker dies of an uncaught error.
 * @returns Its handle.
 */
export function workerReplica(
  start: StartWorker,
  url: string | URL,
  index: number,
  onCrash: (message: string) => void,
): ReplicaHandle {
  const worker = start(url, `jumpout-replica-${index}`, onCrash);
  const remote: Remote<ReplicaApi> = wrap<ReplicaApi>(worker.endpoint);
  let stopped = false;
  return {
    call: remote as unknown as ReplicaCalls,
    terminate() {
      if (stopped) return;
      stopped = true;
      remote[releaseProxy]();
      worker.terminate();
    },
  };
}

/**
 * The replicas of one trainer. Every call goes to all of them and waits for
 * every answer, the first failure, or the deadline; after a failure every
 * worker is stopped (shared-memory waits are aborted first) and every later
 * call rejects at once.
 *
 * @example A call to every replica on the calling thread
 * ```ts
 * import { localReplica, ReplicaGroup } from "./replica_group.ts";
 * import { rejects } from "node:assert/strict";
 *
 * const group = new ReplicaGroup([localReplica()], 1000);
 * await rejects(group.all("try", (r) => r.call.layout()), /worker 0 of 1 threw: .*init\(\) first/);
 * await rejects(group.all("try again", (r) => r.call.layout()), /stopped after a worker failed/);
 * ```
 */
export class ReplicaGroup {
  /** The replicas, in worker order. */
  readonly replicas: ReplicaHandle[];
  /** Shared memory to abort on failure, once attached. */
  shared: SharedControl | undefined;
  readonly #timeoutMs: number;
  #failure: Error | undefined;
  /** Ends the call in flight with an error; set while one runs. */
  #fail: ((error: Error) => void) | undefined;
  #what = "";

  /**
   * Takes charge of the replicas.
   *
   * @param replicas The replicas, in worker order.
   * @param timeoutMs The longest a call waits for every answer.
   */
  constructor(replicas: ReplicaHandle[], timeoutMs: number) {
    this.replicas = replicas;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Why the replicas stopped, after a failure.
   *
   * @returns The error, or undefined.
   */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Runs `call` on every replica at once.
   *
   * @param what What the call does, for messages (`run DataParallel step 3`).
   * @param call The call, given each replica and its index.
   * @param timeoutMs The deadline of this call, the group's by default.
   * @returns Every replica's answer, in worker order.
   * @throws {DataParallelError} When a replica throws, dies or misses the deadline.
   * @throws {Error} After an earlier failure, or while another call runs.
   */
  all<T>(
    what: string,
    call: (replica: ReplicaHandle, index: number) => Promise<T>,
    timeoutMs: number = this.#timeoutMs,
  ): Promise<T[]> {
    if (this.#failure !== undefined) {
      return Promise.reject(
        new Error(
          `Cannot ${what}: the trainer stopped after a worker failed (${this.#failure.message}); dispose it and create a new one from the last checkpoint`,
          { cause: this.#failure },
        ),
      );
    }
    if (this.#fail !== undefined) {
      return Promise.reject(
        new TypeError(
          `Cannot ${what}: calls must not overlap, got one while "${this.#what}" runs`,
        ),
      );
    }
    const n = this.replicas.length;
    const settled = new Array<boolean>(n).fill(false);
    return new Promise<T[]>((resolve, reject) => {
      let left = n;
      const results = new Array<T>(n);
      const finish = (error?: Error) => {
        if (this.#fail !== finish) return;
        this.#fail = undefined;
        clearTimeout(timer);
        if (error === undefined) return resolve(results);
        this.#failure = error;
        this.stop();
        reject(error);
      };
      const timer = setTimeout(() => {
        finish(
          new DataParallelError(
            what,
            this.#culprit(settled),
            n,
            "timeout",
            `within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#fail = finish;
      this.#what = what;
      this.replicas.forEach((replica, k) => {
        let running: Promise<T>;
        try {
          running = call(replica, k);
        } catch (error) {
          running = Promise.reject(error);
        }
        running.then(
          (value) => {
            settled[k] = true;
            results[k] = value;
            if (--left === 0) finish();
          },
          (error) => {
            settled[k] = true;
            finish(new DataParallelError(what, k, n, "threw", error));
          },
        );
      });
    });
  }

  /**
   * A worker died: the call in flight fails naming it, or, between calls,
   * the next one does.
   *
   * @param index The worker.
   * @param message What killed it.
   */
  crashed(index: number, message: string): void {
    const n = this.replicas.length;
    if (this.#fail !== undefined) {
      this.#fail(
        new DataParallelError(this.#what, index, n, "crashed", message),
      );
    } else if (this.#failure === undefined) {
      this.#failure = new DataParallelError(
        "keep a DataParallel worker alive",
        index,
        n,
        "crashed",
        message,
      );
      this.stop();
    }
  }

  /** Stops every worker; replicas waiting on shared memory are woken first. */
  stop(): void {
    this.shared?.abort();
    for (const r of this.replicas) r.terminate();
  }

  /**
   * The worker a timeout is blamed on: of those that have not answered, the
   * one that reached the fewest shared-memory barriers (the others wait for
   * it there).
   */
  #culprit(settled: boolean[]): number {
    const progress = this.shared?.progress() ?? settled.map(() => 0);
    let culprit = -1;
    settled.forEach((isSettled, k) => {
      if (!isSettled && (culprit < 0 || progress[k] < progress[culprit])) {
        culprit = k;
      }
    });
    return Math.max(culprit, 0);
  }
}
