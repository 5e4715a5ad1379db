/**
 * The webgpu backend: tensors are GPU buffers that stay on the device between
 * kernels, and each kernel is one compute pipeline built from `shaders/`.
 *
 * @module
 */

import type { KernelArgs, KernelName } from "../backend.ts";
import type { DType, HostArray, Tensor } from "../tensor.ts";
import {
  BaseBackend,
  type KernelTable,
  pendingKernels,
  TRAINING_KERNELS,
} from "./_base.ts";
import { SHADERS } from "./_shaders.ts";

/** Invocations per workgroup of every kernel (their `WORKGROUP_SIZE` override). */
const WORKGROUP_SIZE = 256;
/** Elements each `count_active` invocation reads (its `RUN` override). */
const COUNT_RUN = 16;
/**
 * Workgroups per row of every dispatch grid. One dimension stops at 65535
 * workgroups, so grids fold into rows; folding at 256 already (empty
 * workgroups at the end cost nothing) runs every size above 256 workgroups
 * through the same 2-D indexing, which tests at 2^20 elements then cover.
 * A binding holds at most 2^30 elements, so rows never pass 65535.
 */
const GRID_WIDTH = 256;

/**
 * How each kernel's WGSL declares its tensors: binding 0 is the uniform
 * parameters, then one storage binding per tensor in this order. `read_write`
 * bindings may share a buffer (in-place use); a `read` one may not.
 */
const BINDINGS = {
  count_active: { x: "read", counts: "read_write" },
  jumpout_params: {
    counts: "read_write",
    rate: "read_write",
    keep: "read_write",
    scale: "read_write",
  },
  mask_scale: {
    x: "read_write",
    keep: "read",
    scale: "read",
    y: "read_write",
  },
} as const satisfies Partial<
  Record<KernelName, Record<string, "read" | "read_write">>
>;

/** The kernels that have a shader. */
type ShaderKernel = keyof typeof BINDINGS;

/** Byte size of each kernel's uniform `Params` struct. */
const UNIFORM_BYTES: Record<ShaderKernel, number> = {
  count_active: 16,
  jumpout_params: 32,
  mask_scale: 16,
};

/** Pipeline override constants of each kernel. */
const CONSTANTS: Record<ShaderKernel, Record<string, number>> = {
  count_active: { WORKGROUP_SIZE, RUN: COUNT_RUN },
  jumpout_params: { WORKGROUP_SIZE },
  mask_scale: { WORKGROUP_SIZE },
};

/** A kernel ready to dispatch: its pipeline, layout and uniform buffer. */
interface Program {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  uniforms: GPUBuffer;
  /** Tensor argument names, in binding order from 1. */
  tensors: readonly string[];
}

/**
 * Tensors in GPU buffers; kernels as WGSL compute shaders.
 *
 * Kernels are queued in order and never wait; {@linkcode WebGpuBackend.read}
 * is the only point that waits for the GPU. There is no `readSync`.
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
 * backend.run("mask_scale", { x, keep, scale, y, rows: 1, cols: 3, key: 9 });
 * deepEqual([...(await backend.read(y))], [2, 4, 6]);
 * backend.dispose();
 * ```
 */
