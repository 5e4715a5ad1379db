/**
 * The wasm backend: tensors live in one `WebAssembly.Memory` that JavaScript
 * owns; the kernels (AssemblyScript with 128-bit SIMD, `asm/`) take byte
 * offsets into it, so running a kernel copies nothing.
 *
 * @module
 */

import type { ConvGeometry, KernelArgs, PoolGeometry } from "../backend.ts";
import type { DType, HostArray, Tensor } from "../tensor.ts";
import { BaseBackend, type KernelTable } from "./_base.ts";
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
    offset: number,
  ): void;
  matmul(
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
  ): void;
  bias_add(
    y: number,
    bias: number,
    outer: number,
    channels: number,
    inner: number,
  ): void;
  bias_grad(
    dy: number,
    db: number,
    outer: number,
    channels: number,
    inner: number,
  ): void;
  relu(x: number, y: number, n: number): void;
  relu_backward(x: number, dy: number, dx: number, n: number): void;
  /** Sizes are float64 in the module, so every safe integer arrives exact. */
  im2col(x: number, cols: number, ...geometry: ConvNumbers): void;
  /** Sizes as in `im2col`. */
  col2im(cols: number, x: number, ...geometry: ConvNumbers): void;
  transpose(
    x: number,
    y: number,
    rows: number,
    cols: number,
    inner: number,
  ): void;
  channel_stats(
    x: number,
    mean: number,
    variance: number,
    outer: number,
    channels: number,
    inner: number,
  ): void;
  batchnorm_forward(
    x: number,
    mean: number,
    variance: number,
    gamma: number,
    beta: number,
    y: number,
    outer: number,
    channels: number,
    inner: number,
    epsilon: number,
  ): void;
  batchnorm_backward(
    x: number,
    dy: number,
    mean: number,
    variance: number,
    gamma: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    outer: number,
    channels: number,
    inner: number,
    epsilon: number,
  ): void;
  axpby(x: number, y: number, n: number, alpha: number, beta: number): void;
  /** Sizes are float64 in the module, as in `im2col`. */
  maxpool_forward(
    x: number,
    y: number,
    argmax: number,
    ...geometry: PoolNumbers
  ): void;
  /** Sizes as in `maxpool_forward`. */
  maxpool_backward(
    dy: number,
    argmax: number,
    dx: number,
    ...geometry: PoolNumbers
  ): void;
  row_broadcast(
    dy: number,
    dx: number,
    rows: number,
    cols: number,
    alpha: number,
  ): void;
  softmax_cross_entropy(
    logits: number,
    labels: number,
    dlogits: number,
    result: number,
    rows: number,
    cols: number,
  ): void;
  sgd_update(
    param: number,
    grad: number,
    velocity: number,
    n: number,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: number,
  ): void;
  /**
   * `correction1` and `correction2` are `1 - beta1^step` and
   * `1 - beta2^step`, computed here in float64.
   */
  adam_update(
    param: number,
    grad: number,
    m: number,
    v: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    weightDecay: number,
    correction1: number,
    correction2: number,
  ): void;
  heap_base(): number;
}

