/**
 * The error a data-parallel trainer rejects with when a worker fails.
 *
 * @module
 */

/** How a worker failed. */
export type WorkerFault = "threw" | "timeout" | "crashed";

/**
 * A worker threw, stopped answering, or died; the trainer is unusable after
 * it (dispose it, and resume a new one from the last checkpoint).
 *
 * @example The message names the worker and the cause
 * ```ts
 * import { DataParallelError } from "./data_parallel_error.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const error = new DataParallelError("run DataParallel step 3", 1, 2, "threw", new Error("boom"));
 * deepEqual(error.message, "Cannot run DataParallel step 3: worker 1 of 2 threw: boom");
 * deepEqual([error.worker, error.fault], [1, "threw"]);
 * ```
 */
export class DataParallelError extends Error {
  /** The failing worker's index. */
  readonly worker: number;
  /** How it failed. */
  readonly fault: WorkerFault;

  /**
   * Makes the error.
   *
   * @param what What the trainer was doing, e.g. `run DataParallel step 3`.
   * @param worker The failing worker.
   * @param workers How many workers there are.
   * @param fault How it failed.
   * @param cause What the worker threw, or a description of the failure.
   */
  constructor(
    what: string,
    worker: number,
    workers: number,
    fault: WorkerFault,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const how = fault === "threw"
      ? `threw: ${detail}`
      : fault === "timeout"
      ? `did not answer ${detail}`
      : `crashed: ${detail}`;
    super(`Cannot ${what}: worker ${worker} of ${workers} ${how}`, { cause });
    this.name = "DataParallelError";
    this.worker = worker;
    this.fault = fault;
  }
}
