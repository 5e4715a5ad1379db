/**
 * Cases of tensors that share storage within one kernel call: inputs shared
 * with each other (always allowed), outputs written in place over the inputs
 * their kernel's doc names, and one refused pair per kernel family.
 *
 * Shared and in-place calls run as rows of the conformance table: compared
 * with the reference run on separate tensors holding the same values, under
 * the kernel's check.
 */
import type { HostData, KernelCase } from "../kernels.ts";
import { garbage, type Row, values } from "./_spec.ts";
import type { KernelName } from "../../../mod.ts";

/** A kernel call whose tensor `alias` is passed as the tensor `target`. */
export interface SharedCase {
  kernel: KernelName;
  /** The call on separate tensors; `alias` holds the same values as `target`. */
  separate: KernelCase;
  /** The argument passed as another one's tensor. */
  alias: string;
  /** The argument whose tensor it is. */
  target: string;
}

/** The call itself, with `alias` passed as `target`'s tensor. */
export function sharedCall(s: SharedCase): Row {
  const { [s.alias]: _, ...tensors } = s.separate.tensors;
  return {
    ...s.separate,
    what: `${s.kernel} ${s.alias} = ${s.target}: ${s.separate.what}`,
    tensors,
    same: { [s.alias]: s.target },
  };
}

/** `n` keep thresholds spread over [0, 2^24] and factors near 1. */
function maskParams(n: number): { keep: Uint32Array; scale: Float32Array } {
  return {
    keep: Uint32Array.from({ length: n }, (_, r) => (r * 2_796_203) % 2 ** 24),
    scale: values(n, 41).map((v) => 1 + v / 4),
  };
}

/** Per-channel statistics with a positive variance. */
function stats(channels: number): Record<string, Float32Array> {
  return {
    mean: values(channels, 42),
    variance: values(channels, 43).map((v) => v * v + 0.01),
  };
}

/** Uint32 counts, rates and outputs of `jumpout_params` over `rows` rows. */
function jumpoutCase(rows: number): KernelCase {
  const rate = Uint32Array.from(
    { length: rows },
    (_, r) => r * 99_991 % 2 ** 23,
  );
  return {
    what: `rows=${rows}`,
    tensors: {
      // Equal to rate, so that sharing them changes nothing.
      counts: rate.slice(),
      rate,
      keep: new Uint32Array(rows).fill(7),
      scale: garbage(rows),
    },
    scalars: {
      rows,
      cols: 2 ** 22,
      maxDrop: 2 ** 23,
      normalize: true,
      power: 0.5,
    },
  };
}

