/**
 * The webgpu backend: tensors are GPU buffers that stay on the device between
 * kernels, and each kernel is one compute pipeline built from `shaders/`.
 *
 * @module
 */

import { contractOf } from "./_contracts.ts";
import {
  colsDepth,
  colsPositions,
  KERNELS,
  outputSize,
  type ScalarKind,
} from "./kernels.ts";
import type {
  ConvGeometry,
  KernelArgs,
  KernelName,
  PoolGeometry,
} from "../backend.ts";
import type { DType, HostArray, Tensor } from "../backend.ts";
import { BaseBackend, type KernelTable } from "./_base.ts";
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

/** A storage binding's access mode, as WGSL spells it. */
type Access = "read" | "read_write";

/**
 * How a kernel's WGSL declares tensor `name`. Which tensors may share
 * storage is the kernels' contract ({@linkcode KERNELS}), checked before
 * a kernel runs; WebGPU adds one rule of its own: a buffer bound `read` must
 * not also be bound `read_write` in the same dispatch (two `read` bindings or
 * two `read_write` ones may share it). So outputs, and the inputs an output
 * may be written in place over, bind `read_write` (each invocation reads its
 * elements before it writes them); other inputs bind `read`, and one that
 * shares its buffer with an input bound `read_write` is bound as a copy
 * instead (see {@linkcode readWriteConflicts}).
 *
 * @param kernel The kernel.
 * @param name One of its tensor arguments.
 * @returns How the shader binds it.
 *
 * @example `relu` may write `y` over `x`, so both are bound `read_write`
 * ```ts
 * import { bindingAccess } from "./webgpu.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(bindingAccess("relu", "x"), "read_write");
 * equal(bindingAccess("matmul", "a"), "read");
 * ```
 */
export function bindingAccess(kernel: KernelName, name: string): Access {
  const { outputs } = contractOf(kernel);
  return Object.hasOwn(outputs, name) ||
      Object.values(outputs).some((shared) => shared.includes(name))
    ? "read_write"
    : "read";
}

/** A field of a uniform `Params` struct: its WGSL name and type. */
export interface UniformField {
  /** The field's name in WGSL (snake_case). */
  readonly name: string;
  /** Its WGSL type. */
  readonly type: "u32" | "f32";
}

/** A `Params` field of a program's own, and how to compute it. */
interface Uniform<A> extends Omit<UniformField, "name"> {
  readonly value: (a: A) => number;
}

/** A `u32` field computed from the arguments. */
function u32<A>(value: (a: A) => number): Uniform<A> {
  return { type: "u32", value };
}

/** An `f32` field computed from the arguments. */
function f32<A>(value: (a: A) => number): Uniform<A> {
  return { type: "f32", value };
}

/**
 * What the webgpu backend adds to a kernel's contract to run its shader:
 * the dispatch size, and the `Params` fields after the kernel's arguments.
 */
interface GpuProgram<A> {
  /** Workgroups to dispatch (rounded up; none when 0). */
  readonly groups: (a: A) => number;
  /**
   * The shader's own `Params` fields, in order, after the kernel's
   * arguments and derived values.
   */
  readonly uniforms?: Readonly<Record<string, Uniform<A>>>;
  /** Pipeline override constants; `{ WORKGROUP_SIZE }` unless given. */
  readonly constants?: Readonly<Record<string, number>>;
  /** Commands recorded before the dispatch, even when no workgroup runs. */
  readonly before?: (a: A, encoder: GPUCommandEncoder) => void;
  /**
   * Checks arguments before a dispatch of at least one workgroup; returns
   * the arguments the shader gets.
   */
  readonly prepare?: (a: A, kernel: KernelName) => A;
}

/** `n` elements, four per invocation. */
const vec4Groups = (n: number) => n / (4 * WORKGROUP_SIZE);

/** Per-channel reductions: lanes per channel, and the count they share. */
const REDUCTION = {
  count: u32((a: ChannelSizes) => a.outer * a.inner),
  lanes: u32((a: ChannelSizes) => reductionLanes(a.outer * a.inner)),
};

/** The sizes of a per-channel kernel's tensors. */
interface ChannelSizes {
  outer: number;
  inner: number;
}

