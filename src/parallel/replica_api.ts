/**
 * The calls a data-parallel trainer makes to a replica, as one object: what
 * a worker exposes through comlink, and what the trainer calls directly
 * where there are no workers.
 *
 * @module
 */

import { transfer } from "comlink";
import type { SharedBuffers } from "./shared_sync.ts";
import {
  type CountExchange,
  type LayerJumpoutStats,
  Replica,
  type ReplicaConfig,
  type ReplicaLayout,
  type ShardBatch,
  type ShardGradients,
  type ShardResult,
} from "./replica.ts";

/** The replica calls, as {@linkcode createReplicaApi} makes them. */
export interface ReplicaApi {
  /** Makes the replica (again, after a dispose). */
  init(config: ReplicaConfig, exchange?: CountExchange): Promise<void>;
  /** The vector's length and the count slots. */
  layout(): ReplicaLayout;
  /** Attaches the shared buffers. */
  attach(shared: SharedBuffers): void;
  /** A whole step on shared memory. */
  step(batch: ShardBatch): Promise<ShardResult>;
  /** Forward and backward; the vector travels back by transfer. */
  computeGradients(batch: ShardBatch): Promise<ShardGradients>;
  /** Takes the reduced vector and updates. */
  applyGradients(vector: Float32Array, lr: number): void;
  /** Loss and accuracy on a shard, evaluation mode. */
  evaluate(x: Float32Array, labels: Uint32Array): Promise<ShardResult>;
  /** Class probabilities of a shard, evaluation mode, rows × classes. */
  predict(x: Float32Array): Promise<Float32Array>;
  /** Each Jumpout layer's statistics of the last training forward. */
  jumpoutStats(): Promise<LayerJumpoutStats[]>;
  /** The replica's checkpoint. */
  exportState(
    step: number,
    metadata: Record<string, string>,
  ): Promise<Uint8Array>;
  /** Restores a checkpoint; returns its step. */
  importState(bytes: Uint8Array): number;
  /** Frees the replica. */
  dispose(): void;
}

/**
 * The replica calls, each a plain method on one replica held inside.
 *
 * @returns The calls.
 *
 * @example Drive a replica directly
 * ```ts
 * import { createReplicaApi } from "./replica_api.ts";
 * import { ok } from "node:assert/strict";
 *
 * const api = createReplicaApi();
 * await api.init({
 *   index: 0, replicas: 1, backend: "reference", seed: 1, inputShape: [2],
 *   layers: [{ type: "dense", inFeatures: 2, outFeatures: 2 }],
 *   optimizer: { type: "sgd", lr: 0.5 }, qPlusScope: "shard", timeoutMs: 1000,
 * });
 * const { rows } = await api.evaluate(new Float32Array([1, 0]), new Uint32Array([1]));
 * ok(rows === 1);
 * api.dispose();
 * ```
 */
export function createReplicaApi(): ReplicaApi {
  let replica: Replica | undefined;
  const live = (): Replica => {
    if (replica === undefined) {
      throw new Error(
        "Cannot call the replica: it must be made with init() first, got a call before init or after dispose",
      );
    }
    return replica;
  };
  return {
    async init(config, exchange) {
      replica?.dispose();
      replica = undefined;
      replica = await Replica.create(config, exchange);
    },
    layout: () => live().layout(),
    attach: (shared) => live().attach(shared),
    step: (batch) => live().step(batch),
    async computeGradients(batch) {
      const result = await live().computeGradients(batch);
      return transfer(result, [result.vector.buffer]);
    },
    applyGradients: (vector, lr) => live().applyGradients(vector, lr),
    evaluate: (x, labels) => live().evaluate(x, labels),
    predict: (x) => live().predict(x),
    jumpoutStats: () => live().jumpoutStats(),
    exportState: (step, metadata) => live().exportState(step, metadata),
    importState: (bytes) => live().importState(bytes),
    dispose() {
      replica?.dispose();
      replica = undefined;
    },
  };
}
