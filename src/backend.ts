/**
 * The interface every backend implements, the tensor handle it hands out,
 * and the kernels it runs (`KernelArgs`: what each computes). They are
 * declared together because each names the others: a tensor holds the
 * backend that owns its storage, a backend's methods take and return
 * tensors, and kernels take tensors. How each kernel is called is its row
 * in `backends/kernels.ts`.
 *
 * A backend is a handful of methods: allocate, upload, read back (async),
 * run a named kernel, release; scopes release what a block of work
 * allocated. Layers are written once against it.
 *
 * @module
 */

/** The backends this library ships. */
export type BackendName = "reference" | "wasm" | "webgpu";

/**
 * A place where tensors live and kernels run.
 *
 * @example Run a kernel on the reference backend
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.tensor(new Float32Array([1, 0, -1, 2]), [4]);
 * const counts = backend.allocate([1], "uint32");
 * backend.run("count_active", { x, counts, rows: 1, cols: 4 });
 * deepEqual([...(await backend.read(counts))], [2]);
 * ```
 */
export interface Backend {
  /** Which implementation this is. */
  readonly name: BackendName;
  /**
   * Makes a tensor, zero-filled unless `init` is `"uninitialized"` (for a
   * kernel output that is about to be overwritten whole: it skips a pass over
   * memory on backends that reuse storage).
   *
   * @param shape Dimensions, outermost first.
   * @param dtype Element type, `float32` unless given.
   * @param init `"zeros"` (default) or `"uninitialized"`.
   * @returns The new tensor.
   */
  allocate<D extends DType = "float32">(
    shape: readonly number[],
    dtype?: D,
    init?: "zeros" | "uninitialized",
  ): Tensor<D>;
  /**
   * Copies host values into a tensor of the same size and type.
   *
   * @param tensor Destination on this backend.
   * @param data Values, one per element.
   */
  upload<D extends DType>(tensor: Tensor<D>, data: HostArray<D>): void;
  /**
   * Copies a tensor's values to the host once all queued kernels have run.
   *
   * @param tensor Source on this backend.
   * @returns A fresh typed array.
   */
  read<D extends DType>(tensor: Tensor<D>): Promise<HostArray<D>>;
  /**
   * Runs a named kernel.
   *
   * @param kernel The kernel's name, the same on every backend.
   * @param args Its tensors and scalars.
   */
  run<K extends KernelName>(kernel: K, args: KernelArgs[K]): void;
  /**
   * Frees a tensor's storage; using it afterwards is an error.
   *
   * @param tensor A tensor of this backend.
   */
  release(tensor: Tensor): void;
  /**
   * Makes a float32 tensor from host data: `allocate` then `upload`.
   *
   * @param data Values, `Float32Array` only.
   * @param shape Dimensions whose product is `data.length`.
   * @returns The new tensor.
   */
  tensor(data: Float32Array, shape: readonly number[]): Tensor<"float32">;
  /**
   * A view of a tensor with another shape of the same size: it shares the
   * storage (no copy), is valid while the base tensor is live, and releasing
   * it frees nothing.
   *
   * @param tensor A live tensor of this backend.
   * @param shape The new dimensions; their product must be `tensor.size`.
   * @returns The view.
   */
  reshape<D extends DType>(
    tensor: Tensor<D>,
    shape: readonly number[],
  ): Tensor<D>;
  /**
   * A view of a tensor's first elements with a shape of their own: like
   * {@linkcode Backend.reshape} (shared storage, valid while the base tensor
   * is live, releasing it frees nothing) but of at most the tensor's size,
   * so that one allocation can serve smaller tensors in turn. A kernel
   * writing into the view writes the base's leading elements; on `webgpu`,
   * whose kernels work on blocks of 4 elements, it may also write the base's
   * elements after the view up to the next multiple of 4.
   *
   * @param tensor A live tensor of this backend.
   * @param shape The view's dimensions; their product must be at most
   *   `tensor.size`.
   * @returns The view of the first `shapeSize(shape)` elements.
   * @throws {RangeError} When `shape` has more elements than `tensor`.
   *
   * @example A kernel writes the first 4 of 6 elements through a 2×2 view
   * ```ts
   * import { createBackend } from "../mod.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const x = backend.tensor(new Float32Array([1, -2, 3, -4, 5, -6]), [6]);
   * const v = backend.view(x, [2, 2]);
   * deepEqual([...(await backend.read(v))], [1, -2, 3, -4]);
   * backend.run("relu", { x: v, y: v, n: 4 });
   * deepEqual([...(await backend.read(x))], [1, 0, 3, 0, 5, -6]);
   * ```
   */
  view<D extends DType>(
    tensor: Tensor<D>,
    shape: readonly number[],
  ): Tensor<D>;
  /**
   * A view of `shapeSize(shape)` consecutive elements of a tensor from
   * element `start` on: like {@linkcode Backend.view} (shared storage, valid
   * while the base tensor is live, releasing it frees nothing) but anywhere
   * in the tensor. Only CPU backends have it: layers use it to work through
   * a batch in slices that stay in cache.
   *
   * @param tensor A live tensor of this backend.
   * @param start The first element of the view.
   * @param shape The view's dimensions; `start` plus their product must be
   *   at most `tensor.size`.
   * @returns The view.
   * @throws {RangeError} When the view would end past the tensor.
   *
   * @example The second image of a batch of two
   * ```ts
   * import { createBackend } from "../mod.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const x = backend.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
   * const second = backend.viewAt!(x, 3, [1, 3]);
   * deepEqual([...(await backend.read(second))], [4, 5, 6]);
   * ```
   */
  viewAt?<D extends DType>(
    tensor: Tensor<D>,
    start: number,
    shape: readonly number[],
  ): Tensor<D>;
  /**
   * Reads a tensor synchronously; only CPU backends have it. With `into`
   * (an array of the tensor's element type and exactly its size, e.g. a
   * `subarray` of a bigger buffer) the values are copied there and `into`
   * is returned; otherwise into a new array.
   */
  readSync?<D extends DType>(
    tensor: Tensor<D>,
    into?: HostArray<D>,
  ): HostArray<D>;
  /**
   * Runs `fn`, then releases every tensor allocated on this backend while it
   * ran, except what it returns: a tensor, or arrays and plain objects of
   * tensors, nested (a returned view keeps its base). What it returns passes
   * to the enclosing scope, if any. The tensors are released whether `fn`
   * returns or throws.
   *
   * What the library keeps for itself across calls is not released: layer
   * parameters and state, optimiser state, a loss's result, the shared
   * workspaces, even when first allocated inside a scope. What it hands to
   * its caller is: the results of `allocate`, `tensor`, `forward` and
   * `backward`, and the activations a model keeps for `backward` (so run a
   * training forward and its backward in one scope). Tensors allocated
   * inside that must outlive it go through {@linkcode Backend.keep}.
   *
   * @param fn The work; it must return synchronously (a scope cannot wait
   *   across an `await`: read results after it, from what it returns).
   * @returns What `fn` returns.
   * @throws {TypeError} When `fn` is not a function or returns a promise.
   *
   * @example One training step per scope: memory stays flat
   * ```ts
   * import { createBackend, Dense, labelsTensor, ReLU, Sequential, SGD, SoftmaxCrossEntropy } from "../mod.ts";
   * import { deepEqual, ok } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const model = new Sequential([new Dense(2, 8), new ReLU(), new Dense(8, 2)]);
   * model.build(backend, [2], { seed: 1 });
   * const lossFn = new SoftmaxCrossEntropy();
   * const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
   * const step = () =>
   *   backend.scope(() => {
   *     const x = backend.tensor(new Float32Array([1, 0, 0, 1, 1, 1, 0, 0]), [4, 2]);
   *     const logits = model.forward(x, { training: true });
   *     const { loss, grad } = lossFn.forward(logits, labelsTensor(backend, [0, 1, 1, 0], 2));
   *     model.backward(grad);
   *     optimizer.step(); // its velocity, made on the first step, is kept
   *     return { loss }; // wrapped: fn itself must not return a promise
   *   });
   * const first = step().loss;
   * const after1 = backend.memoryUsage();
   * let last = first;
   * for (let i = 0; i < 20; i++) last = step().loss;
   * deepEqual(backend.memoryUsage(), after1);
   * ok((await last) < (await first));
   * ```
   */
  scope<T>(fn: () => T): T;
  /**
   * Takes a tensor (the base of a view) out of every open scope, so that
   * none releases it: for a tensor made inside a scope that must outlive
   * it. The caller then releases it.
   *
   * @param tensor A live tensor of this backend.
   * @returns `tensor`.
   *
   * @example Keep one tensor of a scope
   * ```ts
   * import { createBackend, type Tensor } from "../mod.ts";
   * import { ok } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * let kept: Tensor | undefined;
   * let dropped: Tensor | undefined;
   * backend.scope(() => {
   *   kept = backend.keep(backend.allocate([2]));
   *   dropped = backend.allocate([2]);
   * });
   * ok(!kept!.released && dropped!.released);
   * ```
   */
  keep<T extends Tensor>(tensor: T): T;
  /**
   * The tensors allocated and not yet released (views are not counted:
   * they hold no storage of their own).
   *
   * @returns Their count, and the bytes their elements take (4 per
   *   element; an allocator's padding is not counted).
   *
   * @example Count a tensor in and out
   * ```ts
   * import { createBackend } from "../mod.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const before = backend.memoryUsage();
   * const x = backend.allocate([2, 3]);
   * deepEqual(backend.memoryUsage(), { tensors: before.tensors + 1, bytes: before.bytes + 24 });
   * backend.release(x);
   * deepEqual(backend.memoryUsage(), before);
   * ```
   */
  memoryUsage(): MemoryUsage;
  /** Frees everything the backend holds. */
  dispose(): void;
}