export class WebGpuBackend extends BaseBackend {
  readonly name = "webgpu" as const;
  /** The device that holds the tensors and runs the kernels. */
  readonly device: GPUDevice;
  readonly #ownsDevice: boolean;
  readonly #programs: Record<ShaderKernel, Program>;
  /** Live tensor buffers, destroyed by {@linkcode WebGpuBackend.dispose}. */
  readonly #buffers = new Set<GPUBuffer>();
  /** Scratch for one kernel's uniforms, copied out by `writeBuffer`. */
  readonly #params = new ArrayBuffer(32);
  readonly #u32 = new Uint32Array(this.#params);
  readonly #f32 = new Float32Array(this.#params);
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
      this.#u32.set([n, a.cols, a.key, 0]);
      this.#dispatch("mask_scale", a, n / (4 * WORKGROUP_SIZE));
    },

    ...pendingKernels("webgpu", TRAINING_KERNELS),
  } as KernelTable;

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
    const programs: Partial<Record<ShaderKernel, Program>> = {};
    for (const kernel of Object.keys(BINDINGS) as ShaderKernel[]) {
      programs[kernel] = buildProgram(device, kernel);
    }
    this.#programs = programs as Record<ShaderKernel, Program>;
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
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(
        tensor.storage as GPUBuffer,
        0,
        staging,
        0,
        bytes,
      );
      this.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      return new type(staging.getMappedRange().slice(0));
    } finally {
      staging.destroy();
    }
  }

  protected freeStorage(tensor: Tensor): void {
    const buffer = tensor.storage as GPUBuffer;
    this.#buffers.delete(buffer);
    buffer.destroy();
  }

  /**
   * Destroys every tensor buffer and pipeline resource, and the device when
   * the backend owns it (it does when {@linkcode createWebGpuBackend} made
   * it). The backend is unusable afterwards.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const buffer of this.#buffers) buffer.destroy();
    this.#buffers.clear();
    for (const program of Object.values(this.#programs)) {
      program.uniforms.destroy();
    }
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
   * Queues one kernel: its uniforms (already in `#params`), then `prepare`,
   * then `workgroups` workgroups (rounded up; none when 0) over a 2-D grid.
   */
  #dispatch<K extends ShaderKernel>(
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
    checkAliasing(kernel, program.tensors, buffers);
    const groups = Math.ceil(workgroups);
    if (groups === 0 && prepare === undefined) return;
    const { device } = this;
    const encoder = device.createCommandEncoder();
    prepare?.(encoder);
    if (groups > 0) {
      device.queue.writeBuffer(
        program.uniforms,
        0,
        this.#params,
        0,
        UNIFORM_BYTES[kernel],
      );
      const bindGroup = device.createBindGroup({
        layout: program.layout,
        entries: [program.uniforms, ...buffers].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        })),
      });
      const pass = encoder.beginComputePass();
      pass.setPipeline(program.pipeline);
      pass.setBindGroup(0, bindGroup);
      const width = Math.min(groups, GRID_WIDTH);
      pass.dispatchWorkgroups(width, Math.ceil(groups / width));
      pass.end();
    }
    device.queue.submit([encoder.finish()]);
  }
}

/** Compiles one kernel's shader into a pipeline with an explicit layout. */
function buildProgram(device: GPUDevice, kernel: ShaderKernel): Program {
  const access: Record<string, "read" | "read_write"> = BINDINGS[kernel];
  const tensors = Object.keys(access);
  const layout = device.createBindGroupLayout({
    label: kernel,
    entries: [
      {
        binding: 0,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform" },
      },
      ...tensors.map((name, i) => ({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: {
          type: access[name] === "read"
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
      constants: CONSTANTS[kernel],
    },
  });
  const uniforms = device.createBuffer({
    label: `${kernel} params`,
    size: UNIFORM_BYTES[kernel],
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  return { pipeline, layout, uniforms, tensors };
}

/**
 * Throws when a buffer bound read-only is also bound elsewhere in the same
 * dispatch, which WebGPU rejects.
 */
function checkAliasing(
  kernel: ShaderKernel,
  names: readonly string[],
  buffers: readonly GPUBuffer[],
): void {
  const access: Record<string, "read" | "read_write"> = BINDINGS[kernel];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const readOnly = access[names[i]] === "read" ||
        access[names[j]] === "read";
      if (readOnly && buffers[i] === buffers[j]) {
        throw new TypeError(
          `Cannot run ${kernel}: ${names[i]} and ${
            names[j]
          } must be different tensors on the webgpu backend, got the same tensor`,
        );
      }
    }
  }
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
