/**
 * The kernels every backend runs, each contract written once: what it
 * computes ({@linkcode KernelArgs}, the definition that `reference`
 * implements) and how it is called ({@linkcode KERNELS}: its tensors in
 * order, which outputs may share storage with which inputs, its other
 * arguments in order with the checks they get, and the tensors' sizes).
 *
 * The order of a row is the calling convention of every backend: the WGSL
 * shader `shaders/<kernel>.wgsl` binds the tensors at `@binding(1)` onwards
 * in that order and opens its `struct Params` with the other arguments in
 * that order (then the derived values, then fields of its own); the wasm
 * export `<kernel>` in `asm/` takes the tensors' byte offsets, then the
 * other arguments, then the derived values. `tests/kernel_table_test.ts`
 * reads the shaders and the wasm exports and checks them against this table.
 *
 * @module
 */

import type { DType, Tensor } from "../tensor.ts";

/**
 * Fixed-point unit of dropout rates inside the kernels: a rate r is the
 * integer `round(r * RATE_ONE)`, and a unit is kept when the top 24 bits of its
 * hash are below `RATE_ONE - drop`. Integer arithmetic keeps CPU and GPU masks
 * bit-identical.
 */
export const RATE_ONE = 16777216; // 2^24

/** The largest finite float32; kernel products saturate here instead of overflowing. */
export const FLOAT32_MAX = 3.4028234663852886e38;

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
 * A tensor and its reshaped views share storage; empty tensors may share
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
   * else `drop = rate[r]` (rates in units of 2^-24, see {@linkcode RATE_ONE}).
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
   * `c = op(a) · op(b)`, overwriting `c` (`m × n`, row-major). `op(a)` is
   * `m × k`: `a` is stored `[m, k]`, or `[k, m]` when `transA`; `op(b)` is
   * `k × n`: `b` is stored `[k, n]`, or `[n, k]` when `transB`. `k = 0` gives
   * zeros. Summation order is the backend's own.
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
  /** Cells of -∞ added on each side. */
  padding: number;
}

/**
 * Output side of a convolution or pooling window along one axis:
 * `floor((size + 2·padding - kernel) / stride) + 1`, or 0 when the window does
 * not fit.
 *
 * @param size Input size along the axis.
 * @param kernel Window size.
 * @param stride Step between windows (>= 1).
 * @param padding Cells added on each side.
 * @returns The output size.
 *
 * @example A 3×3 convolution with padding 1 keeps 28 pixels
 * ```ts
 * import { outputSize } from "./kernels.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(outputSize(28, 3, 1, 1), 28);
 * equal(outputSize(28, 2, 2, 0), 14);
 * ```
 */
export function outputSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
): number {
  const span = size + 2 * padding - kernel;
  return span < 0 ? 0 : Math.floor(span / stride) + 1;
}

/** Names of the kernels every backend runs. */
export type KernelName = keyof KernelArgs;

/**
 * How a kernel's number or boolean argument is checked, and how backends
 * pass it: `bool` as 0 or 1, the integer kinds as unsigned 32-bit integers
 * in WGSL (a float64 in wasm where a size may pass 2^32), the real kinds as
 * floats.
 *
 * - `count`: an integer >= 0 (a size);
 * - `positive`: an integer >= 1;
 * - `uint32`: an integer in [0, 2^32);
 * - `bool`: `true` or `false`;
 * - `finite`: a finite number;
 * - `nonNegative`: a finite number >= 0;
 * - `unit`: a number in [0, 1).
 */
export type ScalarKind =
  | "count"
  | "positive"
  | "uint32"
  | "bool"
  | "finite"
  | "nonNegative"
  | "unit";

/** The names of `A`'s tensor arguments. */
export type TensorNames<A> = {
  [N in keyof A]-?: A[N] extends Tensor ? N : never;
}[keyof A];

/** The names of `A`'s other (number and boolean) arguments. */
export type ScalarNames<A> = Exclude<keyof A, TensorNames<A>>;

/**
 * One row of {@linkcode KERNELS}: how a kernel with arguments `A` is called.
 * The type system checks that a row names exactly the kernel's arguments;
 * the order of `tensors` and `scalars` is the calling convention.
 */
