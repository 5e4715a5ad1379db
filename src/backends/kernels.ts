/**
 * The kernels every backend runs, each contract written once: what it
 * computes (`KernelArgs` in `backend.ts`, the definition that `reference`
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

import type {
  ConvGeometry,
  KernelArgs,
  KernelName,
  PoolGeometry,
  Tensor,
} from "../backend.ts";

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
      accumulate: "bool",
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
  matmul_im2col: {
    tensors: { a: "float32", x: "float32", c: "float32" },
    outputs: { c: [] },
    scalars: {
      m: "count",
      ...CONV_SCALARS,
      transCols: "bool",
      flip: "bool",
      accumulate: "bool",
    },
    sizes: (a) => {
      const [inner, outer] = a.transCols
        ? [colsPositions(a), colsDepth(a)]
        : [colsDepth(a), colsPositions(a)];
      return { a: a.m * inner, x: imageSize(a), c: a.m * outer };
    },
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
  avgpool_forward: {
    tensors: { x: "float32", y: "float32" },
    outputs: { y: [] },
    scalars: POOL_SCALARS,
    sizes: (a) => ({ x: a.planes * a.height * a.width, y: poolOutSize(a) }),
  },
  avgpool_backward: {
    tensors: { dy: "float32", dx: "float32" },
    outputs: { dx: [] },
    scalars: POOL_SCALARS,
    sizes: (a) => ({ dy: poolOutSize(a), dx: a.planes * a.height * a.width }),
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
  return colsDepth(a) * colsPositions(a);
}

/** Rows of `im2col`'s matrix: `channels · kernelH · kernelW`. */
export function colsDepth(a: ConvGeometry): number {
  return a.channels * a.kernelH * a.kernelW;
}

/** Columns of `im2col`'s matrix: `batch · outH · outW`. */
export function colsPositions(a: ConvGeometry): number {
  const outH = outputSize(a.height, a.kernelH, a.stride, a.padding);
  const outW = outputSize(a.width, a.kernelW, a.stride, a.padding);
  return a.batch * outH * outW;
}

/** Elements of a pooling's output. */
function poolOutSize(a: PoolGeometry): number {
  return a.planes *
    outputSize(a.height, a.kernel, a.stride, a.padding) *
    outputSize(a.width, a.kernel, a.stride, a.padding);
}