/** What {@linkcode Backend.memoryUsage} reports. */
export interface MemoryUsage {
  /** Live tensors, views not counted. */
  tensors: number;
  /** Bytes of their elements. */
  bytes: number;
}

/** Element types a tensor can hold: activations are `float32`; counts and thresholds are `uint32`. */
export type DType = "float32" | "uint32";

/** The typed array that holds a tensor's values on the host, for each {@linkcode DType}. */
export type HostArray<D extends DType> = D extends "float32" ? Float32Array
  : Uint32Array;

/**
 * A block of numbers that lives on one backend (a JavaScript array, WebAssembly
 * memory or a GPU buffer) with a shape. Tensors are made by a backend
 * ({@linkcode Backend.tensor} or {@linkcode Backend.allocate}), read back with
 * {@linkcode Backend.read} and freed with {@linkcode Backend.release}, at the
 * end of a `using` block, or by the {@linkcode Backend.scope} they were made
 * in.
 *
 * @example Make, read and release a tensor
 * ```ts
 * import { createBackend } from "../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.tensor(new Float32Array([1, -2, 3, 4]), [2, 2]);
 * deepEqual(x.size, 4);
 * deepEqual([...(await backend.read(x))], [1, -2, 3, 4]);
 * backend.release(x);
 * ```
 */
