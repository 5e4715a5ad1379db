/**
 * A data-parallel training worker: one model replica, driven from the main
 * thread by {@linkcode DataParallel} through comlink. The same entry serves a
 * module `Worker` (Deno, browsers) and a `worker_threads` worker (Node).
 *
 * @module
 */

import { expose } from "comlink";
import { createReplicaApi } from "../src/parallel/replica_api.ts";
import { parentEndpoint } from "../src/parallel/_worker_endpoints.ts";

const api = createReplicaApi();

/** The calls this worker answers, for `wrap<TrainerWorkerApi>(worker)`. */
export type TrainerWorkerApi = typeof api;

expose(api, await parentEndpoint());
