import {
  type Backend,
  type BackendName,
  type ConvGeometry,
  type KernelArgs,
  type KernelName,
  outputSize,
  type PoolGeometry,
} from "../backend.ts";
import { type DType, type HostArray, shapeSize, Tensor } from "../tensor.ts";

/** Integer arguments of `im2col` and `col2im`. */
const CONV_INTEGERS = [
  "batch",
  "channels",
  "height",
  "width",
  "kernelH",
  "kernelW",
  "stride",
  "padding",
] as const;

/** Integer arguments of the pooling kernels. */
const POOL_INTEGERS = [
  "planes",
  "height",
  "width",
  "kernel",
  "stride",
  "padding",
] as const;

/** One function per kernel, as a backend implements them. */
export type KernelTable = { [K in KernelName]: (args: KernelArgs[K]) => void };

/** Expected element count and type of each tensor argument, per kernel. */
const ARG_TENSORS: {
  [K in KernelName]: (a: KernelArgs[K]) => Record<string, [number, DType]>;
} = {
  count_active: (a) => ({
    x: [a.rows * a.cols, "float32"],
    counts: [a.rows, "uint32"],
  }),
  jumpout_params: (a) => ({
    counts: [a.rows, "uint32"],
    rate: [a.rows, "uint32"],
    keep: [a.rows, "uint32"],
    scale: [a.rows, "float32"],
  }),
  mask_scale: (a) => ({
    x: [a.rows * a.cols, "float32"],
    y: [a.rows * a.cols, "float32"],
    keep: [a.rows, "uint32"],
    scale: [a.rows, "float32"],
  }),
  matmul: (a) => ({
    a: [a.m * a.k, "float32"],
    b: [a.k * a.n, "float32"],
    c: [a.m * a.n, "float32"],
  }),
  bias_add: (a) => ({
    y: [a.outer * a.channels * a.inner, "float32"],
    bias: [a.channels, "float32"],
  }),
  bias_grad: (a) => ({
    dy: [a.outer * a.channels * a.inner, "float32"],
    db: [a.channels, "float32"],
  }),
  relu: (a) => ({ x: [a.n, "float32"], y: [a.n, "float32"] }),
  relu_backward: (a) => ({
    x: [a.n, "float32"],
    dy: [a.n, "float32"],
    dx: [a.n, "float32"],
  }),
  im2col: (a) => ({
    x: [imageSize(a), "float32"],
    cols: [colsSize(a), "float32"],
  }),
  col2im: (a) => ({
    cols: [colsSize(a), "float32"],
    x: [imageSize(a), "float32"],
  }),
  transpose: (a) => ({
    x: [a.rows * a.cols * a.inner, "float32"],
    y: [a.rows * a.cols * a.inner, "float32"],
  }),
  channel_stats: (a) => ({
    x: [a.outer * a.channels * a.inner, "float32"],
    mean: [a.channels, "float32"],
    variance: [a.channels, "float32"],
  }),
  batchnorm_forward: (a) => ({
    x: [a.outer * a.channels * a.inner, "float32"],
    y: [a.outer * a.channels * a.inner, "float32"],
    mean: [a.channels, "float32"],
    variance: [a.channels, "float32"],
    gamma: [a.channels, "float32"],
    beta: [a.channels, "float32"],
  }),
  batchnorm_backward: (a) => ({
    x: [a.outer * a.channels * a.inner, "float32"],
    dy: [a.outer * a.channels * a.inner, "float32"],
    dx: [a.outer * a.channels * a.inner, "float32"],
    mean: [a.channels, "float32"],
    variance: [a.channels, "float32"],
    gamma: [a.channels, "float32"],
    dgamma: [a.channels, "float32"],
    dbeta: [a.channels, "float32"],
  }),
  axpby: (a) => ({ x: [a.n, "float32"], y: [a.n, "float32"] }),
  maxpool_forward: (a) => ({
    x: [a.planes * a.height * a.width, "float32"],
    y: [poolOutSize(a), "float32"],
    argmax: [poolOutSize(a), "uint32"],
  }),
  maxpool_backward: (a) => ({
    dy: [poolOutSize(a), "float32"],
    argmax: [poolOutSize(a), "uint32"],
    dx: [a.planes * a.height * a.width, "float32"],
  }),
  row_broadcast: (a) => ({
    dy: [a.rows, "float32"],
    dx: [a.rows * a.cols, "float32"],
  }),
  softmax_cross_entropy: (a) => ({
    logits: [a.rows * a.cols, "float32"],
    labels: [a.rows, "uint32"],
    dlogits: [a.rows * a.cols, "float32"],
    result: [2, "float32"],
  }),
  sgd_update: (a) => ({
    param: [a.n, "float32"],
    grad: [a.n, "float32"],
    velocity: [a.n, "float32"],
  }),
  adam_update: (a) => ({
    param: [a.n, "float32"],
    grad: [a.n, "float32"],
    m: [a.n, "float32"],
    v: [a.n, "float32"],
  }),
};