export class Tensor<D extends DType = DType> {
  /** The backend that owns the storage. */
  readonly backend: Backend;
  /** Dimensions, outermost first (NCHW for images). */
  readonly shape: readonly number[];
  /** Number of elements: the product of the shape. */
  readonly size: number;
  /** Element type. */
  readonly dtype: D;
  /** Backend-specific storage (a typed array, a byte offset, a GPU buffer). */
  readonly storage: unknown;
  /** The tensor whose storage this one views (made by `reshape` or `view`). */
  readonly base: Tensor<D> | undefined;
  #released = false;

  /**
   * Wraps storage that a backend has allocated; user code gets tensors from a backend instead.
   *
   * @param backend The owning backend.
   * @param shape Dimensions, validated by the caller.
   * @param dtype Element type.
   * @param storage Backend-specific storage.
   * @param base The tensor whose storage this one views, if any.
   */
  constructor(
    backend: Backend,
    shape: readonly number[],
    dtype: D,
    storage: unknown,
    base?: Tensor<D>,
  ) {
    this.base = base?.base ?? base;
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.dtype = dtype;
    this.storage = storage;
  }

  /** Whether {@linkcode Backend.release} has freed this tensor. */
  get released(): boolean {
    return this.#released || (this.base?.released ?? false);
  }

  /** Marks the tensor freed; backends call this from `release`. */
  markReleased(): void {
    this.#released = true;
  }

