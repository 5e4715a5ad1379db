/**
 * A replica worker that fails on purpose: replica 1 fails in step 2, the
 * way its file names; every other call behaves.
 *
 * @module
 */

import { expose } from "comlink";
import type { ShardBatch } from "../../../src/parallel/replica.ts";
import { createReplicaApi } from "../../../src/parallel/replica_api.ts";

/** The replica that fails. */
export const FAULTY_REPLICA = 1;

/** The training step it fails in. */
export const FAULTY_STEP = 2;

/** How the replica fails. */
export type Fault = "throw" | "close" | "hang" | "crash";

/**
 * Exposes a replica that fails in {@linkcode FAULTY_STEP} as `fault` says.
 *
 * @param fault How to fail.
 */
export function exposeFaulty(fault: Fault): void {
  const api = createReplicaApi();
  let index = -1;
  const { init, step, computeGradients } = api;
  const failing =
    <T>(run: (batch: ShardBatch) => Promise<T>) =>
    async (batch: ShardBatch): Promise<T> => {
      if (index === FAULTY_REPLICA && batch.step === FAULTY_STEP) {
        switch (fault) {
          case "throw":
            throw new Error("injected fault");
          case "close":
            self.close();
            return await new Promise<T>(() => {});
          case "hang":
            // Busy: the worker cannot even answer messages.
            while (index >= 0) {
              Atomics.wait(
                new Int32Array(new SharedArrayBuffer(4)),
                0,
                0,
                1000,
              );
            }
            break;
          case "crash":
            setTimeout(() => {
              throw new Error("uncaught injected fault");
            });
            return await new Promise<T>(() => {});
        }
      }
      return await run(batch);
    };
  api.init = (config, exchange) => {
    index = config.index;
    return init(config, exchange);
  };
  api.step = failing(step);
  api.computeGradients = failing(computeGradients);
  expose(api);
}