/** The output sides of a convolution, as `out_h` and `out_w`. */
const CONV_OUTPUT = {
  out_h: u32((a: ConvGeometry) =>
    outputSize(a.height, a.kernelH, a.stride, a.padding)
  ),
  out_w: u32((a: ConvGeometry) =>
    outputSize(a.width, a.kernelW, a.stride, a.padding)
  ),
};

/** The output sides of a pooling, as `out_h` and `out_w`. */
const POOL_OUTPUT = {
  out_h: u32((a: PoolGeometry) =>
    outputSize(a.height, a.kernel, a.stride, a.padding)
  ),
  out_w: u32((a: PoolGeometry) =>
    outputSize(a.width, a.kernel, a.stride, a.padding)
  ),
};

/**
 * An average pooling's divisor as `inv_area`, `1 / kernel²` rounded once from
 * float64. (A kernel clamped by `clampedPool` has no window to divide.)
 */
const INV_AREA = f32((a: PoolGeometry) => 1 / (a.kernel * a.kernel));

/** Every kernel's program, by name. */
const PROGRAMS: { readonly [K in KernelName]: GpuProgram<KernelArgs[K]> } = {
  count_active: {
    groups: (a) => a.rows * a.cols / (WORKGROUP_SIZE * COUNT_RUN),
    uniforms: { n: u32((a) => a.rows * a.cols) },
    constants: { WORKGROUP_SIZE, RUN: COUNT_RUN },
    // The atomic adds start from zeros, which are also the counts of rows
    // with cols = 0. Only `rows` of them: `counts` may view a bigger buffer.
    before: (a, encoder) =>
      encoder.clearBuffer(a.counts.storage as GPUBuffer, 0, a.rows * 4),
  },
  jumpout_params: {
    groups: (a) => a.rows / WORKGROUP_SIZE,
    // The float64 power as a float plus its remainder: the exponent of the
    // power reaches 24 * power, where a float's rounding of power shows.
    uniforms: { power_low: f32((a) => a.power - Math.fround(a.power)) },
  },
  mask_scale: {
    groups: (a) => vec4Groups(a.rows * a.cols),
    uniforms: { n: u32((a) => a.rows * a.cols) },
  },
  matmul: {
    groups: (a) => Math.ceil(a.m / MATMUL_TILE) * Math.ceil(a.n / MATMUL_TILE),
    uniforms: { tiles_n: u32((a) => Math.ceil(a.n / MATMUL_TILE)) },
    constants: {}, // Its tile shape is fixed in the shader.
  },
  bias_add: {
    groups: (a) => a.outer * a.channels * a.inner / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.outer * a.channels * a.inner) },
  },
  bias_grad: {
    // outer * inner may pass 2^32 only when channels is 0: no dispatch.
    groups: (a) =>
      a.channels * reductionLanes(a.outer * a.inner) / WORKGROUP_SIZE,
    uniforms: REDUCTION,
  },
  relu: { groups: (a) => vec4Groups(a.n) },
  relu_backward: { groups: (a) => vec4Groups(a.n) },
  im2col: {
    groups: (a) => a.cols.size / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.cols.size), ...CONV_OUTPUT },
    prepare: clampedConv,
  },
  col2im: {
    groups: (a) => a.x.size / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.x.size), ...CONV_OUTPUT },
    prepare: clampedConv,
  },
  matmul_im2col: {
    groups: (a) => a.c.size / WORKGROUP_SIZE,
    uniforms: {
      n: u32((a) => a.c.size),
      ...CONV_OUTPUT,
      depth: u32(colsDepth),
      positions: u32(colsPositions),
    },
    prepare: clampedConv,
  },
  transpose: {
    groups: (a) => a.rows * a.cols * a.inner / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.rows * a.cols * a.inner) },
  },
  channel_stats: {
    groups: (a) =>
      a.channels * reductionLanes(a.outer * a.inner) / WORKGROUP_SIZE,
    uniforms: REDUCTION,
  },
  batchnorm_forward: {
    groups: (a) => a.outer * a.channels * a.inner / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.outer * a.channels * a.inner) },
  },
  batchnorm_backward: {
    groups: (a) =>
      a.channels * reductionLanes(a.outer * a.inner) / WORKGROUP_SIZE,
    uniforms: REDUCTION,
  },
  axpby: {
    groups: (a) => vec4Groups(a.n),
    uniforms: { beta_zero: u32((a) => a.beta === 0 ? 1 : 0) },
  },
  maxpool_forward: {
    groups: (a) => a.y.size / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.y.size), ...POOL_OUTPUT },
    prepare: clampedPool,
  },
  maxpool_backward: {
    groups: (a) => a.dx.size / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.dx.size), ...POOL_OUTPUT },
    prepare: clampedPool,
  },
  avgpool_forward: {
    groups: (a) => a.y.size / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.y.size), ...POOL_OUTPUT, inv_area: INV_AREA },
    prepare: clampedPool,
  },
  avgpool_backward: {
    groups: (a) => a.dx.size / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.dx.size), ...POOL_OUTPUT, inv_area: INV_AREA },
    prepare: clampedPool,
  },
  row_broadcast: {
    groups: (a) => a.rows * a.cols / WORKGROUP_SIZE,
    uniforms: { n: u32((a) => a.rows * a.cols) },
  },
  softmax_cross_entropy: {
    // Always one workgroup: it also writes the [0, 0] of no rows.
    groups: () => 1,
    uniforms: {
      inv_rows: f32((a) => a.rows === 0 ? 0 : 1 / a.rows),
      nan: f32(() => NaN), // The loss of a label out of range.
    },
  },
  sgd_update: { groups: (a) => vec4Groups(a.n) },
  adam_update: {
    groups: (a) => vec4Groups(a.n),
    // In float64, as the corrections: a float32 beta loses the gap to 1.
    uniforms: {
      one_minus_beta1: f32((a) => 1 - a.beta1),
      one_minus_beta2: f32((a) => 1 - a.beta2),
    },
  },
};

