/**
 * A data-parallel training worker: one model replica, driven from the main
 * thread by {@linkcode DataParallel} through comlink.
 *
 * @module
 */

import { expose } from "comlink";
import { createReplicaApi } from "../src/parallel/replica_api.ts";

const api = createReplicaApi();

/** The calls this worker answers, for `wrap<TrainerWorkerApi>(worker)`. */
export type TrainerWorkerApi = typeof api;

expose(api);
