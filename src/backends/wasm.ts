/**
 * The wasm backend: tensors live in one `WebAssembly.Memory` that JavaScript
 * owns; the kernels (AssemblyScript with 128-bit SIMD, `asm/`) take byte
 * offsets into it, so running a kernel copies nothing.
 *
 * @module
 */

import type { KernelArgs } from "../backend.ts";
import type { DType, HostArray, Tensor } from "../tensor.ts";
import {
  BaseBackend,
  type KernelTable,
  pendingKernels,
  TRAINING_KERNELS,
} from "./_base.ts";
import { KERNELS_WASM_BASE64 } from "./_wasm_bytes.ts";
import { WasmHeap } from "./_wasm_heap.ts";

/** The memory's ceiling in 64 KiB pages (4 GiB, all a 32-bit offset reaches). */
const MAX_PAGES = 65536;

/** What the kernels module exports (see `asm/`); pointers are byte offsets. */
interface KernelExports {
  count_active(x: number, counts: number, rows: number, cols: number): void;
  jumpout_params(
    counts: number,
    rate: number,
    keep: number,
    scale: number,
    rows: number,
    cols: number,
    maxDrop: number,
    normalize: number,
    power: number,
  ): void;
  mask_scale(
    x: number,
    keep: number,
    scale: number,
    y: number,
    rows: number,
    cols: number,
    key: number,
  ): void;
  heap_base(): number;
}

/** The compiled embedded module, once per process. */
let compiled: Promise<WebAssembly.Module> | undefined;

/** Compiles the embedded kernels on first use; later calls share the result. */
function kernelsModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(decodeBase64(KERNELS_WASM_BASE64)).catch(
    (error) => {
      compiled = undefined;
      throw error;
    },
  );
  return compiled;
}

/**
 * Makes a wasm backend with a memory of its own.
 *
 * @param module The compiled kernels; the embedded ones (compiled once per
 *   process) unless given, e.g. a module posted from another thread.
 * @returns The backend, ready to use.
 * @throws {TypeError} When `module` does not export the kernels.
 *
 * @example Make a wasm backend
 * ```ts
 * import { createWasmBackend } from "./wasm.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createWasmBackend();
 * const x = backend.tensor(new Float32Array([1, 0, -1, 2]), [4]);
 * const counts = backend.allocate([1], "uint32");
 * backend.run("count_active", { x, counts, rows: 1, cols: 4 });
 * deepEqual([...backend.readSync(counts)], [2]);
 * backend.dispose();
 * ```
 */
export async function createWasmBackend(
  module?: WebAssembly.Module,
): Promise<WasmBackend> {
  const kernels = module ?? await kernelsModule();
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
  const instance = await WebAssembly.instantiate(kernels, { env: { memory } });
  return new WasmBackend(kernels, instance, memory);
}

/**
 * Tensors in a WebAssembly memory; kernels in WebAssembly SIMD. A tensor's
 * storage is its byte offset in {@linkcode WasmBackend.memory}.
 *
 * @example Mask a tensor by hand
 * ```ts
 * import { createWasmBackend } from "./wasm.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createWasmBackend();
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
export class WasmBackend extends BaseBackend {
  readonly name = "wasm" as const;
  /** The compiled kernels, to instantiate elsewhere (e.g. in a worker). */
  readonly module: WebAssembly.Module;
  /** The memory every tensor of this backend lives in. */
  readonly memory: WebAssembly.Memory;
  readonly #exports: KernelExports;
  readonly #heap: WasmHeap;
  #disposed = false;

  protected readonly kernels: KernelTable = {
    count_active: (a: KernelArgs["count_active"]) =>
      this.#exports.count_active(at(a.x), at(a.counts), a.rows, a.cols),
    jumpout_params: (a: KernelArgs["jumpout_params"]) =>
      this.#exports.jumpout_params(
        at(a.counts),
        at(a.rate),
        at(a.keep),
        at(a.scale),
        a.rows,
        a.cols,
        a.maxDrop,
        a.normalize ? 1 : 0,
        a.power,
      ),
    mask_scale: (a: KernelArgs["mask_scale"]) =>
      this.#exports.mask_scale(
        at(a.x),
        at(a.keep),
        at(a.scale),
        at(a.y),
        a.rows,
        a.cols,
        a.key,
      ),

    ...pendingKernels("wasm", TRAINING_KERNELS),
  } as KernelTable;

  /**
   * Wraps an instance of the kernels; {@linkcode createWasmBackend} makes one.
   *
   * @param module The compiled kernels.
   * @param instance `module` instantiated with `{ env: { memory } }`.
   * @param memory The memory the instance imports; its bytes above the
   *   module's static data must be zero.
   * @throws {TypeError} When the instance does not export the kernels.
   */
  constructor(
    module: WebAssembly.Module,
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
  ) {
    super();
    const exports = instance.exports as Partial<Record<string, unknown>>;
    const names = [...Object.keys(this.kernels), "heap_base"];
    const missing = names.filter((n) => typeof exports[n] !== "function");
    if (missing.length > 0) {
      throw new TypeError(
        `Cannot create the wasm backend: the module must export ${
          names.join(", ")
        }, got one without ${missing.join(", ")}`,
      );
    }
    this.module = module;
    this.memory = memory;
    this.#exports = exports as unknown as KernelExports;
    this.#heap = new WasmHeap(memory, this.#exports.heap_base());
  }

  protected createStorage(
    size: number,
    _dtype: DType,
    zeroed: boolean,
  ): number {
    this.#checkLive("allocate a tensor");
    return this.#heap.allocate(size * 4, zeroed);
  }

  protected writeStorage(tensor: Tensor, data: HostArray<DType>): void {
    this.#view(tensor).set(data);
  }

  protected readStorage(tensor: Tensor): Promise<HostArray<DType>> {
    return Promise.resolve(this.#view(tensor).slice());
  }

  protected freeStorage(tensor: Tensor): void {
    this.#heap.free(at(tensor));
  }

  /**
   * Reads a tensor at once.
   *
   * @param tensor A live tensor of this backend.
   * @returns A copy of its values.
   */
  readSync<D extends DType>(tensor: Tensor<D>): HostArray<D> {
    this.checkTensor(tensor, "read a tensor", "tensor");
    return this.#view(tensor).slice() as HostArray<D>;
  }

  /** Frees every tensor at once; the backend cannot be used afterwards. */
  dispose(): void {
    this.#disposed = true;
    this.#heap.reset();
  }

  protected override checkTensor(t: unknown, what: string, name: string): void {
    this.#checkLive(what);
    super.checkTensor(t, what, name);
  }

  /** Throws once the backend is disposed. */
  #checkLive(what: string): void {
    if (this.#disposed) {
      throw new TypeError(
        `Cannot ${what}: the wasm backend must be live, got a disposed backend`,
      );
    }
  }

  /** A view of the tensor's bytes: make it afresh, memory growth detaches it. */
  #view(tensor: Tensor): HostArray<DType> {
    const type = tensor.dtype === "float32" ? Float32Array : Uint32Array;
    return new type(this.memory.buffer, at(tensor), tensor.size);
  }
}

/** The tensor's byte offset in the memory. */
function at(tensor: Tensor): number {
  return tensor.storage as number;
}

/** Bytes from standard base64. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