  /**
   * Releases the tensor unless it is released already (or is a view of a
   * released tensor): what a `using` declaration calls when its block ends.
   * Unlike {@linkcode Backend.release}, calling it twice is no error. A view
   * released this way frees nothing, as with `release`.
   *
   * @example Released when the block ends
   * ```ts
   * import { createBackend, type Tensor } from "../mod.ts";
   * import { ok } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * let seen: Tensor;
   * {
   *   using x = backend.allocate([2, 2]);
   *   seen = x;
   *   ok(!x.released);
   * }
   * ok(seen.released);
   * ```
   */
  [Symbol.dispose](): void {
    if (!this.released) this.backend.release(this);
  }
}

/**
 * Checks a shape and returns its element count.
 *
 * @param shape The dimensions to check.
 * @param what Who is asking, for the error message.
 * @returns The product of the dimensions.
 * @throws {RangeError} When a dimension is not a non-negative integer.
 *
 * @example Count the elements of an NCHW shape
 * ```ts
 * import { shapeSize } from "./backend.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(shapeSize([2, 3, 4, 4], "example"), 96);
 * ```
 */
export function shapeSize(shape: readonly number[], what: string): number {
  if (!Array.isArray(shape)) {
    throw new TypeError(
      `Cannot ${what}: shape must be an array of integers, got ${
        String(shape)
      }`,
    );
  }
  let size = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `Cannot ${what}: shape must hold non-negative integers, got [${
          shape.join(", ")
        }]`,
      );
    }
    size *= d;
  }
  if (size > 2 ** 32 - 1) {
    throw new RangeError(
      `Cannot ${what}: shape must have fewer than 2^32 elements, got [${
        shape.join(", ")
      }]`,
    );
  }
  return size;
}

/**
 * Arguments of each kernel. Every backend implements every kernel under the
 * same name; `reference` is the definition.
 *
 * A tensor is seen as `rows × cols` elements: one row per scope unit (one row
 * for the whole batch, or one per sample).
 *
 * Sharing storage: a kernel's inputs (the tensors it only reads) may share
 * storage with each other, e.g. `matmul` with `b` = `a` for `X · Xᵀ`. An
 * output (a tensor it writes, in-place ones such as `bias_add`'s `y`
 * included) shares storage with no other argument, except with the inputs
 * its doc below names ("`y` may be `x`"), where it is then written in place.
 * A tensor and its views (`reshape`, `view`) share storage, and so do two
 * views of one tensor, whatever their sizes; empty tensors may share
 * anything (nothing of them is read or written). `run` refuses any other
 * sharing with a TypeError before the kernel starts.
 */
