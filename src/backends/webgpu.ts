/**
 * The webgpu backend: tensors are GPU buffers that stay on the device between
 * kernels, and each kernel is one compute pipeline built from `shaders/`.
 *
 * @module
 */

import {
  type ConvGeometry,
  type KernelArgs,
  type KernelName,
  outputSize,
  type PoolGeometry,
} from "../backend.ts";
import type { DType, HostArray, Tensor } from "../tensor.ts";
import { ARG_OUTPUTS, BaseBackend, type KernelTable } from "./_base.ts";
import { SHADERS } from "./_shaders.ts";

/** Invocations per workgroup of every kernel (their `WORKGROUP_SIZE` override). */
const WORKGROUP_SIZE = 256;
/** Elements each `count_active` invocation reads (its `RUN` override). */
const COUNT_RUN = 16;
/** Side of the square block of `c` each `matmul` workgroup computes (its `TILE`). */
const MATMUL_TILE = 64;
/**
 * Workgroups per row of every dispatch grid. One dimension stops at 65535
 * workgroups, so grids fold into rows; folding at 256 already (empty
 * workgroups at the end cost nothing) runs every size above 256 workgroups
 * through the same 2-D indexing, which tests at 2^20 elements then cover.
 * Rows only pass 65535 for reductions of more than 2^24 long rows or
 * channels (a workgroup each); the rows then widen (see
 * {@linkcode dispatchGrid}).
 */
const GRID_WIDTH = 256;
/** Workgroups along one dimension of a dispatch, at most. */
const MAX_GRID_SIDE = 65535;
/**
 * Dispatches recorded into one submission at most. Kernels queue into one
 * command encoder until a read, an upload or the end of the current task
 * submits them: one submission per training step rather than one per kernel.
 */
const BATCH_DISPATCHES = 256;
/**
 * Values each invocation of a per-row or per-channel reduction adds up before
 * the tree, at least (see {@linkcode reductionLanes}).
 */
const LANE_VALUES = 8;

/**
 * Each kernel's tensors in binding order: binding 0 is the uniform
 * parameters, then one storage binding per tensor. How each is bound follows
 * from the kernels' sharing contract (see {@linkcode bindingAccess}).
 */
const BINDINGS: Record<KernelName, readonly string[]> = {
  count_active: ["x", "counts"],
  jumpout_params: ["counts", "rate", "keep", "scale"],
  mask_scale: ["x", "keep", "scale", "y"],
  matmul: ["a", "b", "c"],
  bias_add: ["y", "bias"],
  bias_grad: ["dy", "db"],
  relu: ["x", "y"],
  relu_backward: ["x", "dy", "dx"],
  im2col: ["x", "cols"],
  col2im: ["cols", "x"],
  transpose: ["x", "y"],
  channel_stats: ["x", "mean", "variance"],
  batchnorm_forward: ["x", "mean", "variance", "gamma", "beta", "y"],
  batchnorm_backward: [
    "x",
    "dy",
    "mean",
    "variance",
    "gamma",
    "dx",
    "dgamma",
    "dbeta",
  ],
  axpby: ["x", "y"],
  maxpool_forward: ["x", "y", "argmax"],
  maxpool_backward: ["dy", "argmax", "dx"],
  row_broadcast: ["dy", "dx"],
  softmax_cross_entropy: ["logits", "labels", "dlogits", "result"],
  sgd_update: ["param", "grad", "velocity"],
  adam_update: ["param", "grad", "m", "v"],
};

/** A storage binding's access mode, as WGSL spells it. */
type Access = "read" | "read_write";

/**
 * How a kernel's WGSL declares tensor `name`. Which tensors may share
 * storage is the kernels' contract ({@linkcode ARG_OUTPUTS}), checked before
 * a kernel runs; WebGPU adds one rule of its own: a buffer bound `read` must
 * not also be bound `read_write` in the same dispatch (two `read` bindings or
 * two `read_write` ones may share it). So outputs, and the inputs an output
 * may be written in place over, bind `read_write` (each invocation reads its
 * elements before it writes them); other inputs bind `read`, and one that
 * shares its buffer with an input bound `read_write` is bound as a copy
 * instead (see {@linkcode readWriteConflicts}).
 */