/** A field of `Params` with how to compute it from the arguments. */
interface PackedField extends UniformField {
  readonly value: (a: Readonly<Record<string, unknown>>) => number;
}

/**
 * A kernel's `Params` fields in order: its arguments, its derived values,
 * then its program's own fields.
 */
function packedFields(kernel: KernelName): PackedField[] {
  const contract = contractOf(kernel);
  const own = (PROGRAMS[kernel] as GpuProgram<unknown>).uniforms ?? {};
  return [
    ...Object.entries(contract.scalars).map(([name, kind]) => ({
      name: snakeCase(name),
      type: FLOAT_KINDS.has(kind) ? "f32" as const : "u32" as const,
      value: (a: Readonly<Record<string, unknown>>) =>
        +(a[name] as number | boolean),
    })),
    ...Object.entries(contract.derived ?? {}).map(([name, value]) => ({
      name: snakeCase(name),
      type: "f32" as const,
      value,
    })),
    ...Object.entries(own).map(([name, field]) => ({
      name,
      type: field.type,
      value: field.value as PackedField["value"],
    })),
  ];
}

/** The argument kinds passed as `f32`; the others are `u32`. */
const FLOAT_KINDS: ReadonlySet<ScalarKind> = new Set([
  "finite",
  "nonNegative",
  "unit",
]);

/** `kernelH` as WGSL names it: `kernel_h`. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/**
 * The fields of a kernel's uniform `Params` struct, in order, without the
 * padding that rounds it up to 16 bytes: what its shader must declare.
 *
 * @param kernel The kernel.
 * @returns Its fields.
 *
 * @example `mask_scale`'s arguments, then the element count
 * ```ts
 * import { uniformLayout } from "./webgpu.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(uniformLayout("mask_scale").map((f) => f.name), ["rows", "cols", "key", "offset", "n"]);
 * ```
 */
export function uniformLayout(kernel: KernelName): UniformField[] {
  return packedFields(kernel).map(({ name, type }) => ({ name, type }));
}

/** Bytes of a `Params` struct of `fields` fields: whole 16-byte rows. */
function uniformBytes(fields: number): number {
  return Math.max(16, Math.ceil(fields / 4) * 16);
}

/** Bytes of the largest `Params` struct. */
const MAX_UNIFORM_BYTES = Math.max(
  ...(Object.keys(KERNELS) as KernelName[]).map((kernel) =>
    uniformBytes(packedFields(kernel).length)
  ),
);

