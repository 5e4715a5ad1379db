/**
 * What the CPU backends share beyond {@linkcode BaseBackend}: storage that a
 * view can start anywhere in.
 *
 * @module
 */

import { type DType, shapeSize, Tensor } from "../backend.ts";
import { showShape } from "../_checks.ts";
import { BaseBackend } from "./_base.ts";

/**
 * A backend whose tensors live in host memory (a JavaScript array or
 * WebAssembly memory), so a view can start at any element:
 * {@linkcode Backend.viewAt} for the layers that work through a batch in
 * slices.
 */
export abstract class CpuBackend extends BaseBackend {
  /**
   * A view of `shapeSize(shape)` elements of `tensor` from `start` on; see
   * {@linkcode Backend.viewAt}.
   *
   * @param tensor A live tensor of this backend.
   * @param start The view's first element.
   * @param shape The view's dimensions.
   * @returns The view.
   */
  viewAt<D extends DType>(
    tensor: Tensor<D>,
    start: number,
    shape: readonly number[],
  ): Tensor<D> {
    const what = "view part of a tensor";
    this.checkTensor(tensor, what, "tensor");
    const size = shapeSize(shape, what);
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new RangeError(
        `Cannot ${what}: start must be a non-negative integer, got ${start}`,
      );
    }
    if (start + size > tensor.size) {
      throw new RangeError(
        `Cannot ${what}: start + size must be at most ${tensor.size} like ${
          showShape(tensor.shape)
        }, got ${start} + ${size}`,
      );
    }
    const storage = this.storageAt(tensor.storage, start, size);
    return new Tensor(this, shape, tensor.dtype, storage, tensor);
  }

  /** The storage of `n` elements from element `at` of storage `s` on. */
  protected abstract storageAt(s: unknown, at: number, n: number): unknown;
}