function bindingAccess(kernel: KernelName, name: string): Access {
  const outputs = ARG_OUTPUTS[kernel];
  return Object.hasOwn(outputs, name) ||
      Object.values(outputs).some((shared) => shared.includes(name))
    ? "read_write"
    : "read";
}

/** Byte size of each kernel's uniform `Params` struct. */
const UNIFORM_BYTES: Record<KernelName, number> = {
  count_active: 16,
  jumpout_params: 32,
  mask_scale: 16,
  matmul: 32,
  bias_add: 16,
  bias_grad: 16,
  relu: 16,
  relu_backward: 16,
  im2col: 48,
  col2im: 48,
  transpose: 16,
  channel_stats: 16,
  batchnorm_forward: 16,
  batchnorm_backward: 32,
  axpby: 16,
  maxpool_forward: 32,
  maxpool_backward: 32,
  row_broadcast: 16,
  softmax_cross_entropy: 16,
  sgd_update: 32,
  adam_update: 48,
};

/** Bytes of the largest `Params` struct. */
const MAX_UNIFORM_BYTES = Math.max(...Object.values(UNIFORM_BYTES));

/**
 * Pipeline override constants of the kernels whose shaders declare other
 * overrides than `WORKGROUP_SIZE` alone, which every other kernel takes.
 */
const CONSTANTS: Partial<Record<KernelName, Record<string, number>>> = {
  count_active: { WORKGROUP_SIZE, RUN: COUNT_RUN },
  matmul: {}, // Its tile shape is fixed in the shader.
};

/** A kernel ready to dispatch: its pipeline and layout. */
interface Program {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Tensor argument names, in binding order from 1. */
  tensors: readonly string[];
  /** How each of them is bound. */
  access: readonly Access[];
}

/**
 * Tensors in GPU buffers; kernels as WGSL compute shaders.
 *
 * Kernels are queued in order and never wait; {@linkcode WebGpuBackend.read}
 * is the only point that waits for the GPU. There is no `readSync`. Kernels
 * run by one synchronous stretch of code go to the GPU together, in one
 * submission, at its end (or at a read or upload, whichever comes first).
 *
 * @example Mask a tensor on the GPU
 * ```ts ignore
 * import { createWebGpuBackend } from "./webgpu.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createWebGpuBackend(); // throws without a GPU adapter
 * const x = backend.tensor(new Float32Array([1, 2, 3]), [3]);
 * const y = backend.allocate([3]);
 * const keep = backend.allocate([1], "uint32");
 * const scale = backend.allocate([1]);
 * backend.upload(keep, new Uint32Array([2 ** 24])); // keep everything
 * backend.upload(scale, new Float32Array([2]));
 * backend.run("mask_scale", { x, keep, scale, y, rows: 1, cols: 3, key: 9, offset: 0 });
 * deepEqual([...(await backend.read(y))], [2, 4, 6]);
 * backend.dispose();
 * ```
 */
export class WebGpuBackend extends BaseBackend {
  readonly name = "webgpu" as const;
  /** The device that holds the tensors and runs the kernels. */
  readonly device: GPUDevice;
  readonly #ownsDevice: boolean;
  readonly #programs: Record<KernelName, Program>;
  /** Live tensor buffers, destroyed by {@linkcode WebGpuBackend.dispose}. */
  readonly #buffers = new Set<GPUBuffer>();
  /** Scratch for one kernel's uniforms, copied into the batch's slot. */
  readonly #params = new ArrayBuffer(MAX_UNIFORM_BYTES);
  readonly #u32 = new Uint32Array(this.#params);
  readonly #f32 = new Float32Array(this.#params);
  /**
   * One uniform slot per dispatch of a batch. A batch's uniforms must be
   * distinct memory: `queue.writeBuffer` lands before everything submitted
   * after it, so one buffer per kernel would hand every dispatch of a batch
   * the last values written.
   */
  readonly #ring: GPUBuffer;
  /**
   * Bytes between slots: the largest `Params` rounded up to a multiple of the
   * device's uniform offset alignment.
   */
  readonly #slotBytes: number;
  /** Host image of the open batch's slots, written to the ring on submit. */
  readonly #slots: Uint8Array;
  /** The open batch: its encoder and how many slots it uses. */
  #encoder: GPUCommandEncoder | undefined;
  #used = 0;
  /** Buffers released while the open batch may use them: destroyed after it. */
  #doomed: GPUBuffer[] = [];
  #disposed = false;