/** A kernel ready to dispatch: its pipeline and layout. */
interface Program {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Tensor argument names, in binding order from 1. */
  tensors: readonly string[];
  /** How each of them is bound. */
  access: readonly Access[];
  /** The `Params` fields, in order. */
  fields: readonly PackedField[];
  /** Bytes of `Params`. */
  uniformBytes: number;
  /** How the backend runs it. */
  spec: GpuProgram<Readonly<Record<string, unknown>>>;
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

  protected readonly kernels: KernelTable;

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
    const kernels: Partial<Record<KernelName, (a: unknown) => void>> = {};
    for (const kernel of Object.keys(KERNELS) as KernelName[]) {
      programs[kernel] = buildProgram(device, kernel);
      kernels[kernel] = (a) =>
        this.#dispatch(kernel, a as Readonly<Record<string, unknown>>);
    }
    this.#programs = programs as Record<KernelName, Program>;
    this.kernels = kernels as KernelTable;
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
      // The copy joins the open batch, after the kernels queued so far, and
      // goes with it: the batch's submission was queued as a microtask when
      // it opened, so it runs before this function resumes. Whatever the
      // caller records before its next await (a training step's backward and
      // update after the loss) is submitted with it, in one submission.
      this.#batch().copyBufferToBuffer(
        tensor.storage as GPUBuffer,
        0,
        staging,
        0,
        bytes,
      );
      await null;
      this.#checkAlive("read a tensor");
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
    this.forgetTensors();
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
   * Queues one kernel: its program's `before` commands, then its workgroups
   * (none when 0) over a 2-D grid, with its `Params` packed in table order.
   */
  #dispatch(kernel: KernelName, a: Readonly<Record<string, unknown>>): void {
    this.#checkAlive(`run ${kernel}`);
    const program = this.#programs[kernel];
    const { spec } = program;
    const groups = Math.ceil(spec.groups(a));
    if (groups === 0 && spec.before === undefined) return;
    const args = groups > 0 && spec.prepare !== undefined
      ? spec.prepare(a, kernel)
      : a;
    const buffers = program.tensors.map((name) =>
      (a[name] as Tensor).storage as GPUBuffer
    );
    if (this.#used === BATCH_DISPATCHES) this.#submit();
    const encoder = this.#batch();
    spec.before?.(a, encoder);
    if (groups === 0) return;
    for (const i of readWriteConflicts(program.access, buffers)) {
      buffers[i] = this.#snapshot(encoder, buffers[i]);
    }
    program.fields.forEach((field, i) => {
      if (field.type === "u32") this.#u32[i] = field.value(args);
      else this.#f32[i] = field.value(args);
    });
    const offset = this.#used++ * this.#slotBytes;
    const size = program.uniformBytes;
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

/** A convolution's arguments checked and clamped for the shaders (see {@linkcode checkSpan}). */
function clampedConv<A extends ConvGeometry>(a: A, kernel: KernelName): A {
  checkSpan(kernel, a);
  return {
    ...a,
    kernelH: Math.min(a.kernelH, 2 ** 31),
    kernelW: Math.min(a.kernelW, 2 ** 31),
    stride: Math.min(a.stride, 2 ** 31),
  };
}

/** A pooling's arguments checked and clamped for the shaders (see {@linkcode checkSpan}). */
function clampedPool<A extends PoolGeometry>(a: A, kernel: KernelName): A {
  checkSpan(kernel, a);
  return {
    ...a,
    kernel: Math.min(a.kernel, 2 ** 31),
    stride: Math.min(a.stride, 2 ** 31),
  };
}

/** Compiles one kernel's shader into a pipeline with an explicit layout. */
function buildProgram(device: GPUDevice, kernel: KernelName): Program {
  const tensors = Object.keys(contractOf(kernel).tensors);
  const spec = PROGRAMS[kernel] as GpuProgram<
    Readonly<Record<string, unknown>>
  >;
  const fields = packedFields(kernel);
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
      constants: spec.constants ?? { WORKGROUP_SIZE },
    },
  });
  return {
    pipeline,
    layout,
    tensors,
    access,
    fields,
    uniformBytes: uniformBytes(fields.length),
    spec,
  };
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
 * equal(uniformSlotBytes(16), 80);
 * equal(uniformSlotBytes(32), 96);
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
