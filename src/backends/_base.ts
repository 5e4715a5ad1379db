import {
  type Backend,
  type BackendName,
  type DType,
  type HostArray,
  type KernelArgs,
  type KernelName,
  type MemoryUsage,
  shapeSize,
  Tensor,
} from "../backend.ts";
import { contractOf, scalarError } from "./_contracts.ts";
import type { ScalarKind } from "./kernels.ts";
import { checkTensor, describe, showShape } from "../_checks.ts";
import { TensorLedger } from "./_tensor_ledger.ts";

/** One function per kernel, as a backend implements them. */
export type KernelTable = { [K in KernelName]: (args: KernelArgs[K]) => void };

/**
 * Throws when an output of `kernel` shares storage with another tensor
 * argument it may not share with: when both are, or view, one allocation.
 * Empty tensors are skipped: nothing of them is read or written.
 */
function checkSharing(
  kernel: KernelName,
  record: Readonly<Record<string, Tensor>>,
  tensors: readonly (readonly [string, DType])[],
): void {
  for (const [output, allowed] of walkOf(kernel).outputs) {
    const out = record[output];
    if (out.size === 0) continue;
    for (const [name] of tensors) {
      const other = record[name];
      if (
        name === output || allowed.includes(name) || other.size === 0 ||
        (other.base ?? other) !== (out.base ?? out)
      ) continue;
      throw new TypeError(
        `Cannot run ${kernel}: ${output} must not share storage with ${name}, got ${
          other === out ? "the same tensor" : "views of the same storage"
        }`,
      );
    }
  }
}

/** A kernel's contract with its rows as arrays, made once per kernel. */
interface KernelWalk {
  contract: ReturnType<typeof contractOf>;
  scalars: readonly (readonly [string, ScalarKind])[];
  tensors: readonly (readonly [string, DType])[];
  outputs: readonly (readonly [string, readonly string[]])[];
}

const walks = new Map<KernelName, KernelWalk>();

/** {@linkcode KernelWalk} of a kernel, cached: `run` checks every call. */
function walkOf(kernel: KernelName): KernelWalk {
  let walk = walks.get(kernel);
  if (walk === undefined) {
    const contract = contractOf(kernel);
    walk = {
      contract,
      scalars: Object.entries(contract.scalars),
      tensors: Object.entries(contract.tensors),
      outputs: Object.entries(contract.outputs),
    };
    walks.set(kernel, walk);
  }
  return walk;
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
  /**
   * The storage of a view of the tensor's first `size` elements: by default
   * the tensor's own, for storage that kernels size from their arguments (a
   * byte offset, a GPU buffer); a backend whose storage carries its length
   * (a typed array) overrides it.
   */
  protected prefixStorage(tensor: Tensor, _size: number): unknown {
    return tensor.storage;
  }
  abstract dispose(): void;
  /** Live allocations and open scopes. */
  readonly #ledger = new TensorLedger();

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
    const tensor = new Tensor(this, shape, dtype, storage);
    this.#ledger.allocated(tensor);
    return tensor;
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
    const { contract, scalars, tensors } = walkOf(kernel);
    const record = args as unknown as Record<string, unknown>;
    for (const [name, kind] of scalars) {
      const error = scalarError(kind, record[name]);
      if (error !== undefined) {
        throw new RangeError(
          `Cannot run ${kernel}: ${name} ${error}, got ${record[name]}`,
        );
      }
    }
    const sizes = contract.sizes(record);
    for (const [name, dtype] of tensors) {
      const t = record[name] as Tensor;
      // The common case in few steps; the full check words any problem.
      if (!(t instanceof Tensor && t.backend === this && !t.released)) {
        this.checkTensor(t, `run ${kernel}`, name);
      }
      if (t.dtype !== dtype) {
        throw new TypeError(
          `Cannot run ${kernel}: ${name} must be a ${dtype} tensor, got ${t.dtype}`,
        );
      }
      if (t.size !== sizes[name]) {
        throw new RangeError(
          `Cannot run ${kernel}: ${name} must have ${
            sizes[name]
          } elements, got ${t.size}`,
        );
      }
    }
    checkSharing(kernel, record as Record<string, Tensor>, tensors);
    impl(args);
  }

  release(tensor: Tensor): void {
    this.checkTensor(tensor, "release a tensor", "tensor");
    if (tensor.base === undefined) {
      this.freeStorage(tensor);
      this.#ledger.freed(tensor);
    }
    tensor.markReleased();
  }

  scope<T>(fn: () => T): T {
    return this.#ledger.scope(fn, (t) => this.release(t));
  }

  keep<T extends Tensor>(tensor: T): T {
    this.checkTensor(tensor, "keep a tensor", "tensor");
    this.#ledger.keep(tensor);
    return tensor;
  }

  memoryUsage(): MemoryUsage {
    return this.#ledger.memoryUsage();
  }

  /**
   * Forgets every allocation, for a `dispose` that frees them all at once:
   * `memoryUsage()` then reports none and no open scope releases them.
   */
  protected forgetTensors(): void {
    this.#ledger.clear();
  }

  reshape<D extends DType>(
    tensor: Tensor<D>,
    shape: readonly number[],
  ): Tensor<D> {
    return this.#viewOf(tensor, shape, "reshape", "");
  }

  view<D extends DType>(
    tensor: Tensor<D>,
    shape: readonly number[],
  ): Tensor<D> {
    return this.#viewOf(tensor, shape, "view", "at most ");
  }

  /** A view of the first elements: exactly all of them for `reshape`. */
  #viewOf<D extends DType>(
    tensor: Tensor<D>,
    shape: readonly number[],
    verb: "reshape" | "view",
    bound: "" | "at most ",
  ): Tensor<D> {
    const what = `${verb} a tensor`;
    this.checkTensor(tensor, what, "tensor");
    const size = shapeSize(shape, what);
    if (bound === "" ? size !== tensor.size : size > tensor.size) {
      throw new RangeError(
        `Cannot ${what}: shape must have ${bound}${tensor.size} elements like ${
          showShape(tensor.shape)
        }, got ${showShape(shape)} (${size} elements)`,
      );
    }
    const storage = this.prefixStorage(tensor, size);
    return new Tensor(this, shape, tensor.dtype, storage, tensor);
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
        `Cannot create a tensor: data length must match shape ${
          showShape(shape)
        } (${size} elements), got ${data.length}`,
      );
    }
    const t = this.allocate(shape, "float32", "uninitialized");
    this.writeStorage(t, data);
    return t;
  }

  /**
   * Throws unless `t` is a live tensor of this backend (of any dtype), with
   * the library-wide check and messages.
   */
  protected checkTensor(t: unknown, what: string, name: string): void {
    checkTensor(t, what, name, { backend: this, dtype: "any" });
  }
}