  protected readonly kernels: KernelTable = {
    count_active: (a) => {
      const n = a.rows * a.cols;
      this.#u32.set([n, a.cols, 0, 0]);
      // The atomic adds start from zeros, which are also the counts of
      // rows with cols = 0.
      const clear = (e: GPUCommandEncoder) =>
        e.clearBuffer(a.counts.storage as GPUBuffer);
      this.#dispatch(
        "count_active",
        a,
        n / (WORKGROUP_SIZE * COUNT_RUN),
        clear,
      );
    },
    jumpout_params: (a) => {
      this.#u32.set([a.rows, a.cols, a.maxDrop, a.normalize ? 1 : 0]);
      // The float64 power as a float plus its remainder: the exponent of the
      // power reaches 24 * power, where a float's rounding of power shows.
      this.#f32[4] = a.power;
      this.#f32[5] = a.power - this.#f32[4];
      this.#dispatch("jumpout_params", a, a.rows / WORKGROUP_SIZE);
    },
    mask_scale: (a) => {
      const n = a.rows * a.cols;
      this.#u32.set([n, a.cols, a.key, a.offset]);
      this.#dispatch("mask_scale", a, n / (4 * WORKGROUP_SIZE));
    },
    matmul: (a) => {
      const tilesN = Math.ceil(a.n / MATMUL_TILE);
      this.#u32.set([a.m, a.n, a.k, +a.transA, +a.transB, tilesN]);
      this.#dispatch("matmul", a, Math.ceil(a.m / MATMUL_TILE) * tilesN);
    },
    bias_add: (a) => {
      const n = a.outer * a.channels * a.inner;
      this.#u32.set([n, a.channels, a.inner]);
      this.#dispatch("bias_add", a, n / WORKGROUP_SIZE);
    },
    bias_grad: (a) => {
      // outer * inner may pass 2^32 only when channels is 0: no dispatch.
      const count = a.outer * a.inner, lanes = reductionLanes(count);
      this.#u32.set([a.channels, a.inner, count, lanes]);
      this.#dispatch("bias_grad", a, a.channels * lanes / WORKGROUP_SIZE);
    },
    relu: (a) => {
      this.#u32[0] = a.n;
      this.#dispatch("relu", a, a.n / (4 * WORKGROUP_SIZE));
    },
    relu_backward: (a) => {
      this.#u32[0] = a.n;
      this.#dispatch("relu_backward", a, a.n / (4 * WORKGROUP_SIZE));
    },
    im2col: (a) => {
      const n = a.cols.size;
      if (n > 0) this.#convParams("im2col", a, n);
      this.#dispatch("im2col", a, n / WORKGROUP_SIZE);
    },
    col2im: (a) => {
      const n = a.x.size;
      if (n > 0) this.#convParams("col2im", a, n);
      this.#dispatch("col2im", a, n / WORKGROUP_SIZE);
    },
    transpose: (a) => {
      const n = a.rows * a.cols * a.inner;
      this.#u32.set([n, a.rows, a.cols, a.inner]);
      this.#dispatch("transpose", a, n / WORKGROUP_SIZE);
    },
    channel_stats: (a) => {
      const count = a.outer * a.inner, lanes = reductionLanes(count);
      this.#u32.set([a.channels, a.inner, count, lanes]);
      this.#dispatch("channel_stats", a, a.channels * lanes / WORKGROUP_SIZE);
    },
    batchnorm_forward: (a) => {
      const n = a.outer * a.channels * a.inner;
      this.#u32.set([n, a.channels, a.inner]);
      this.#f32[3] = a.epsilon;
      this.#dispatch("batchnorm_forward", a, n / WORKGROUP_SIZE);
    },
    batchnorm_backward: (a) => {
      const count = a.outer * a.inner, lanes = reductionLanes(count);
      this.#u32.set([a.channels, a.inner, count, lanes]);
      this.#f32[4] = a.epsilon;
      const groups = a.channels * lanes / WORKGROUP_SIZE;
      this.#dispatch("batchnorm_backward", a, groups);
    },
    axpby: (a) => {
      this.#u32[0] = a.n;
      this.#f32[1] = a.alpha;
      this.#f32[2] = a.beta;
      this.#u32[3] = a.beta === 0 ? 1 : 0;
      this.#dispatch("axpby", a, a.n / (4 * WORKGROUP_SIZE));
    },
    maxpool_forward: (a) => {
      const n = a.y.size;
      if (n > 0) this.#poolParams("maxpool_forward", a, n);
      this.#dispatch("maxpool_forward", a, n / WORKGROUP_SIZE);
    },
    maxpool_backward: (a) => {
      const n = a.dx.size;
      if (n > 0) this.#poolParams("maxpool_backward", a, n);
      this.#dispatch("maxpool_backward", a, n / WORKGROUP_SIZE);
    },
    row_broadcast: (a) => {
      this.#u32.set([a.rows * a.cols, a.cols]);
      this.#f32[2] = a.alpha;
      this.#dispatch("row_broadcast", a, a.rows * a.cols / WORKGROUP_SIZE);
    },
    softmax_cross_entropy: (a) => {
      this.#u32.set([a.rows, a.cols]);
      this.#f32[2] = a.rows === 0 ? 0 : 1 / a.rows;
      this.#f32[3] = NaN; // The loss of a label out of range.
      // Always one workgroup: it also writes the [0, 0] of no rows.
      this.#dispatch("softmax_cross_entropy", a, 1);
    },
    sgd_update: (a) => {
      this.#u32[0] = a.n;
      this.#f32.set([a.lr, a.momentum, a.weightDecay], 1);
      this.#u32[4] = a.nesterov ? 1 : 0;
      this.#dispatch("sgd_update", a, a.n / (4 * WORKGROUP_SIZE));
    },
    adam_update: (a) => {
      this.#u32[0] = a.n;
      // 1 - beta and the bias corrections 1 - beta^step in float64: in
      // float32, beta^step rounds away the small gaps from 1 that matter.
      this.#f32.set([
        a.lr,
        a.beta1,
        a.beta2,
        1 - a.beta1,
        1 - a.beta2,
        a.epsilon,
        a.weightDecay,
        1 - a.beta1 ** a.step,
        1 - a.beta2 ** a.step,
      ], 1);
      this.#dispatch("adam_update", a, a.n / (4 * WORKGROUP_SIZE));
    },
  };

  /**
   * Makes a backend on a device; {@linkcode createWebGpuBackend} finds one.
   *
   * @param device The device to run on. The backend builds its pipelines on it
   * now; it destroys the device on {@linkcode WebGpuBackend.dispose} only when
   * `ownsDevice` is true.
   * @param ownsDevice Whether the backend owns the device.
   *
   * @example Bring your own device
   * ```ts ignore
   * import { WebGpuBackend } from "./webgpu.ts";
   * import { equal } from "node:assert/strict";
   *
   * const adapter = await navigator.gpu.requestAdapter();
   * const device = await adapter!.requestDevice();
   * const backend = new WebGpuBackend(device);
   * equal(backend.name, "webgpu");
   * backend.dispose(); // frees the tensors, leaves the device
   * device.destroy();
   * ```
   */
  constructor(device: GPUDevice, ownsDevice = false) {
    super();
    this.device = device;
    this.#ownsDevice = ownsDevice;
    const programs: Partial<Record<KernelName, Program>> = {};
    for (const kernel of Object.keys(BINDINGS) as KernelName[]) {
      programs[kernel] = buildProgram(device, kernel);
    }
    this.#programs = programs as Record<KernelName, Program>;
    this.#slotBytes = uniformSlotBytes(
      device.limits.minUniformBufferOffsetAlignment,
    );
    this.#slots = new Uint8Array(BATCH_DISPATCHES * this.#slotBytes);
    this.#ring = device.createBuffer({
      label: "kernel params",
      size: this.#slots.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  protected createStorage(size: number, _dtype: DType): GPUBuffer {
    this.#checkAlive("allocate a tensor");
    // The kernels read and write whole vec4s: round up to 16 bytes, zeros.
    const bytes = Math.max(16, Math.ceil(size / 4) * 16);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new RangeError(
        `Cannot allocate a tensor: the webgpu backend's buffers hold at most ${limit} bytes, got ${size} elements (${
          size * 4
        } bytes)`,
      );
    }
    const buffer = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC |
        GPUBufferUsage.COPY_DST,
    });
    this.#buffers.add(buffer);
    return buffer;
  }

  protected writeStorage(tensor: Tensor, data: HostArray<DType>): void {
    this.#checkAlive("upload to a tensor");
    if (data.length === 0) return;
    // The write lands before anything submitted later: kernels queued
    // before it must be submitted first.
    this.#submit();
    this.device.queue.writeBuffer(tensor.storage as GPUBuffer, 0, data);
  }

  protected async readStorage(tensor: Tensor): Promise<HostArray<DType>> {
    this.#checkAlive("read a tensor");
    const type = tensor.dtype === "float32" ? Float32Array : Uint32Array;
    const bytes = tensor.size * 4;
    if (bytes === 0) return new type(0);
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      // The copy joins the queued kernels' submission.
      this.#batch().copyBufferToBuffer(
        tensor.storage as GPUBuffer,
        0,
        staging,
        0,
        bytes,
      );
      this.#submit();
      await staging.mapAsync(GPUMapMode.READ);
      return new type(staging.getMappedRange().slice(0));
    } finally {
      staging.destroy();
    }
  }

  protected freeStorage(tensor: Tensor): void {
    const buffer = tensor.storage as GPUBuffer;
    this.#buffers.delete(buffer);
    // A destroyed buffer fails the submission that uses it: one the open
    // batch may use goes once the batch is submitted.
    if (this.#encoder === undefined) buffer.destroy();
    else this.#doomed.push(buffer);
  }

  /**
   * Destroys every tensor buffer and pipeline resource, and the device when
   * the backend owns it (it does when {@linkcode createWebGpuBackend} made
   * it). Kernels queued and not yet submitted are dropped. The backend is
   * unusable afterwards.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#encoder = undefined;
    for (const buffer of [...this.#buffers, ...this.#doomed]) buffer.destroy();
    this.#buffers.clear();
    this.#doomed = [];
    this.#ring.destroy();
    if (this.#ownsDevice) this.device.destroy();
  }

  /** Throws once the backend is disposed. */
  #checkAlive(what: string): void {
    if (this.#disposed) {
      throw new TypeError(
        `Cannot ${what}: the webgpu backend must be live, got a disposed backend`,
      );
    }
  }

  /**
   * The open batch's encoder, opening one (and scheduling its submission at
   * the end of the current task) when none is open.
   */
  #batch(): GPUCommandEncoder {
    if (this.#encoder === undefined) {
      this.#encoder = this.device.createCommandEncoder();
      queueMicrotask(() => this.#submit());
    }
    return this.#encoder;
  }

  /** Submits the open batch, if any: its uniforms first, then its commands. */
  #submit(): void {
    const encoder = this.#encoder;
    if (encoder === undefined || this.#disposed) return;
    const { queue } = this.device;
    if (this.#used > 0) {
      queue.writeBuffer(
        this.#ring,
        0,
        this.#slots,
        0,
        this.#used * this.#slotBytes,
      );
    }
    queue.submit([encoder.finish()]);
    this.#encoder = undefined;
    this.#used = 0;
    for (const buffer of this.#doomed) buffer.destroy();
    this.#doomed = [];
  }

  /**
   * Queues one kernel: `prepare`, then `workgroups` workgroups (rounded up;
   * none when 0) over a 2-D grid with the uniforms now in `#params`.
   */
  #dispatch<K extends KernelName>(
    kernel: K,
    args: KernelArgs[K],
    workgroups: number,
    prepare?: (encoder: GPUCommandEncoder) => void,
  ): void {
    this.#checkAlive(`run ${kernel}`);
    const program = this.#programs[kernel];
    const buffers = program.tensors.map((name) =>
      (args as unknown as Record<string, Tensor>)[name].storage as GPUBuffer
    );
    const groups = Math.ceil(workgroups);
    if (groups === 0 && prepare === undefined) return;
    if (this.#used === BATCH_DISPATCHES) this.#submit();
    const encoder = this.#batch();
    prepare?.(encoder);
    if (groups === 0) return;
    for (const i of readWriteConflicts(program.access, buffers)) {
      buffers[i] = this.#snapshot(encoder, buffers[i]);
    }
    const offset = this.#used++ * this.#slotBytes;
    const size = UNIFORM_BYTES[kernel];
    this.#slots.set(new Uint8Array(this.#params, 0, size), offset);
    const bindGroup = this.device.createBindGroup({
      layout: program.layout,
      entries: [
        { binding: 0, resource: { buffer: this.#ring, offset, size } },
        ...buffers.map((buffer, i) => ({
          binding: i + 1,
          resource: { buffer },
        })),
      ],
    });
    const pass = encoder.beginComputePass();
    pass.setPipeline(program.pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y] = dispatchGrid(groups);
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }

  /**
   * A copy of `buffer` as the open batch has it at this point, for one
   * dispatch to read; destroyed once the batch is submitted.
   */
  #snapshot(encoder: GPUCommandEncoder, buffer: GPUBuffer): GPUBuffer {
    const copy = this.device.createBuffer({
      size: buffer.size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    encoder.copyBufferToBuffer(buffer, 0, copy, 0, buffer.size);
    this.#doomed.push(copy);
    return copy;
  }

  /** Writes `im2col`'s and `col2im`'s `Params` for `n` invocations. */
  #convParams(kernel: KernelName, a: ConvGeometry, n: number): void {
    checkSpan(kernel, a);
    this.#u32.set([
      n,
      a.batch,
      a.channels,
      a.height,
      a.width,
      Math.min(a.kernelH, 2 ** 31),
      Math.min(a.kernelW, 2 ** 31),
      Math.min(a.stride, 2 ** 31),
      a.padding,
      outputSize(a.height, a.kernelH, a.stride, a.padding),
      outputSize(a.width, a.kernelW, a.stride, a.padding),
    ]);
  }

  /** Writes the pooling kernels' `Params` for `n` invocations. */
  #poolParams(kernel: KernelName, a: PoolGeometry, n: number): void {
    checkSpan(kernel, a);
    this.#u32.set([
      n,
      a.height,
      a.width,
      Math.min(a.kernel, 2 ** 31),
      Math.min(a.stride, 2 ** 31),
      a.padding,
      outputSize(a.height, a.kernel, a.stride, a.padding),
      outputSize(a.width, a.kernel, a.stride, a.padding),
    ]);
  }
}