/**
 * The tensors each kernel writes, each with the inputs it may share storage
 * with (the in-place uses each kernel's doc in `KernelArgs` allows); every
 * other tensor argument is an input. Outputs share storage with nothing else,
 * other outputs included.
 *
 * @example `relu` may write in place; `matmul` may not
 * ```ts
 * import { ARG_OUTPUTS } from "./_base.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(ARG_OUTPUTS.relu, { y: ["x"] });
 * deepEqual(ARG_OUTPUTS.matmul, { c: [] });
 * ```
 */
export const ARG_OUTPUTS: {
  [K in KernelName]: Readonly<Record<string, readonly string[]>>;
} = {
  count_active: { counts: [] },
  jumpout_params: { keep: ["counts", "rate"], scale: [] },
  mask_scale: { y: ["x"] },
  matmul: { c: [] },
  bias_add: { y: [] },
  bias_grad: { db: [] },
  relu: { y: ["x"] },
  relu_backward: { dx: ["x", "dy"] },
  im2col: { cols: [] },
  col2im: { x: [] },
  transpose: { y: [] },
  channel_stats: { mean: [], variance: [] },
  batchnorm_forward: { y: ["x"] },
  batchnorm_backward: { dx: ["x", "dy"], dgamma: [], dbeta: [] },
  axpby: { y: ["x"] },
  maxpool_forward: { y: [], argmax: [] },
  maxpool_backward: { dx: [] },
  row_broadcast: { dx: [] },
  softmax_cross_entropy: { dlogits: [], result: [] },
  sgd_update: { param: [], velocity: [] },
  adam_update: { param: [], m: [], v: [] },
};

/**
 * Throws when an output of `kernel` shares storage with another tensor
 * argument it may not share with. Empty tensors are skipped: nothing of
 * them is read or written.
 */
function checkSharing(
  kernel: KernelName,
  tensors: Readonly<Record<string, Tensor>>,
): void {
  const names = Object.keys(tensors);
  for (const [output, allowed] of Object.entries(ARG_OUTPUTS[kernel])) {
    const out = tensors[output];
    if (out.size === 0) continue;
    for (const name of names) {
      const other = tensors[name];
      if (
        name === output || allowed.includes(name) || other.size === 0 ||
        other.storage !== out.storage
      ) continue;
      throw new TypeError(
        `Cannot run ${kernel}: ${output} must not share storage with ${name}, got ${
          other === out ? "the same tensor" : "views of the same storage"
        }`,
      );
    }
  }
}

/** Elements of a convolution's NCHW input. */
function imageSize(a: ConvGeometry): number {
  return a.batch * a.channels * a.height * a.width;
}

/** Elements of `im2col`'s matrix. */
function colsSize(a: ConvGeometry): number {
  const outH = outputSize(a.height, a.kernelH, a.stride, a.padding);
  const outW = outputSize(a.width, a.kernelW, a.stride, a.padding);
  return a.channels * a.kernelH * a.kernelW * a.batch * outH * outW;
}

/** Elements of a pooling's output. */
function poolOutSize(a: PoolGeometry): number {
  return a.planes *
    outputSize(a.height, a.kernel, a.stride, a.padding) *
    outputSize(a.width, a.kernel, a.stride, a.padding);
}

