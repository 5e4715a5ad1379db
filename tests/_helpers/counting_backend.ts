/**
 * A reference backend that tracks its live tensors, for leak tests: every
 * allocation is recorded until it is released (views are not allocations).
 */
import { ReferenceBackend } from "../../src/backends/reference.ts";
import type { DType, Tensor } from "../../src/backend.ts";

/** The reference backend, counting the tensors that hold storage. */
export class CountingBackend extends ReferenceBackend {
  /** Tensors allocated and not yet released. */
  readonly live = new Set<Tensor>();
  /** Allocations since creation. */
  allocations = 0;

  override allocate<D extends DType = "float32">(
    shape: readonly number[],
    dtype?: D,
    init?: "zeros" | "uninitialized",
  ): Tensor<D> {
    const t = super.allocate(shape, dtype, init);
    this.live.add(t);
    this.allocations++;
    return t;
  }

  override release(tensor: Tensor): void {
    super.release(tensor);
    this.live.delete(tensor);
  }
}