/**
 * The 2-D grid a dispatch of `groups` workgroups uses: rows of 256, wider
 * when that would take more than 65535 rows (one dimension's limit). Shaders
 * number their workgroups `wid.y * num_workgroups.x + wid.x` and skip those
 * past the end.
 *
 * @param groups Workgroups needed, at most 65535².
 * @returns Workgroups along x and along y.
 *
 * @example Grids of a few sizes
 * ```ts
 * import { dispatchGrid } from "./webgpu.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(dispatchGrid(3), [3, 1]);
 * deepEqual(dispatchGrid(257), [256, 2]);
 * deepEqual(dispatchGrid(2 ** 24 + 1), [257, 65281]);
 * ```
 */
export function dispatchGrid(groups: number): [number, number] {
  const width = groups <= GRID_WIDTH * MAX_GRID_SIDE
    ? Math.min(groups, GRID_WIDTH)
    : Math.ceil(groups / MAX_GRID_SIDE);
  return [width, Math.ceil(groups / width)];
}

/**
 * Invocations that share one row or channel of a reduction: the fewest (a
 * power of two up to a workgroup) that leave each at most
 * {@linkcode LANE_VALUES} values, so that a workgroup takes several short
 * rows at once instead of idling through a tree of barriers for each.
 */
function reductionLanes(count: number): number {
  let lanes = 1;
  while (lanes < WORKGROUP_SIZE && lanes * LANE_VALUES < count) lanes *= 2;
  return lanes;
}

