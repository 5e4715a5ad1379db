/**
 * Data-parallel training: replicas of one model in workers (Web Workers, or
 * `worker_threads` in Node), each on a shard of the batch, gradients averaged
 * every step.
 *
 * @module
 */

export * from "./data_parallel.ts";
export * from "./data_parallel_error.ts";
export * from "./data_parallel_options.ts";