/** Inputs passed as one tensor: every backend must read both from it. */
export function sharedInputs(): SharedCase[] {
  const m = 70, k = 37, channels = 29;
  const x = values(m * k, 44);
  const matmulCase = (transA: boolean, transB: boolean): SharedCase => ({
    kernel: "matmul",
    // X · Xᵀ (a stored [m, k], b stored [n, k]) or Xᵀ · X (both [k, m]).
    separate: {
      what: `m=n=${m} k=${k} transA=${transA} transB=${transB}`,
      tensors: { a: x, b: x.slice(), c: garbage(m * m) },
      scalars: { m, n: m, k, transA, transB, accumulate: false },
    },
    alias: "b",
    target: "a",
  });
  const gamma = values(channels, 45);
  // outer = inner = 1: x (and dy) hold as many values as gamma, one each.
  const perChannel = { outer: 1, channels, inner: 1 };
  const forward = (tensors: Record<string, HostData>): KernelCase => ({
    what: `outer=1 channels=${channels} inner=1`,
    tensors: {
      x: gamma.slice(),
      ...stats(channels),
      gamma,
      beta: values(channels, 46),
      y: garbage(channels),
      ...tensors,
    },
    scalars: { ...perChannel, epsilon: 1e-5 },
  });
  const backward: KernelCase = {
    what: `outer=1 channels=${channels} inner=1`,
    tensors: {
      x: values(channels, 47),
      dy: gamma.slice(),
      ...stats(channels),
      gamma,
      dx: garbage(channels),
      dgamma: garbage(channels),
      dbeta: garbage(channels),
    },
    scalars: { ...perChannel, epsilon: 1e-5 },
  };
  const rows = 300, { keep, scale } = maskParams(rows);
  return [
    matmulCase(false, true),
    matmulCase(true, false),
    {
      kernel: "batchnorm_forward",
      separate: forward({ beta: gamma.slice() }),
      alias: "beta",
      target: "gamma",
    },
    {
      kernel: "batchnorm_forward",
      separate: forward({}),
      alias: "gamma",
      target: "x",
    },
    {
      kernel: "batchnorm_backward",
      separate: {
        ...backward,
        tensors: { ...backward.tensors, dy: backward.tensors.x.slice() },
      },
      alias: "dy",
      target: "x",
    },
    {
      kernel: "batchnorm_backward",
      separate: backward,
      alias: "gamma",
      target: "dy",
    },
    {
      kernel: "mask_scale",
      // cols = 1: x holds one value per row, like scale.
      separate: {
        what: `rows=${rows} cols=1`,
        tensors: { x: scale.slice(), keep, scale, y: garbage(rows) },
        scalars: { rows, cols: 1, key: 12345, offset: 0 },
      },
      alias: "scale",
      target: "x",
    },
    {
      kernel: "relu_backward",
      separate: {
        what: "n=1001",
        tensors: {
          x: values(1001, 48),
          dy: values(1001, 48),
          dx: garbage(1001),
        },
        scalars: { n: 1001 },
      },
      alias: "dy",
      target: "x",
    },
    {
      kernel: "jumpout_params",
      separate: jumpoutCase(300),
      alias: "counts",
      target: "rate",
    },
  ];
}

/** Outputs written in place over the inputs their kernel's doc allows. */
export function inPlace(): SharedCase[] {
  const n = 1001, outer = 7, channels = 11, inner = 13;
  const size = outer * channels * inner;
  // Rows of 41: vec4s and SIMD lanes straddle rows.
  const rows = 25, cols = 41, { keep, scale } = maskParams(rows);
  const x = values(size, 49);
  const bn = { outer, channels, inner, epsilon: 1e-5 };
  const forward: KernelCase = {
    what: `outer=${outer} channels=${channels} inner=${inner}`,
    tensors: {
      x,
      ...stats(channels),
      gamma: values(channels, 50),
      beta: values(channels, 51),
      y: x.slice(),
    },
    scalars: bn,
  };
  // Training mode: mean and variance are x's own.
  const xStats = channelStatsOf(x, outer, channels, inner);
  const backward = (dx: Float32Array): KernelCase => ({
    what: forward.what,
    tensors: {
      x,
      dy: values(size, 52),
      ...xStats,
      gamma: values(channels, 53),
      dx,
      dgamma: garbage(channels),
      dbeta: garbage(channels),
    },
    scalars: bn,
  });
  const backwardDx = backward(x.slice());
  const backwardDy = backward(garbage(size));
  backwardDy.tensors.dx = (backwardDy.tensors.dy as Float32Array).slice();
  const elementwiseX = values(n, 54), dy = values(n, 55);
  const axpby = (beta: number): SharedCase => ({
    kernel: "axpby",
    separate: {
      what: `n=${n} beta=${beta}`,
      tensors: { x: elementwiseX, y: elementwiseX.slice() },
      scalars: { n, alpha: 0.75, beta },
    },
    alias: "y",
    target: "x",
  });
  const jumpout = jumpoutCase(300);
  return [
    {
      kernel: "mask_scale",
      separate: {
        what: `rows=${rows} cols=${cols}`,
        tensors: {
          x: values(rows * cols, 56),
          keep,
          scale,
          y: values(rows * cols, 56),
        },
        scalars: { rows, cols, key: 77, offset: 0 },
      },
      alias: "y",
      target: "x",
    },
    ...["counts", "rate"].map((target): SharedCase => ({
      kernel: "jumpout_params",
      separate: {
        ...jumpout,
        tensors: {
          ...jumpout.tensors,
          keep: (jumpout.tensors[target] as Uint32Array).slice(),
        },
      },
      alias: "keep",
      target,
    })),
    {
      kernel: "relu",
      separate: {
        what: `n=${n}`,
        tensors: { x: elementwiseX, y: elementwiseX.slice() },
        scalars: { n },
      },
      alias: "y",
      target: "x",
    },
    ...["x", "dy"].map((target): SharedCase => ({
      kernel: "relu_backward",
      separate: {
        what: `n=${n}`,
        tensors: {
          x: elementwiseX,
          dy,
          dx: (target === "x" ? elementwiseX : dy).slice(),
        },
        scalars: { n },
      },
      alias: "dx",
      target,
    })),
    { kernel: "batchnorm_forward", separate: forward, alias: "y", target: "x" },
    {
      kernel: "batchnorm_backward",
      separate: backwardDx,
      alias: "dx",
      target: "x",
    },
    {
      kernel: "batchnorm_backward",
      separate: backwardDy,
      alias: "dx",
      target: "dy",
    },
    axpby(0.5),
    axpby(0),
  ];
}