/** Integer arguments (sizes, counts) of each kernel: each must be >= 0. */
const ARG_INTEGERS: { [K in KernelName]: readonly (keyof KernelArgs[K])[] } = {
  count_active: ["rows", "cols"],
  jumpout_params: ["rows", "cols"],
  mask_scale: ["rows", "cols"],
  matmul: ["m", "n", "k"],
  bias_add: ["outer", "channels", "inner"],
  bias_grad: ["outer", "channels", "inner"],
  relu: ["n"],
  relu_backward: ["n"],
  im2col: CONV_INTEGERS,
  col2im: CONV_INTEGERS,
  transpose: ["rows", "cols", "inner"],
  channel_stats: ["outer", "channels", "inner"],
  batchnorm_forward: ["outer", "channels", "inner"],
  batchnorm_backward: ["outer", "channels", "inner"],
  axpby: ["n"],
  maxpool_forward: POOL_INTEGERS,
  maxpool_backward: POOL_INTEGERS,
  row_broadcast: ["rows", "cols"],
  softmax_cross_entropy: ["rows", "cols"],
  sgd_update: ["n"],
  adam_update: ["n"],
};

/** Checks of each kernel's other scalar arguments: a message when one is bad. */
const ARG_SCALARS: {
  [K in KernelName]: (a: KernelArgs[K]) => string | undefined;
} = {
  count_active: () => undefined,
  jumpout_params: (a) =>
    !isUint32(a.maxDrop)
      ? `maxDrop must be an integer in [0, 2^32), got ${a.maxDrop}`
      : typeof a.normalize !== "boolean"
      ? `normalize must be a boolean, got ${a.normalize}`
      : !(Number.isFinite(a.power) && a.power >= 0)
      ? `power must be a finite number >= 0, got ${a.power}`
      : undefined,
  mask_scale: (a) =>
    !isUint32(a.key)
      ? `key must be an integer in [0, 2^32), got ${a.key}`
      : !isUint32(a.offset)
      ? `offset must be an integer in [0, 2^32), got ${a.offset}`
      : undefined,
  matmul: (a) => booleans(a, ["transA", "transB"]),
  bias_add: () => undefined,
  bias_grad: () => undefined,
  relu: () => undefined,
  relu_backward: () => undefined,
  im2col: (a) => positive(a, ["kernelH", "kernelW", "stride"]),
  col2im: (a) => positive(a, ["kernelH", "kernelW", "stride"]),
  transpose: () => undefined,
  channel_stats: () => undefined,
  batchnorm_forward: (a) => nonNegative(a, ["epsilon"]),
  batchnorm_backward: (a) => nonNegative(a, ["epsilon"]),
  axpby: (a) => finite(a, ["alpha", "beta"]),
  maxpool_forward: (a) => positive(a, ["kernel", "stride"]),
  maxpool_backward: (a) => positive(a, ["kernel", "stride"]),
  row_broadcast: (a) => finite(a, ["alpha"]),
  softmax_cross_entropy: () => undefined,
  sgd_update: (a) =>
    nonNegative(a, ["lr", "momentum", "weightDecay"]) ??
      booleans(a, ["nesterov"]),
  adam_update: (a) =>
    nonNegative(a, ["lr", "epsilon", "weightDecay"]) ??
      (!(a.beta1 >= 0 && a.beta1 < 1)
        ? `beta1 must be in [0, 1), got ${a.beta1}`
        : !(a.beta2 >= 0 && a.beta2 < 1)
        ? `beta2 must be in [0, 1), got ${a.beta2}`
        : !(Number.isSafeInteger(a.step) && a.step >= 1)
        ? `step must be an integer >= 1, got ${a.step}`
        : undefined),
};

/** The first of `keys` that is not a boolean, as a message. */
function booleans<T>(a: T, keys: readonly (keyof T)[]): string | undefined {
  const bad = keys.find((k) => typeof a[k] !== "boolean");
  return bad === undefined
    ? undefined
    : `${String(bad)} must be a boolean, got ${a[bad]}`;
}

/** The first of `keys` that is not a finite number, as a message. */
function finite<T>(a: T, keys: readonly (keyof T)[]): string | undefined {
  const bad = keys.find((k) => !Number.isFinite(a[k]));
  return bad === undefined
    ? undefined
    : `${String(bad)} must be a finite number, got ${a[bad]}`;
}

