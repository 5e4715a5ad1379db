/**
 * Slices of a batch that fit in cache, for the layers whose workspaces grow
 * with the batch (a convolution's unfolded input is nine times its input).
 *
 * @module
 */

import type { Backend, DType, Tensor } from "../backend.ts";

/**
 * Bytes of workspace a slice of the batch aims at: half a megabyte stays in
 * a core's L2 cache while a kernel writes it and the next reads it back, so
 * the workspace never goes out to memory.
 */
export const SLICE_BYTES = 512 * 1024;

/**
 * How many samples of a batch to work on at a time: the whole batch on a
 * backend without {@linkcode Backend.viewAt} (a GPU, where one big dispatch
 * beats many small ones), else as many as keep `bytesPerSample` of workspace
 * each within {@linkcode SLICE_BYTES} (at least one).
 *
 * @param backend The backend the layer runs on.
 * @param batch Samples in the batch.
 * @param bytesPerSample Workspace bytes one sample needs.
 * @returns Samples per slice, from 1 to `batch`.
 *
 * @example A CPU backend slices, when a sample's workspace is large
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { samplesPerSlice } from "./_batch_slices.ts";
 * import { equal } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * equal(samplesPerSlice(backend, 128, 200_000), 2);
 * equal(samplesPerSlice(backend, 128, 10), 128);
 * ```
 */
export function samplesPerSlice(
  backend: Backend,
  batch: number,
  bytesPerSample: number,
): number {
  if (backend.viewAt === undefined) return batch;
  const fit = Math.floor(SLICE_BYTES / Math.max(1, bytesPerSample));
  return Math.min(batch, Math.max(1, fit));
}

/**
 * Samples `[first, first + count)` of a batched tensor (batch first), as a
 * view; the tensor itself when that is the whole batch.
 *
 * @param backend The tensor's backend.
 * @param tensor `[batch, ...]`.
 * @param first The slice's first sample.
 * @param count Samples in the slice.
 * @returns `[count, ...]`, sharing the tensor's storage.
 *
 * @example The second of two samples
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { batchSlice } from "./_batch_slices.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * deepEqual([...(await backend.read(batchSlice(backend, x, 1, 1)))], [3, 4]);
 * ```
 */
export function batchSlice<D extends DType>(
  backend: Backend,
  tensor: Tensor<D>,
  first: number,
  count: number,
): Tensor<D> {
  const [batch, ...sample] = tensor.shape;
  if (first === 0 && count === batch) return tensor;
  const per = tensor.size / batch;
  return backend.viewAt!(tensor, first * per, [count, ...sample]);
}