/**
 * Throws when the padded image passes 2^31 cells along a side: the shaders
 * place windows with signed 32-bit coordinates. (Strides and window sizes
 * past the padded image act alike, so they are passed clamped.)
 */
function checkSpan(
  kernel: KernelName,
  a: { height: number; width: number; padding: number },
): void {
  const span = Math.max(a.height, a.width) + 2 * a.padding;
  if (span >= 2 ** 31) {
    throw new RangeError(
      `Cannot run ${kernel}: the padded image (height or width + 2 * padding) must be below 2^31 cells on the webgpu backend, got ${span}`,
    );
  }
}

/** Compiles one kernel's shader into a pipeline with an explicit layout. */
function buildProgram(device: GPUDevice, kernel: KernelName): Program {
  const tensors = BINDINGS[kernel];
  const access = tensors.map((name) => bindingAccess(kernel, name));
  const layout = device.createBindGroupLayout({
    label: kernel,
    entries: [
      {
        binding: 0,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform" },
      },
      ...access.map((mode, i) => ({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: {
          type: mode === "read"
            ? "read-only-storage" as const
            : "storage" as const,
        },
      })),
    ],
  });
  const pipeline = device.createComputePipeline({
    label: kernel,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: {
      module: device.createShaderModule({
        label: kernel,
        code: SHADERS[kernel],
      }),
      entryPoint: "main",
      constants: CONSTANTS[kernel] ?? { WORKGROUP_SIZE },
    },
  });
  return { pipeline, layout, tensors, access };
}