/** The first of `keys` that is not a finite number >= 0, as a message. */
function nonNegative<T>(a: T, keys: readonly (keyof T)[]): string | undefined {
  const bad = keys.find((k) =>
    !(Number.isFinite(a[k]) && (a[k] as number) >= 0)
  );
  return bad === undefined
    ? undefined
    : `${String(bad)} must be a finite number >= 0, got ${a[bad]}`;
}

/** The first of `keys` that is not an integer >= 1, as a message. */
function positive<T>(a: T, keys: readonly (keyof T)[]): string | undefined {
  const bad = keys.find((k) =>
    !(Number.isSafeInteger(a[k]) && (a[k] as number) >= 1)
  );
  return bad === undefined
    ? undefined
    : `${String(bad)} must be an integer >= 1, got ${a[bad]}`;
}

function isUint32(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32;
}

/**
 * The checks every backend shares (ownership, release, sizes, types), so a
 * backend only writes storage and kernels.
 */
export abstract class BaseBackend implements Backend {
  abstract readonly name: BackendName;
  /** The kernels, by name. */
  protected abstract readonly kernels: KernelTable;
  /** Makes zero-filled storage for `size` elements. */
  protected abstract createStorage(
    size: number,
    dtype: DType,
    zeroed: boolean,
  ): unknown;
  /** Copies `data` (already checked) into the tensor. */
  protected abstract writeStorage(tensor: Tensor, data: HostArray<DType>): void;
  /** Copies the tensor out to a fresh array. */
  protected abstract readStorage(tensor: Tensor): Promise<HostArray<DType>>;
  /** Frees the tensor's storage. */
  protected abstract freeStorage(tensor: Tensor): void;
  abstract dispose(): void;

  allocate<D extends DType = "float32">(
    shape: readonly number[],
    dtype: D = "float32" as D,
    init: "zeros" | "uninitialized" = "zeros",
  ): Tensor<D> {
    if (dtype !== "float32" && dtype !== "uint32") {
      throw new TypeError(
        `Cannot allocate a tensor: dtype must be "float32" or "uint32", got ${
          String(dtype)
        }`,
      );
    }
    if (init !== "zeros" && init !== "uninitialized") {
      throw new TypeError(
        `Cannot allocate a tensor: init must be "zeros" or "uninitialized", got ${
          String(init)
        }`,
      );
    }
    const size = shapeSize(shape, "allocate a tensor");
    const storage = this.createStorage(size, dtype, init === "zeros");
    return new Tensor(this, shape, dtype, storage);
  }

  upload<D extends DType>(tensor: Tensor<D>, data: HostArray<D>): void {
    this.checkTensor(tensor, "upload to a tensor", "tensor");
    const type = tensor.dtype === "float32" ? Float32Array : Uint32Array;
    if (!(data instanceof type)) {
      throw new TypeError(
        `Cannot upload to a tensor: data must be a ${type.name} for a ${tensor.dtype} tensor, got ${
          describe(data)
        }`,
      );
    }
    if (data.length !== tensor.size) {
      throw new RangeError(
        `Cannot upload to a tensor: data length must be ${tensor.size}, got ${data.length}`,
      );
    }
    this.writeStorage(tensor, data);
  }

  /**
   * Copies a CPU tensor's values into `into`, or into a new array: what
   * `readSync` does, given a view of the storage.
   *
   * @param tensor The tensor being read.
   * @param view Its storage's values.
   * @param into The caller's array, when given.
   * @returns `into`, or a copy of `view`.
   */
  protected copyOut<D extends DType>(
    tensor: Tensor<D>,
    view: HostArray<DType>,
    into: HostArray<D> | undefined,
  ): HostArray<D> {
    if (into === undefined) return view.slice() as HostArray<D>;
    const type = tensor.dtype === "float32" ? Float32Array : Uint32Array;
    if (!(into instanceof type)) {
      throw new TypeError(
        `Cannot read a tensor: into must be a ${type.name} for a ${tensor.dtype} tensor, got ${
          describe(into)
        }`,
      );
    }
    if (into.length !== tensor.size) {
      throw new RangeError(
        `Cannot read a tensor: into must have the tensor's ${tensor.size} elements, got ${into.length}`,
      );
    }
    into.set(view);
    return into;
  }