/** `im2col`'s sizes in the module's order: batch, channels, height, width, kernelH, kernelW, stride, padding. */
type ConvNumbers = [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

/** Pooling sizes in the module's order: planes, height, width, kernel, stride, padding. */
type PoolNumbers = [number, number, number, number, number, number];

/** A convolution's sizes as the module takes them. */
function convNumbers(g: ConvGeometry): ConvNumbers {
  return [
    g.batch,
    g.channels,
    g.height,
    g.width,
    g.kernelH,
    g.kernelW,
    g.stride,
    g.padding,
  ];
}

/** A pooling's sizes as the module takes them. */
function poolNumbers(g: PoolGeometry): PoolNumbers {
  return [g.planes, g.height, g.width, g.kernel, g.stride, g.padding];
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
        a.offset,
      ),
    matmul: (a: KernelArgs["matmul"]) =>
      this.#exports.matmul(
        at(a.a),
        at(a.b),
        at(a.c),
        a.m,
        a.n,
        a.k,
        a.transA ? 1 : 0,
        a.transB ? 1 : 0,
      ),
    bias_add: (a: KernelArgs["bias_add"]) =>
      this.#exports.bias_add(at(a.y), at(a.bias), a.outer, a.channels, a.inner),
    bias_grad: (a: KernelArgs["bias_grad"]) =>
      this.#exports.bias_grad(at(a.dy), at(a.db), a.outer, a.channels, a.inner),
    relu: (a: KernelArgs["relu"]) => this.#exports.relu(at(a.x), at(a.y), a.n),
    relu_backward: (a: KernelArgs["relu_backward"]) =>
      this.#exports.relu_backward(at(a.x), at(a.dy), at(a.dx), a.n),
    im2col: (a: KernelArgs["im2col"]) =>
      this.#exports.im2col(at(a.x), at(a.cols), ...convNumbers(a)),
    col2im: (a: KernelArgs["col2im"]) =>
      this.#exports.col2im(at(a.cols), at(a.x), ...convNumbers(a)),
    transpose: (a: KernelArgs["transpose"]) =>
      this.#exports.transpose(at(a.x), at(a.y), a.rows, a.cols, a.inner),
    channel_stats: (a: KernelArgs["channel_stats"]) =>
      this.#exports.channel_stats(
        at(a.x),
        at(a.mean),
        at(a.variance),
        a.outer,
        a.channels,
        a.inner,
      ),
    batchnorm_forward: (a: KernelArgs["batchnorm_forward"]) =>
      this.#exports.batchnorm_forward(
        at(a.x),
        at(a.mean),
        at(a.variance),
        at(a.gamma),
        at(a.beta),
        at(a.y),
        a.outer,
        a.channels,
        a.inner,
        a.epsilon,
      ),
    batchnorm_backward: (a: KernelArgs["batchnorm_backward"]) =>
      this.#exports.batchnorm_backward(
        at(a.x),
        at(a.dy),
        at(a.mean),
        at(a.variance),
        at(a.gamma),
        at(a.dx),
        at(a.dgamma),
        at(a.dbeta),
        a.outer,
        a.channels,
        a.inner,
        a.epsilon,
      ),
    axpby: (a: KernelArgs["axpby"]) =>
      this.#exports.axpby(at(a.x), at(a.y), a.n, a.alpha, a.beta),
    maxpool_forward: (a: KernelArgs["maxpool_forward"]) =>
      this.#exports.maxpool_forward(
        at(a.x),
        at(a.y),
        at(a.argmax),
        ...poolNumbers(a),
      ),
    maxpool_backward: (a: KernelArgs["maxpool_backward"]) =>
      this.#exports.maxpool_backward(
        at(a.dy),
        at(a.argmax),
        at(a.dx),
        ...poolNumbers(a),
      ),
    row_broadcast: (a: KernelArgs["row_broadcast"]) =>
      this.#exports.row_broadcast(at(a.dy), at(a.dx), a.rows, a.cols, a.alpha),
    softmax_cross_entropy: (a: KernelArgs["softmax_cross_entropy"]) =>
      this.#exports.softmax_cross_entropy(
        at(a.logits),
        at(a.labels),
        at(a.dlogits),
        at(a.result),
        a.rows,
        a.cols,
      ),
    sgd_update: (a: KernelArgs["sgd_update"]) =>
      this.#exports.sgd_update(
        at(a.param),
        at(a.grad),
        at(a.velocity),
        a.n,
        a.lr,
        a.momentum,
        a.weightDecay,
        a.nesterov ? 1 : 0,
      ),
    adam_update: (a: KernelArgs["adam_update"]) =>
      this.#exports.adam_update(
        at(a.param),
        at(a.grad),
        at(a.m),
        at(a.v),
        a.n,
        a.lr,
        a.beta1,
        a.beta2,
        a.epsilon,
        a.weightDecay,
        1 - a.beta1 ** a.step,
        1 - a.beta2 ** a.step,
      ),
  };

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