/**
 * The bindings declared `read` whose buffer is also bound `read_write` in
 * the same dispatch, which WebGPU rejects. The kernels' contract lets only
 * inputs share storage with each other (outputs share only with the inputs
 * they write in place, both bound `read_write`), so both bindings are
 * inputs and a copy of the buffer holds the same values.
 */
function readWriteConflicts(
  access: readonly Access[],
  buffers: readonly GPUBuffer[],
): number[] {
  const written = new Set(buffers.filter((_, i) => access[i] === "read_write"));
  return access.flatMap((mode, i) =>
    mode === "read" && written.has(buffers[i]) ? [i] : []
  );
}

/**
 * Bytes between the uniform slots of a batch: the largest `Params` struct
 * rounded up to a multiple of the device's uniform offset alignment, since
 * each slot's offset must be a multiple of it.
 *
 * @param alignment The device's `minUniformBufferOffsetAlignment` (a power
 *   of two).
 * @returns The slot size in bytes.
 *
 * @example Alignments below, between and above the largest struct
 * ```ts
 * import { uniformSlotBytes } from "./webgpu.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(uniformSlotBytes(16), 48);
 * equal(uniformSlotBytes(32), 64);
 * equal(uniformSlotBytes(256), 256);
 * ```
 */
export function uniformSlotBytes(alignment: number): number {
  return Math.ceil(MAX_UNIFORM_BYTES / alignment) * alignment;
}

