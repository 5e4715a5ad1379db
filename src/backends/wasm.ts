/**
 * The wasm backend: tensors live in one `WebAssembly.Memory` that JavaScript
 * owns; the kernels (AssemblyScript with 128-bit SIMD, `asm/`) take byte
 * offsets into it, so running a kernel copies nothing.
 *
 * @module
 */

import { contractOf } from "./_contracts.ts";
import { KERNELS } from "./kernels.ts";
import type { KernelName } from "../backend.ts";
import type { DType, HostArray, Tensor } from "../backend.ts";
import type { KernelTable } from "./_base.ts";
import { CpuBackend } from "./_cpu_backend.ts";
import { KERNELS_WASM_BASE64 } from "./_wasm_bytes.ts";
import { WasmHeap } from "./_wasm_heap.ts";

/** The memory's ceiling in 64 KiB pages (4 GiB, all a 32-bit offset reaches). */
const MAX_PAGES = 65536;

/** A kernel export of the module: byte offsets, then numbers. */
type KernelExport = (...args: number[]) => void;

/**
 * Calls each export in the table's order: every tensor's byte offset, then
 * the other arguments (booleans as 0 or 1), then the derived values.
 */
function kernelCalls(exports: Record<string, KernelExport>): KernelTable {
  const table: Partial<Record<KernelName, (a: unknown) => void>> = {};
  for (const kernel of Object.keys(KERNELS) as KernelName[]) {
    const contract = contractOf(kernel);
    const tensors = Object.keys(contract.tensors);
    const scalars = Object.keys(contract.scalars);
    const derived = Object.values(contract.derived ?? {});
    const call = exports[kernel];
    table[kernel] = (a) => {
      const r = a as Record<string, unknown>;
      const args: number[] = [];
      for (const name of tensors) args.push(at(r[name] as Tensor));
      for (const name of scalars) args.push(+(r[name] as number | boolean));
      for (const value of derived) args.push(value(r));
      call(...args);
    };
  }
  return table as KernelTable;
}

/** The compiled embedded module, once per process. */
let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * The embedded kernels, compiled on first use; later calls share the result.
 * A compiled module can be posted to workers, which then instantiate it
 * without compiling again.
 *
 * @returns The compiled module.
 *
 * @example Compile once, instantiate twice
 * ```ts
 * import { compileKernels, createWasmBackend } from "./wasm.ts";
 * import { ok } from "node:assert/strict";
 *
 * const module = await compileKernels();
 * const [a, b] = [await createWasmBackend(module), await createWasmBackend(module)];
 * ok(a.module === b.module && a.memory !== b.memory);
 * a.dispose();
 * b.dispose();
 * ```
 */
export function compileKernels(): Promise<WebAssembly.Module> {
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
  const kernels = module ?? await compileKernels();
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
 * backend.run("mask_scale", { x, keep, scale, y, rows: 1, cols: 3, key: 9, offset: 0 });
 * deepEqual([...(await backend.read(y))], [2, 4, 6]);
 * backend.dispose();
 * ```
 */
export class WasmBackend extends CpuBackend {
  readonly name = "wasm" as const;
  /** The compiled kernels, to instantiate elsewhere (e.g. in a worker). */
  readonly module: WebAssembly.Module;
  /** The memory every tensor of this backend lives in. */
  readonly memory: WebAssembly.Memory;
  readonly #heap: WasmHeap;
  #disposed = false;

  protected readonly kernels: KernelTable;

  /**
   * Wraps an instance of the kernels; {@linkcode createWasmBackend} makes one.
   *
   * @param module The compiled kernels.
   * @param instance `module` instantiated with `{ env: { memory } }`.
   * @param memory The memory the instance imports; its bytes from the
   *   module's `heap_base()` on must be zero.
   * @throws {TypeError} When the instance does not export the kernels.
   */
  constructor(
    module: WebAssembly.Module,
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
  ) {
    super();
    const exports = instance.exports as Partial<Record<string, unknown>>;
    const names = [...Object.keys(KERNELS), "heap_base"];
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
    this.kernels = kernelCalls(exports as Record<string, KernelExport>);
    this.#heap = new WasmHeap(memory, (exports.heap_base as () => number)());
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

  protected storageAt(s: unknown, at: number, _n: number): unknown {
    return (s as number) + at * 4;
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
    return this.copyOut(tensor, this.#view(tensor), into);
  }

  /** Frees every tensor at once; the backend cannot be used afterwards. */
  dispose(): void {
    this.#disposed = true;
    this.#heap.reset();
    this.forgetTensors();
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
