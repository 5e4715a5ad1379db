/**
 * Both ends of the channel to a replica's worker, in each runtime: a module
 * `Worker` in Deno and browsers, a `worker_threads` worker in Node (through
 * comlink's Node adapter).
 *
 * @module
 */

import type { Endpoint } from "comlink";
import * as nodeAdapter from "comlink/dist/esm/node-adapter.mjs";
import type { NodeEndpoint } from "comlink/dist/esm/node-adapter.mjs";
import { currentRuntime, nodeBuiltin } from "../_runtime.ts";

type WorkerThreads = typeof import("node:worker_threads");

/**
 * comlink's endpoint over a Node worker or port. Its declarations, read as
 * CommonJS, type the default export as the module itself.
 */
const nodeEndpoint = nodeAdapter.default as unknown as (
  port: NodeEndpoint,
) => Endpoint;

/** A started worker: the endpoint comlink talks through, and how to stop it. */
export interface WorkerThread {
  /** The worker, as comlink's endpoint. */
  endpoint: Endpoint;
  /** Stops the worker at once; nothing is reported as a crash after this. */
  terminate(): void;
}

/**
 * Whether this runtime can start workers: it has `Worker`, or is Node.
 *
 * @returns True in Deno, Node and browsers; false in runtimes without workers.
 */
export function canStartWorkers(): boolean {
  return typeof Worker === "function" || onWorkerThreads();
}

/** Whether workers are Node's `worker_threads` here (Node has no `Worker`). */
function onWorkerThreads(): boolean {
  return typeof Worker !== "function" && currentRuntime() === "node";
}

/**
 * Starts a worker running the ES module at `url`, named `name` (for
 * debuggers and thread lists); `onCrash` is called with a message when the
 * worker dies of an uncaught error, a message cannot be read, or (Node) it
 * exits on its own.
 */
export type StartWorker = (
  url: string | URL,
  name: string,
  onCrash: (message: string) => void,
) => WorkerThread;

/**
 * How to start workers here. What the runtime needs is loaded first (Node's
 * `worker_threads`), so that the trainer then starts all its workers at
 * once, with no event from one arriving before the others exist.
 *
 * @returns A function that starts a module `Worker`, or in Node a
 *   `worker_threads` worker.
 */
export async function workerStarter(): Promise<StartWorker> {
  if (onWorkerThreads()) {
    const threads = await nodeBuiltin<WorkerThreads>("node:worker_threads");
    return (url, name, onCrash) => startNodeWorker(threads, url, name, onCrash);
  }
  return startModuleWorker;
}

/** A module `Worker`, as {@linkcode StartWorker} starts one. */
function startModuleWorker(
  url: string | URL,
  name: string,
  onCrash: (message: string) => void,
): WorkerThread {
  const worker = new Worker(url, { type: "module", name });
  const crash = (event: Event) => {
    event.preventDefault();
    onCrash(
      event instanceof ErrorEvent
        ? event.message
        : `a message could not be read (${event.type})`,
    );
  };
  worker.addEventListener("error", crash);
  worker.addEventListener("messageerror", crash);
  let stopped = false;
  return {
    endpoint: worker,
    terminate() {
      if (stopped) return;
      stopped = true;
      worker.removeEventListener("error", crash);
      worker.removeEventListener("messageerror", crash);
      worker.terminate();
    },
  };
}

/** A `worker_threads` worker, as {@linkcode StartWorker} starts one. */
function startNodeWorker(
  threads: WorkerThreads,
  url: string | URL,
  name: string,
  onCrash: (message: string) => void,
): WorkerThread {
  // Node takes file: and data: URLs as URL objects only; a string is a path.
  const where = typeof url === "string" && /^(file|data):/i.test(url)
    ? new URL(url)
    : url;
  const worker = new threads.Worker(where, { name });
  let stopped = false;
  const report = (message: string) => {
    if (!stopped) onCrash(message);
  };
  worker.on("error", (error: Error) => report(error.message));
  worker.on(
    "messageerror",
    (error: Error) => report(`a message could not be read (${error.message})`),
  );
  worker.on("exit", (code: number) => report(`it exited with code ${code}`));
  return {
    endpoint: nodeEndpoint(
      worker as unknown as NodeEndpoint,
    ),
    terminate() {
      if (stopped) return;
      // The listeners stay: an error already on its way would otherwise be
      // thrown in this thread, as an "error" event nobody listens to.
      stopped = true;
      void worker.terminate();
    },
  };
}

/**
 * The worker's end: what a worker entry passes to comlink's `expose`.
 *
 * @returns The worker's global scope, or in Node the port to its parent.
 * @throws {Error} In Node, when not called inside a worker.
 */
export async function parentEndpoint(): Promise<Endpoint> {
  if (currentRuntime() !== "node" || "postMessage" in globalThis) {
    return globalThis as unknown as Endpoint;
  }
  const { parentPort } = await nodeBuiltin<WorkerThreads>(
    "node:worker_threads",
  );
  if (parentPort === null) {
    throw new Error(
      "Cannot expose the replica: the trainer worker must run as a worker_threads worker, got the main thread",
    );
  }
  return nodeEndpoint(
    parentPort as unknown as NodeEndpoint,
  );
}
