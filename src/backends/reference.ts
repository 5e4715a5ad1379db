/**
 * The reference backend: plain TypeScript, one loop per kernel, written to be
 * obviously correct. It is the definition every other backend is tested
 * against.
 *
 * @module
 */

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
import { countActive, jumpoutParams, maskScale } from "./reference/jumpout.ts";
import { softmaxCrossEntropy } from "./reference/loss.ts";
import { matmul } from "./reference/matmul.ts";
import { matmul_im2col } from "./reference/matmul_im2col.ts";
import { adamUpdate, sgdUpdate } from "./reference/optim.ts";
import {
  avgpoolBackward,
  avgpoolForward,
  maxpoolBackward,
  maxpoolForward,
  rowBroadcast,
} from "./reference/pool.ts";

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
    matmul_im2col,
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