/**
 * Makes the webgpu backend on the runtime's GPU, with the largest buffers the
 * adapter allows.
 *
 * @param device A device to run on instead; the backend then leaves it alive
 * on dispose.
 * @returns The backend, its pipelines built.
 * @throws {Error} When the runtime offers no GPU adapter.
 *
 * @example Make the backend when a GPU is present
 * ```ts ignore
 * import { createWebGpuBackend } from "./webgpu.ts";
 * import { equal } from "node:assert/strict";
 *
 * const backend = await createWebGpuBackend();
 * equal(backend.name, "webgpu");
 * backend.dispose();
 * ```
 */
export async function createWebGpuBackend(
  device?: GPUDevice,
): Promise<WebGpuBackend> {
  if (device !== undefined) return await build(device, false);
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  if (!adapter) {
    throw new Error("Cannot create the webgpu backend: no GPU adapter found");
  }
  const owned = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  return await build(owned, true);
}

/** Makes the backend, turning shader or pipeline errors into a rejection. */
async function build(
  device: GPUDevice,
  ownsDevice: boolean,
): Promise<WebGpuBackend> {
  device.pushErrorScope("validation");
  const backend = new WebGpuBackend(device, ownsDevice);
  const error = await device.popErrorScope();
  if (error !== null) {
    backend.dispose();
    throw new Error(`Cannot create the webgpu backend: ${error.message}`);
  }
  return backend;
}
