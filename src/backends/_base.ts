import type {
  Backend,
  BackendName,
  KernelArgs,
  KernelName,
} from "../backend.ts";
import { type DType, type HostArray, shapeSize, Tensor } from "../tensor.ts";

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
};

/** Checks of each kernel's scalar arguments: a message when one is bad. */
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
    isUint32(a.key)
      ? undefined
      : `key must be an integer in [0, 2^32), got ${a.key}`,
};

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
    for (const key of ["rows", "cols"] as const) {
      const v = (args as { rows: number; cols?: number })[key];
      if (key === "cols" && v === undefined) continue;
      if (!Number.isSafeInteger(v) || v! < 0) {
        throw new RangeError(
          `Cannot ${what}: ${key} must be a non-negative integer, got ${v}`,
        );
      }
    }
    const scalarError = ARG_SCALARS[kernel](args);
    if (scalarError) throw new RangeError(`Cannot ${what}: ${scalarError}`);
    const tensors = ARG_TENSORS[kernel](args);
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
    }
    impl(args);
  }

  release(tensor: Tensor): void {
    this.checkTensor(tensor, "release a tensor", "tensor");
    this.freeStorage(tensor);
    tensor.markReleased();
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
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    return (value as object).constructor?.name ?? "object";
  }
  return `${typeof value} ${String(value)}`;
}
