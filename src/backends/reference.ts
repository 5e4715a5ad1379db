/**
 * The reference backend: plain TypeScript, one loop per kernel, written to be
 * obviously correct. It is the definition every other backend is tested
 * against.
 *
 * @module
 */

import { FLOAT32_MAX, RATE_ONE } from "./kernels.ts";
import type { KernelArgs } from "../backend.ts";
import { hash32 } from "../random.ts";
import type { DType, HostArray, Tensor } from "../backend.ts";
import type { KernelTable } from "./_base.ts";
import { CpuBackend } from "./_cpu_backend.ts";
import {
  batchnormBackward,
  batchnormForward,
  channelStats,
} from "./reference/batchnorm.ts";
import { col2im, im2col, transpose } from "./reference/conv.ts";
import {
  axpby,
  biasAdd,
  biasGrad,
  relu,
  reluBackward,
} from "./reference/elementwise.ts";
import { softmaxCrossEntropy } from "./reference/loss.ts";
import { matmul } from "./reference/matmul.ts";
import { adamUpdate, sgdUpdate } from "./reference/optim.ts";
import {
  avgpoolBackward,
  avgpoolForward,
  maxpoolBackward,
  maxpoolForward,
  rowBroadcast,
} from "./reference/pool.ts";

/**
 * `count_active`: per row, how many elements are > 0 (NaN is not).
 *
 * @param a The kernel's arguments.
 */
function countActive(a: KernelArgs["count_active"]): void {
  const x = a.x.storage as Float32Array;
  const counts = a.counts.storage as Uint32Array;
  for (let r = 0; r < a.rows; r++) {
    let c = 0;
    for (let i = r * a.cols; i < (r + 1) * a.cols; i++) if (x[i] > 0) c++;
    counts[r] = c;
  }
}

/**
 * `jumpout_params`: per row, the applied drop rate (as a keep threshold) and
 * the rescale factor.
 *
 * @param a The kernel's arguments.
 */
function jumpoutParams(a: KernelArgs["jumpout_params"]): void {
  const counts = a.counts.storage as Uint32Array;
  const rate = a.rate.storage as Uint32Array;
  const keep = a.keep.storage as Uint32Array;
  const scale = a.scale.storage as Float32Array;
  for (let r = 0; r < a.rows; r++) {
    let drop = rate[r];
    if (a.normalize) {
      drop = counts[r] === 0 ? 0 : Math.min(
        Number(BigInt(rate[r]) * BigInt(a.cols) / BigInt(counts[r])),
        a.maxDrop,
      );
    }
    keep[r] = RATE_ONE - drop;
    scale[r] = keep[r] === 0 ? 0 : (keep[r] / RATE_ONE) ** -a.power;
  }
}

/**
 * `mask_scale`: keep each element when the hash of its index (counted from
 * `offset`) clears the row's threshold, scaled by the row's factor; drop it
 * to 0 otherwise.
 *
 * @param a The kernel's arguments.
 */
function maskScale(a: KernelArgs["mask_scale"]): void {
  const x = a.x.storage as Float32Array;
  const y = a.y.storage as Float32Array;
  const keep = a.keep.storage as Uint32Array;
  const scale = a.scale.storage as Float32Array;
  for (let r = 0; r < a.rows; r++) {
    for (let i = r * a.cols; i < (r + 1) * a.cols; i++) {
      const index = (i + a.offset) >>> 0; // mod 2^32
      const kept = hash32((index ^ a.key) >>> 0) >>> 8 < keep[r];
      y[i] = kept ? saturatingProduct(x[i], scale[r]) : 0;
    }
  }
}

/** `x * s` in float32, held at ±FLOAT32_MAX when a finite `x` would overflow. */
function saturatingProduct(x: number, s: number): number {
  const y = Math.fround(x * s);
  if (Number.isFinite(x) && !Number.isFinite(y) && !Number.isNaN(y)) {
    return Math.sign(y) * FLOAT32_MAX;
  }
  return y;
}

/**
 * Tensors in JavaScript typed arrays; kernels as plain loops.
 *
 * @example Mask a tensor by hand
 * ```ts
 * import { ReferenceBackend } from "./reference.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = new ReferenceBackend();
 * const x = backend.tensor(new Float32Array([1, 2, 3]), [3]);
 * const y = backend.allocate([3]);
 * const keep = backend.allocate([1], "uint32");
 * const scale = backend.allocate([1]);
 * backend.upload(keep, new Uint32Array([2 ** 24])); // keep everything
 * backend.upload(scale, new Float32Array([2]));
 * backend.run("mask_scale", { x, keep, scale, y, rows: 1, cols: 3, key: 9, offset: 0 });
 * deepEqual([...backend.readSync(y)], [2, 4, 6]);
 * ```
 */
export class ReferenceBackend extends CpuBackend {
  readonly name = "reference" as const;
  protected readonly kernels: KernelTable = {
    count_active: countActive,
    jumpout_params: jumpoutParams,
    mask_scale: maskScale,
    matmul,
    bias_add: biasAdd,
    bias_grad: biasGrad,
    relu,
    relu_backward: reluBackward,
    im2col,
    col2im,
    transpose,
    channel_stats: channelStats,
    batchnorm_forward: batchnormForward,
    batchnorm_backward: batchnormBackward,
    axpby,
    maxpool_forward: maxpoolForward,
    maxpool_backward: maxpoolBackward,
    avgpool_forward: avgpoolForward,
    avgpool_backward: avgpoolBackward,
    row_broadcast: rowBroadcast,
    softmax_cross_entropy: softmaxCrossEntropy,
    sgd_update: sgdUpdate,
    adam_update: adamUpdate,
  };

  protected createStorage(size: number, dtype: DType): HostArray<DType> {
    return dtype === "float32" ? new Float32Array(size) : new Uint32Array(size);
  }

  protected writeStorage(tensor: Tensor, data: HostArray<DType>): void {
    (tensor.storage as HostArray<DType>).set(data);
  }

  protected readStorage(tensor: Tensor): Promise<HostArray<DType>> {
    return Promise.resolve(this.readSync(tensor));
  }

  protected freeStorage(_tensor: Tensor): void {}

  protected storageAt(s: unknown, at: number, n: number): unknown {
    return (s as HostArray<DType>).subarray(at, at + n);
  }

  protected override prefixStorage(tensor: Tensor, size: number): unknown {
    const storage = tensor.storage as HostArray<DType>;
    return size === storage.length ? storage : storage.subarray(0, size);
  }

  /**
   * Reads a tensor at once.
   *
   * @param tensor A live tensor of this backend.
   * @param into Where to copy the values (exactly the tensor's size), else a new array.
   * @returns The values: `into`, or a new array.
   */
  readSync<D extends DType>(
    tensor: Tensor<D>,
    into?: HostArray<D>,
  ): HostArray<D> {
    this.checkTensor(tensor, "read a tensor", "tensor");
    return this.copyOut(tensor, tensor.storage as HostArray<DType>, into);
  }

  dispose(): void {}
}
