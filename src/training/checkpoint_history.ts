/**
 * The history a checkpoint of `fit` carries.
 *
 * @module
 */

import { readFitState } from "./_fit_state.ts";
import type { History } from "./history.ts";

/**
 * The history of the run that wrote a checkpoint with `fit`: every epoch's
 * figures up to the checkpoint's, as `fit` would have returned them then.
 *
 * @param bytes A checkpoint `fit` wrote (its `checkpoint` option).
 * @returns The epochs done and their figures.
 * @throws {RangeError | TypeError | SyntaxError} When the file is not a
 *   checkpoint written by `fit`.
 *
 * @example Read back a run's history from its checkpoint
 * ```ts
 * import { checkpointHistory, createBackend, Dense, fit, SGD, Sequential } from "../../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const model = new Sequential([new Dense(2, 2)]);
 * model.build(backend, [2], { seed: 1 });
 * const dir = await Deno.makeTempDir();
 * const history = await fit(model, { x: new Float32Array([1, 0, 0, 1]), y: [0, 1] }, {
 *   optimizer: new SGD(model.parameters(), { lr: 0.1 }),
 *   epochs: 2,
 *   batchSize: 2,
 *   checkpoint: `${dir}/run.safetensors`,
 * });
 * deepEqual(checkpointHistory(await Deno.readFile(`${dir}/run.safetensors`)), history);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function checkpointHistory(bytes: Uint8Array): History {
  const { epoch, history } = readFitState("read a checkpoint's history", bytes);
  return { epoch: Array.from({ length: epoch }, (_, i) => i + 1), history };
}
