/**
 * Scratch tensors a layer keeps from step to step: reallocated only when the
 * size they must hold changes (a new batch size), so a steady training loop
 * allocates nothing for them after its first step.
 *
 * @module
 */

import type { Backend, DType, Tensor } from "../backend.ts";
import { release } from "../_release.ts";

/**
 * `current` when it is live on `backend` with `size` elements, else a fresh
 * tensor of that size (uninitialised) after `current` is released.
 *
 * @param backend Where the tensor lives.
 * @param current The scratch tensor of the previous step, if any.
 * @param size Elements needed now.
 * @param dtype Element type.
 * @returns A tensor of `size` elements.
 */
export function reuse<D extends DType>(
  backend: Backend,
  current: Tensor<D> | undefined,
  size: number,
  dtype: D,
): Tensor<D> {
  if (
    current !== undefined && !current.released &&
    current.backend === backend && current.size === size
  ) {
    return current;
  }
  release(current);
  // The layer keeps it from step to step: no scope releases it.
  return backend.keep(backend.allocate([size], dtype, "uninitialized"));
}