/** Mean and biased variance per channel in float64, rounded to float32. */
function channelStatsOf(
  x: Float32Array,
  outer: number,
  channels: number,
  inner: number,
): Record<string, Float32Array> {
  const mean = new Float32Array(channels);
  const variance = new Float32Array(channels);
  const count = outer * inner;
  for (let ch = 0; ch < channels; ch++) {
    let sum = 0, squares = 0;
    for (let o = 0; o < outer; o++) {
      for (let t = 0; t < inner; t++) sum += x[(o * channels + ch) * inner + t];
    }
    const mu = sum / count;
    for (let o = 0; o < outer; o++) {
      for (let t = 0; t < inner; t++) {
        squares += (x[(o * channels + ch) * inner + t] - mu) ** 2;
      }
    }
    mean[ch] = mu;
    variance[ch] = squares / count;
  }
  return { mean, variance };
}

/** A call that must be refused: `alias` is `target`'s tensor, or a view of it. */
export interface RefusedCase {
  kernel: KernelName;
  tensors: Record<string, HostData>;
  scalars: Record<string, number | boolean>;
  alias: string;
  target: string;
  /** Whether `alias` is a reshaped view of `target` rather than the tensor. */
  view?: boolean;
  message: string;
}

/** One refused pair per kernel family, outputs against inputs and outputs. */
export function refused(): RefusedCase[] {
  const f = (n: number, seed: number) => values(n, seed);
  const message = (
    kernel: string,
    output: string,
    other: string,
    got: string,
  ) =>
    `Cannot run ${kernel}: ${output} must not share storage with ${other}, got ${got}`;
  const same = "the same tensor", views = "views of the same storage";
  const pool = {
    planes: 2,
    height: 3,
    width: 3,
    kernel: 1,
    stride: 1,
    padding: 0,
  };
  const conv = {
    batch: 1,
    channels: 2,
    height: 3,
    width: 3,
    kernelH: 1,
    kernelW: 1,
    stride: 1,
    padding: 0,
  };
  return [
    {
      kernel: "mask_scale",
      tensors: {
        x: f(4, 1),
        keep: new Uint32Array(4).fill(2 ** 24),
        scale: f(4, 2),
        y: f(4, 3),
      },
      scalars: { rows: 4, cols: 1, key: 0, offset: 0 },
      alias: "y",
      target: "scale",
      message: message("mask_scale", "y", "scale", same),
    },
    {
      kernel: "bias_add",
      tensors: { y: f(3, 4), bias: f(3, 5) },
      scalars: { outer: 1, channels: 3, inner: 1 },
      alias: "bias",
      target: "y",
      message: message("bias_add", "y", "bias", same),
    },
    {
      kernel: "matmul",
      tensors: { a: f(16, 6), b: f(16, 7), c: f(16, 8) },
      scalars: {
        m: 4,
        n: 4,
        k: 4,
        transA: false,
        transB: false,
        accumulate: false,
      },
      alias: "c",
      target: "a",
      message: message("matmul", "c", "a", same),
    },
    {
      kernel: "matmul",
      tensors: { a: f(16, 6), b: f(16, 7), c: f(16, 8) },
      scalars: {
        m: 4,
        n: 4,
        k: 4,
        transA: false,
        transB: true,
        accumulate: false,
      },
      alias: "c",
      target: "b",
      view: true,
      message: message("matmul", "c", "b", views),
    },
    {
      kernel: "col2im",
      tensors: { cols: f(18, 9), x: f(18, 10) },
      scalars: conv,
      alias: "x",
      target: "cols",
      message: message("col2im", "x", "cols", same),
    },
    {
      kernel: "transpose",
      tensors: { x: f(12, 11), y: f(12, 12) },
      scalars: { rows: 3, cols: 4, inner: 1 },
      alias: "y",
      target: "x",
      view: true,
      message: message("transpose", "y", "x", views),
    },
    {
      kernel: "channel_stats",
      tensors: { x: f(6, 13), mean: f(3, 14), variance: f(3, 15) },
      scalars: { outer: 2, channels: 3, inner: 1 },
      alias: "variance",
      target: "mean",
      message: message("channel_stats", "mean", "variance", same),
    },
    {
      kernel: "batchnorm_backward",
      tensors: {
        x: f(3, 16),
        dy: f(3, 17),
        ...stats(3),
        gamma: f(3, 18),
        dx: f(3, 19),
        dgamma: f(3, 20),
        dbeta: f(3, 21),
      },
      scalars: { outer: 1, channels: 3, inner: 1, epsilon: 1e-5 },
      alias: "dgamma",
      target: "gamma",
      message: message("batchnorm_backward", "dgamma", "gamma", same),
    },
    {
      kernel: "maxpool_backward",
      tensors: {
        dy: f(18, 22),
        argmax: new Uint32Array(18).map((_, i) => i % 9),
        dx: f(18, 23),
      },
      scalars: pool,
      alias: "dx",
      target: "dy",
      message: message("maxpool_backward", "dx", "dy", same),
    },
    {
      kernel: "bias_grad",
      tensors: { dy: f(5, 24), db: f(5, 25) },
      scalars: { outer: 1, channels: 5, inner: 1 },
      alias: "db",
      target: "dy",
      message: message("bias_grad", "db", "dy", same),
    },
    {
      kernel: "softmax_cross_entropy",
      tensors: {
        logits: f(6, 26),
        labels: new Uint32Array([0, 2]),
        dlogits: f(6, 27),
        result: f(2, 28),
      },
      scalars: { rows: 2, cols: 3 },
      alias: "dlogits",
      target: "logits",
      message: message("softmax_cross_entropy", "dlogits", "logits", same),
    },
    {
      kernel: "sgd_update",
      tensors: { param: f(8, 29), grad: f(8, 30), velocity: f(8, 31) },
      scalars: {
        n: 8,
        lr: 0.1,
        momentum: 0.9,
        weightDecay: 0,
        nesterov: false,
      },
      alias: "grad",
      target: "param",
      message: message("sgd_update", "param", "grad", same),
    },
    {
      kernel: "adam_update",
      tensors: { param: f(8, 32), grad: f(8, 33), m: f(8, 34), v: f(8, 35) },
      scalars: {
        n: 8,
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        weightDecay: 0,
        step: 1,
      },
      alias: "v",
      target: "m",
      message: message("adam_update", "m", "v", same),
    },
  ];
}