export interface KernelContract<A> {
  /** Every tensor argument with its element type, in binding order. */
  readonly tensors: {
    readonly [N in TensorNames<A>]: A[N] extends Tensor<infer D> ? D : never;
  };
  /**
   * The tensors the kernel writes, each with the inputs it may share storage
   * with (be written in place over); every other tensor is an input. An
   * output shares storage with nothing else, other outputs included; inputs
   * may share storage with each other.
   */
  readonly outputs: {
    readonly [N in TensorNames<A>]?: readonly TensorNames<A>[];
  };
  /** Every other argument with its kind, in parameter order. */
  readonly scalars: {
    readonly [N in ScalarNames<A>]: A[N] extends boolean ? "bool"
      : Exclude<ScalarKind, "bool">;
  };
  /** The element count each tensor must have. */
  readonly sizes: (a: A) => { readonly [N in TensorNames<A>]: number };
  /**
   * Values computed from the arguments in float64 and passed after them, in
   * this order, where the kernels must not compute them in their own
   * precision (Adam's bias corrections).
   */
  readonly derived?: Readonly<Record<string, (a: A) => number>>;
}

/**
 * Why `v` is not a valid argument of kind `kind`, or `undefined` when it is.
 *
 * @param kind The argument's kind.
 * @param v The value given.
 * @returns The reason, e.g. `"must be an integer >= 1"`.
 *
 * @example Kinds at their edges
 * ```ts
 * import { scalarError } from "./kernels.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(scalarError("count", 0), undefined);
 * equal(scalarError("positive", 0), "must be an integer >= 1");
 * equal(scalarError("unit", 1), "must be in [0, 1)");
 * ```
 */
export function scalarError(kind: ScalarKind, v: unknown): string | undefined {
  const n = v as number;
  switch (kind) {
    case "count":
      return Number.isSafeInteger(n) && n >= 0
        ? undefined
        : "must be a non-negative integer";
    case "positive":
      return Number.isSafeInteger(n) && n >= 1
        ? undefined
        : "must be an integer >= 1";
    case "uint32":
      return Number.isInteger(n) && n >= 0 && n < 2 ** 32
        ? undefined
        : "must be an integer in [0, 2^32)";
    case "bool":
      return typeof v === "boolean" ? undefined : "must be a boolean";
    case "finite":
      return Number.isFinite(n) ? undefined : "must be a finite number";
    case "nonNegative":
      return Number.isFinite(n) && n >= 0
        ? undefined
        : "must be a finite number >= 0";
    case "unit":
      return n >= 0 && n < 1 ? undefined : "must be in [0, 1)";
  }
}

/**
 * A row of {@linkcode KERNELS} without its kernel's argument types, as the
 * backends walk it: names in order, kinds, and the size and derived-value
 * functions over plain argument records.
 */
export interface AnyKernelContract {
  /** Tensor names in binding order, with their element types. */
  readonly tensors: Readonly<Record<string, DType>>;
  /** Each written tensor with the inputs it may share storage with. */
  readonly outputs: Readonly<Record<string, readonly string[]>>;
  /** Other argument names in parameter order, with their kinds. */
  readonly scalars: Readonly<Record<string, ScalarKind>>;
  /** Each tensor's element count. */
  readonly sizes: (a: Readonly<Record<string, unknown>>) => Readonly<
    Record<string, number>
  >;
  /** Values computed in float64, passed after the other arguments. */
  readonly derived?: Readonly<
    Record<string, (a: Readonly<Record<string, unknown>>) => number>
  >;
}

/**
 * A kernel's row of {@linkcode KERNELS}, seen without its argument types.
 *
 * @param kernel The kernel's name.
 * @returns Its row.
 *
 * @example The order of `matmul`'s other arguments
 * ```ts
 * import { contractOf } from "./kernels.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(Object.keys(contractOf("matmul").scalars), ["m", "n", "k", "transA", "transB"]);
 * ```
 */
export function contractOf(kernel: KernelName): AnyKernelContract {
  return KERNELS[kernel] as unknown as AnyKernelContract;
}

/** The integer arguments of `im2col` and `col2im`, in order. */
const CONV_SCALARS = {
  batch: "count",
  channels: "count",
  height: "count",
  width: "count",
  kernelH: "positive",
  kernelW: "positive",
  stride: "positive",
  padding: "count",
} as const;