  read<D extends DType>(tensor: Tensor<D>): Promise<HostArray<D>> {
    try {
      this.checkTensor(tensor, "read a tensor", "tensor");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.readStorage(tensor) as Promise<HostArray<D>>;
  }

  run<K extends KernelName>(kernel: K, args: KernelArgs[K]): void {
    const impl = Object.hasOwn(this.kernels, kernel)
      ? this.kernels[kernel]
      : undefined;
    if (impl === undefined) {
      throw new TypeError(
        `Cannot run a kernel: kernel must be one of ${
          Object.keys(this.kernels).join(", ")
        }, got ${String(kernel)}`,
      );
    }
    const what = `run ${kernel}`;
    const integers = ARG_INTEGERS[kernel] as readonly string[];
    for (const key of integers) {
      const v = (args as unknown as Record<string, number>)[key];
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(
          `Cannot ${what}: ${key} must be a non-negative integer, got ${v}`,
        );
      }
    }
    const scalarError = ARG_SCALARS[kernel](args);
    if (scalarError) throw new RangeError(`Cannot ${what}: ${scalarError}`);
    const tensors = ARG_TENSORS[kernel](args);
    const given: Record<string, Tensor> = {};
    for (const [name, [size, dtype]] of Object.entries(tensors)) {
      const t = (args as unknown as Record<string, Tensor>)[name];
      this.checkTensor(t, what, name);
      if (t.dtype !== dtype) {
        throw new TypeError(
          `Cannot ${what}: ${name} must be a ${dtype} tensor, got ${t.dtype}`,
        );
      }
      if (t.size !== size) {
        throw new RangeError(
          `Cannot ${what}: ${name} must have ${size} elements, got ${t.size}`,
        );
      }
      given[name] = t;
    }
    checkSharing(kernel, given);
    impl(args);
  }

  release(tensor: Tensor): void {
    this.checkTensor(tensor, "release a tensor", "tensor");
    if (tensor.base === undefined) this.freeStorage(tensor);
    tensor.markReleased();
  }

  reshape<D extends DType>(
    tensor: Tensor<D>,
    shape: readonly number[],
  ): Tensor<D> {
    this.checkTensor(tensor, "reshape a tensor", "tensor");
    const size = shapeSize(shape, "reshape a tensor");
    if (size !== tensor.size) {
      throw new RangeError(
        `Cannot reshape a tensor: shape must have ${tensor.size} elements like [${
          tensor.shape.join(", ")
        }], got [${shape.join(", ")}] (${size} elements)`,
      );
    }
    return new Tensor(this, shape, tensor.dtype, tensor.storage, tensor);
  }

  tensor(data: Float32Array, shape: readonly number[]): Tensor<"float32"> {
    if (!(data instanceof Float32Array)) {
      throw new TypeError(
        `Cannot create a tensor: data must be a Float32Array, got ${
          describe(data)
        }`,
      );
    }
    const size = shapeSize(shape, "create a tensor");
    if (size !== data.length) {
      throw new RangeError(
        `Cannot create a tensor: data length must match shape [${
          shape.join(", ")
        }] (${size} elements), got ${data.length}`,
      );
    }
    const t = this.allocate(shape, "float32", "uninitialized");
    this.writeStorage(t, data);
    return t;
  }

  /** Throws unless `t` is a live tensor of this backend. */
  protected checkTensor(t: unknown, what: string, name: string): void {
    if (!(t instanceof Tensor)) {
      throw new TypeError(
        `Cannot ${what}: ${name} must be a Tensor, got ${describe(t)}`,
      );
    }
    if (t.backend !== this) {
      throw new TypeError(
        `Cannot ${what}: ${name} must belong to the ${this.name} backend, got a tensor of the ${t.backend.name} backend`,
      );
    }
    if (t.released) {
      throw new TypeError(
        `Cannot ${what}: ${name} was released, got a released tensor of shape [${
          t.shape.join(", ")
        }]`,
      );
    }
  }
}

/** A short description of a value for error messages. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    return (value as object).constructor?.name ?? "object";
  }
  return `${typeof value} ${String(value)}`;
}