export interface KernelArgs {
  /**
   * `counts[r] = #{ c : x[r*cols + c] > 0 }` (NaN counts as inactive).
   * `x`: float32 `[rows*cols]`; `counts`: uint32 `[rows]`, fully overwritten.
   */
  count_active: {
    x: Tensor<"float32">;
    counts: Tensor<"uint32">;
    rows: number;
    cols: number;
  };
  /**
   * Per row: the dropout rate actually applied and the rescale factor.
   *
   * With `normalize`: `drop = counts[r] == 0 ? 0 : min(floor(rate[r] * cols / counts[r]), maxDrop)`,
   * else `drop = rate[r]` (rates in units of 2^-24, see `RATE_ONE` in `backends/kernels.ts`).
   * Then `keep[r] = 2^24 - drop` and
   * `scale[r] = keep[r] == 0 ? 0 : (keep[r] / 2^24)^(-power)` in float32.
   * `counts` is ignored without `normalize`. `keep` may be `counts` or
   * `rate`.
   */
  jumpout_params: {
    counts: Tensor<"uint32">;
    rate: Tensor<"uint32">;
    keep: Tensor<"uint32">;
    scale: Tensor<"float32">;
    rows: number;
    cols: number;
    maxDrop: number;
    normalize: boolean;
    power: number;
  };
  /**
   * `y[i] = (hash32(((i + offset) mod 2^32) ^ key) >>> 8) < keep[row] ? x[i] * scale[row] : 0`
   * with `row = floor(i / cols)`; a finite `x[i]` never becomes infinite
   * (the product saturates at ±3.4028235e38). Used for forward (x = h) and
   * backward (x = dy, same key, offset and params). `y` may be `x`.
   *
   * `offset` numbers the elements as part of a bigger tensor (a shard of a
   * batch split across replicas starts at its first element's index there),
   * so the shards' masks are slices of the whole tensor's mask; rows stay
   * local. `key` and `offset` are unsigned 32-bit integers.
   */
  mask_scale: {
    x: Tensor<"float32">;
    keep: Tensor<"uint32">;
    scale: Tensor<"float32">;
    y: Tensor<"float32">;
    rows: number;
    cols: number;
    key: number;
    offset: number;
  };
  /**
   * `c = op(a) · op(b)`, overwriting `c` (`m × n`, row-major), or with
   * `accumulate` `c += op(a) · op(b)` (e.g. a gradient summed over slices of
   * a batch). `op(a)` is `m × k`: `a` is stored `[m, k]`, or `[k, m]` when
   * `transA`; `op(b)` is `k × n`: `b` is stored `[k, n]`, or `[n, k]` when
   * `transB`. `k = 0` gives zeros (leaves `c` as it is, with `accumulate`).
   * Summation order is the backend's own.
   */
  matmul: {
    a: Tensor<"float32">;
    b: Tensor<"float32">;
    c: Tensor<"float32">;
    m: number;
    n: number;
    k: number;
    transA: boolean;
    transB: boolean;
    accumulate: boolean;
  };
  /**
   * In place: `y[(o * channels + c) * inner + i] += bias[c]`. A dense layer's
   * bias is `inner = 1`; a convolution's (NCHW) is `outer = N, inner = H·W`.
   */
  bias_add: {
    y: Tensor<"float32">;
    bias: Tensor<"float32">;
    outer: number;
    channels: number;
    inner: number;
  };
  /** `db[c] = Σ_{o, i} dy[(o * channels + c) * inner + i]`, overwriting `db`. */
  bias_grad: {
    dy: Tensor<"float32">;
    db: Tensor<"float32">;
    outer: number;
    channels: number;
    inner: number;
  };
  /** `y[i] = x[i] > 0 ? x[i] : 0` (NaN gives 0); `y` may be `x`. */
  relu: { x: Tensor<"float32">; y: Tensor<"float32">; n: number };
  /**
   * `dx[i] = x[i] > 0 ? dy[i] : 0`, with `x` the forward's input (or output:
   * the condition is the same); `dx` may be `dy` or `x`.
   */
  relu_backward: {
    x: Tensor<"float32">;
    dy: Tensor<"float32">;
    dx: Tensor<"float32">;
    n: number;
  };
  /**
   * Unfolds NCHW images for a convolution as a matrix product. With
   * `outH = floor((height + 2·padding - kernelH) / stride) + 1` (likewise
   * `outW`) and `P = batch · outH · outW`, `cols` is `[channels · kernelH ·
   * kernelW, P]`:
   * `cols[((ch · kernelH + ky) · kernelW + kx) · P + (b · outH + oy) · outW + ox]
   *  = x[b, ch, oy·stride - padding + ky, ox·stride - padding + kx]`, 0 outside
   * the image.
   */
  im2col: {
    x: Tensor<"float32">;
    cols: Tensor<"float32">;
  } & ConvGeometry;
  /**
   * The adjoint of `im2col`: `x[b, ch, yy, xx]` = the sum of every `cols`
   * entry that `im2col` reads from that position, overwriting `x`.
   */
  col2im: {
    cols: Tensor<"float32">;
    x: Tensor<"float32">;
  } & ConvGeometry;
  /**
   * A matrix product with `im2col`'s matrix of `x`, without forming it. With
   * `U` = the `[D, P]` matrix `im2col` writes for this geometry (`D =
   * channels · kernelH · kernelW`), or with `flip` the same with each
   * channel's taps in reverse order (row `(ch · kernelH + ky) · kernelW + kx`
   * of `U` holds `im2col`'s row `(ch · kernelH + kernelH - 1 - ky) · kernelW +
   * kernelW - 1 - kx`):
   * `c = a · U` (`a` `[m, D]`, `c` `[m, P]`: a convolution's output, one row
   * per output channel, as `[m, batch, outH, outW]`), or with `transCols`
   * `c = a · Uᵀ` (`a` `[m, P]`, `c` `[m, D]`: a convolution's weight
   * gradient). With `accumulate` the product is added to `c`. The gradient
   * of a stride-1 convolution's input is the convolution of its output
   * gradient, with `padding` `kernel - 1 - padding`, `flip`, and the weights'
   * two channel axes swapped. Summation order is the backend's own.
   */
  matmul_im2col: {
    a: Tensor<"float32">;
    x: Tensor<"float32">;
    c: Tensor<"float32">;
    m: number;
    transCols: boolean;
    flip: boolean;
    accumulate: boolean;
  } & ConvGeometry;
  /**
   * Swaps the two outer axes: `x` is `[rows, cols, inner]`, `y` is
   * `[cols, rows, inner]`:
   * `y[(j · rows + i) · inner + t] = x[(i · cols + j) · inner + t]`.
   */
  transpose: {
    x: Tensor<"float32">;
    y: Tensor<"float32">;
    rows: number;
    cols: number;
    inner: number;
  };
  /**
   * Per channel over `outer · inner` values (indexing as in `bias_add`): the
   * mean and the biased variance `Σ (x - mean)² / count`, both 0 when the count
   * is 0.
   */
  channel_stats: {
    x: Tensor<"float32">;
    mean: Tensor<"float32">;
    variance: Tensor<"float32">;
    outer: number;
    channels: number;
    inner: number;
  };
  /**
   * `y = (x - mean[c]) / sqrt(variance[c] + epsilon) · gamma[c] + beta[c]`
   * per element of channel `c` (batch statistics in training, running ones in
   * evaluation). `y` may be `x`.
   */
  batchnorm_forward: {
    x: Tensor<"float32">;
    mean: Tensor<"float32">;
    variance: Tensor<"float32">;
    gamma: Tensor<"float32">;
    beta: Tensor<"float32">;
    y: Tensor<"float32">;
    outer: number;
    channels: number;
    inner: number;
    epsilon: number;
  };
  /**
   * Gradient of a training-mode `batchnorm_forward` whose `mean` and
   * `variance` were `channel_stats` of `x`. Per channel, with
   * `m = outer · inner`, `r = 1 / sqrt(variance + epsilon)` and
   * `xhat = (x - mean) · r`: `dbeta = Σ dy`, `dgamma = Σ dy · xhat`,
   * `dx = gamma · r · (dy - dbeta / m - xhat · dgamma / m)`. `dx` may be
   * `x` or `dy`.
   */
  batchnorm_backward: {
    x: Tensor<"float32">;
    dy: Tensor<"float32">;
    mean: Tensor<"float32">;
    variance: Tensor<"float32">;
    gamma: Tensor<"float32">;
    dx: Tensor<"float32">;
    dgamma: Tensor<"float32">;
    dbeta: Tensor<"float32">;
    outer: number;
    channels: number;
    inner: number;
    epsilon: number;
  };
  /**
   * `y[i] = alpha · x[i] + beta · y[i]`; when `beta` is 0 the old `y` is not
   * read (`y = alpha · x`, even where `y` held NaN). `y` may be `x`.
   */
  axpby: {
    x: Tensor<"float32">;
    y: Tensor<"float32">;
    n: number;
    alpha: number;
    beta: number;
  };
  /**
   * Max pooling of `planes` images of `height × width` (NCHW with
   * `planes = N · C`), windows `kernel × kernel` every `stride`, `padding`
   * cells of -∞ around; `outH = floor((height + 2·padding - kernel) / stride)
   * + 1`, likewise `outW`. `y[p, oy, ox]` is the window's maximum and
   * `argmax[p, oy, ox]` its index `iy · width + ix` in the plane: the first
   * in-bounds cell in row-major window order, replaced only by a strictly
   * greater value.
   */
  maxpool_forward: {
    x: Tensor<"float32">;
    y: Tensor<"float32">;
    argmax: Tensor<"uint32">;
  } & PoolGeometry;
  /**
   * `dx[p, i] = Σ dy[p, w]` over the windows `w` whose `argmax` is `i`,
   * overwriting `dx`. `argmax` must be as `maxpool_forward` wrote it (each
   * index inside its own window), which lets backends gather instead of
   * scatter.
   */
  maxpool_backward: {
    dy: Tensor<"float32">;
    argmax: Tensor<"uint32">;
    dx: Tensor<"float32">;
  } & PoolGeometry;
  /**
   * Average pooling, geometry as in `maxpool_forward` but with `padding`
   * cells of 0 (PyTorch's `AvgPool2d` with `count_include_pad`):
   * `y[p, oy, ox] = (1 / kernel²) · Σ x[p, iy, ix]` over the window's
   * in-bounds cells, so padding cells still count in the divisor and a window
   * wholly in the padding gives 0. Summation order is the backend's own.
   */
  avgpool_forward: {
    x: Tensor<"float32">;
    y: Tensor<"float32">;
  } & PoolGeometry;
  /**
   * The gradient of `avgpool_forward`: `dx[p, i] = Σ dy[p, w] / kernel²`
   * over the windows `w` that contain cell `i` (0 for a cell in none),
   * overwriting `dx`. Summation order is the backend's own.
   */
  avgpool_backward: {
    dy: Tensor<"float32">;
    dx: Tensor<"float32">;
  } & PoolGeometry;
  /** `dx[r · cols + c] = alpha · dy[r]`. */
  row_broadcast: {
    dy: Tensor<"float32">;
    dx: Tensor<"float32">;
    rows: number;
    cols: number;
    alpha: number;
  };
  /**
   * Softmax cross-entropy, fused and stable. Per row `r` of `logits`
   * (`rows × cols`): `loss_r = log Σ_j exp(x_j - max) + max - x[label]`;
   * `dlogits[r, j] = (softmax_j - [j = label]) / rows`;
   * `result[0] = Σ_r loss_r / rows` (the mean loss) and `result[1]` = how many
   * rows have the label as their first maximum. `rows = 0` gives `[0, 0]`.
   * A label `>= cols` names no class: its row's loss is NaN (so `result[0]`
   * is NaN), the row is not counted as correct, and its `dlogits` row is
   * `softmax_j / rows`, with no one-hot term; nothing outside the row is
   * read or written.
   */
  softmax_cross_entropy: {
    logits: Tensor<"float32">;
    labels: Tensor<"uint32">;
    dlogits: Tensor<"float32">;
    result: Tensor<"float32">;
    rows: number;
    cols: number;
  };
  /**
   * SGD with momentum, PyTorch's convention: `g = grad + weightDecay ·
   * param`, `velocity = momentum · velocity + g`, `param -= lr · (nesterov ?
   * g + momentum · velocity : velocity)`.
   */
  sgd_update: {
    param: Tensor<"float32">;
    grad: Tensor<"float32">;
    velocity: Tensor<"float32">;
    n: number;
    lr: number;
    momentum: number;
    weightDecay: number;
    nesterov: boolean;
  };
  /**
   * Adam (L2 weight decay added to the gradient): `g = grad + weightDecay ·
   * param`, `m = beta1 · m + (1 - beta1) · g`, `v = beta2 · v + (1 - beta2) ·
   * g²`, `param -= lr · (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) +
   * epsilon)`; `step` counts from 1.
   */
  adam_update: {
    param: Tensor<"float32">;
    grad: Tensor<"float32">;
    m: Tensor<"float32">;
    v: Tensor<"float32">;
    n: number;
    lr: number;
    beta1: number;
    beta2: number;
    epsilon: number;
    weightDecay: number;
    step: number;
  };
}

/** Shape of a convolution's input and kernel, as `im2col` and `col2im` see it. */
export interface ConvGeometry {
  /** Images in the batch. */
  batch: number;
  /** Channels per image. */
  channels: number;
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
  /** Kernel height. */
  kernelH: number;
  /** Kernel width. */
  kernelW: number;
  /** Step between windows (>= 1). */
  stride: number;
  /** Zero cells added on each side. */
  padding: number;
}

/** Shape of a pooling's input and window. */
export interface PoolGeometry {
  /** Images times channels. */
  planes: number;
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
  /** Window side. */
  kernel: number;
  /** Step between windows (>= 1). */
  stride: number;
  /** Cells added on each side: -∞ for max pooling, 0 for average pooling. */
  padding: number;
}

/** Names of the kernels every backend runs. */
export type KernelName = keyof KernelArgs;