/** The integer arguments of the pooling kernels, in order. */
const POOL_SCALARS = {
  planes: "count",
  height: "count",
  width: "count",
  kernel: "positive",
  stride: "positive",
  padding: "count",
} as const;

/** The integer arguments of the per-channel kernels, in order. */
const CHANNEL_SCALARS = {
  outer: "count",
  channels: "count",
  inner: "count",
} as const;

/**
 * Every kernel's calling contract, by name; what each computes is its
 * {@linkcode KernelArgs} entry.
 *
 * @example `relu` may write in place; `matmul` may not
 * ```ts
 * import { KERNELS } from "./kernels.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(Object.keys(KERNELS.mask_scale.tensors), ["x", "keep", "scale", "y"]);
 * deepEqual(KERNELS.relu.outputs, { y: ["x"] });
 * deepEqual(KERNELS.matmul.outputs, { c: [] });
 * ```
 */
export const KERNELS: {
  readonly [K in KernelName]: KernelContract<KernelArgs[K]>;
} = {
  count_active: {
    tensors: { x: "float32", counts: "uint32" },
    outputs: { counts: [] },
    scalars: { rows: "count", cols: "count" },
    sizes: (a) => ({ x: a.rows * a.cols, counts: a.rows }),
  },
  jumpout_params: {
    tensors: {
      counts: "uint32",
      rate: "uint32",
      keep: "uint32",
      scale: "float32",
    },
    outputs: { keep: ["counts", "rate"], scale: [] },
    scalars: {
      rows: "count",
      cols: "count",
      maxDrop: "uint32",
      normalize: "bool",
      power: "nonNegative",
    },
    sizes: (a) => ({
      counts: a.rows,
      rate: a.rows,
      keep: a.rows,
      scale: a.rows,
    }),
  },
  mask_scale: {
    tensors: { x: "float32", keep: "uint32", scale: "float32", y: "float32" },
    outputs: { y: ["x"] },
    scalars: { rows: "count", cols: "count", key: "uint32", offset: "uint32" },
    sizes: (a) => ({
      x: a.rows * a.cols,
      keep: a.rows,
      scale: a.rows,
      y: a.rows * a.cols,
    }),
  },
  matmul: {
    tensors: { a: "float32", b: "float32", c: "float32" },
    outputs: { c: [] },
    scalars: {
      m: "count",
      n: "count",
      k: "count",
      transA: "bool",
      transB: "bool",
    },
    sizes: (a) => ({ a: a.m * a.k, b: a.k * a.n, c: a.m * a.n }),
  },
  bias_add: {
    tensors: { y: "float32", bias: "float32" },
    outputs: { y: [] },
    scalars: CHANNEL_SCALARS,
    sizes: (a) => ({ y: a.outer * a.channels * a.inner, bias: a.channels }),
  },
  bias_grad: {
    tensors: { dy: "float32", db: "float32" },
    outputs: { db: [] },
    scalars: CHANNEL_SCALARS,
    sizes: (a) => ({ dy: a.outer * a.channels * a.inner, db: a.channels }),
  },
  relu: {
    tensors: { x: "float32", y: "float32" },
    outputs: { y: ["x"] },
    scalars: { n: "count" },
    sizes: (a) => ({ x: a.n, y: a.n }),
  },
  relu_backward: {
    tensors: { x: "float32", dy: "float32", dx: "float32" },
    outputs: { dx: ["x", "dy"] },
    scalars: { n: "count" },
    sizes: (a) => ({ x: a.n, dy: a.n, dx: a.n }),
  },
  im2col: {
    tensors: { x: "float32", cols: "float32" },
    outputs: { cols: [] },
    scalars: CONV_SCALARS,
    sizes: (a) => ({ x: imageSize(a), cols: colsSize(a) }),
  },
  col2im: {
    tensors: { cols: "float32", x: "float32" },
    outputs: { x: [] },
    scalars: CONV_SCALARS,
    sizes: (a) => ({ cols: colsSize(a), x: imageSize(a) }),
  },
  transpose: {
    tensors: { x: "float32", y: "float32" },
    outputs: { y: [] },
    scalars: { rows: "count", cols: "count", inner: "count" },
    sizes: (a) => ({
      x: a.rows * a.cols * a.inner,
      y: a.rows * a.cols * a.inner,
    }),
  },
  channel_stats: {
    tensors: { x: "float32", mean: "float32", variance: "float32" },
    outputs: { mean: [], variance: [] },
    scalars: CHANNEL_SCALARS,
    sizes: (a) => ({
      x: a.outer * a.channels * a.inner,
      mean: a.channels,
      variance: a.channels,
    }),
  },
  batchnorm_forward: {
    tensors: {
      x: "float32",
      mean: "float32",
      variance: "float32",
      gamma: "float32",
      beta: "float32",
      y: "float32",
    },
    outputs: { y: ["x"] },
    scalars: { ...CHANNEL_SCALARS, epsilon: "nonNegative" },
    sizes: (a) => ({
      x: a.outer * a.channels * a.inner,
      mean: a.channels,
      variance: a.channels,
      gamma: a.channels,
      beta: a.channels,
      y: a.outer * a.channels * a.inner,
    }),
  },
  batchnorm_backward: {
    tensors: {
      x: "float32",
      dy: "float32",
      mean: "float32",
      variance: "float32",
      gamma: "float32",
      dx: "float32",
      dgamma: "float32",
      dbeta: "float32",
    },
    outputs: { dx: ["x", "dy"], dgamma: [], dbeta: [] },
    scalars: { ...CHANNEL_SCALARS, epsilon: "nonNegative" },
    sizes: (a) => ({
      x: a.outer * a.channels * a.inner,
      dy: a.outer * a.channels * a.inner,
      mean: a.channels,
      variance: a.channels,
      gamma: a.channels,
      dx: a.outer * a.channels * a.inner,
      dgamma: a.channels,
      dbeta: a.channels,
    }),
  },
  axpby: {
    tensors: { x: "float32", y: "float32" },
    outputs: { y: ["x"] },
    scalars: { n: "count", alpha: "finite", beta: "finite" },
    sizes: (a) => ({ x: a.n, y: a.n }),
  },
  maxpool_forward: {
    tensors: { x: "float32", y: "float32", argmax: "uint32" },
    outputs: { y: [], argmax: [] },
    scalars: POOL_SCALARS,
    sizes: (a) => ({
      x: a.planes * a.height * a.width,
      y: poolOutSize(a),
      argmax: poolOutSize(a),
    }),
  },
  maxpool_backward: {
    tensors: { dy: "float32", argmax: "uint32", dx: "float32" },
    outputs: { dx: [] },
    scalars: POOL_SCALARS,
    sizes: (a) => ({
      dy: poolOutSize(a),
      argmax: poolOutSize(a),
      dx: a.planes * a.height * a.width,
    }),
  },
  row_broadcast: {
    tensors: { dy: "float32", dx: "float32" },
    outputs: { dx: [] },
    scalars: { rows: "count", cols: "count", alpha: "finite" },
    sizes: (a) => ({ dy: a.rows, dx: a.rows * a.cols }),
  },
  softmax_cross_entropy: {
    tensors: {
      logits: "float32",
      labels: "uint32",
      dlogits: "float32",
      result: "float32",
    },
    outputs: { dlogits: [], result: [] },
    scalars: { rows: "count", cols: "count" },
    sizes: (a) => ({
      logits: a.rows * a.cols,
      labels: a.rows,
      dlogits: a.rows * a.cols,
      result: 2,
    }),
  },
  sgd_update: {
    tensors: { param: "float32", grad: "float32", velocity: "float32" },
    outputs: { param: [], velocity: [] },
    scalars: {
      n: "count",
      lr: "nonNegative",
      momentum: "nonNegative",
      weightDecay: "nonNegative",
      nesterov: "bool",
    },
    sizes: (a) => ({ param: a.n, grad: a.n, velocity: a.n }),
  },
  adam_update: {
    tensors: { param: "float32", grad: "float32", m: "float32", v: "float32" },
    outputs: { param: [], m: [], v: [] },
    scalars: {
      n: "count",
      lr: "nonNegative",
      beta1: "unit",
      beta2: "unit",
      epsilon: "nonNegative",
      weightDecay: "nonNegative",
      step: "positive",
    },
    sizes: (a) => ({ param: a.n, grad: a.n, m: a.n, v: a.n }),
    // In float32, beta^step rounds away the small gaps from 1 that matter.
    derived: {
      correction1: (a) => 1 - a.beta1 ** a.step,
      correction2: (a) => 1 - a.beta2 ** a.step,
    },
  },
};

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
