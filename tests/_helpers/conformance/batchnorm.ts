/**
 * Rows of the batch-normalisation kernels. Tolerances: `channel_stats` and
 * `batchnorm_backward` reduce up to 100k values per channel, so within 1e-5
 * of each output's Σ|terms|; `batchnorm_forward` is element-wise, within 1e-6
 * of Σ|terms| = (|x| + |mean|) · r · |gamma| + |beta| with
 * r = 1 / sqrt(variance + epsilon).
 */
import {
  absCase,
  assertWithin,
  type KernelCase,
  reference,
  runKernel,
} from "../kernels.ts";
import {
  CHANNEL_BLOCK_SHAPES,
  CHANNEL_SHAPES,
  garbage,
  type KernelSpec,
  type Row,
  values,
} from "./_spec.ts";

/** The common layouts plus channels of 100k values. */
const SHAPES = CHANNEL_SHAPES.concat([[10, 2, 10_007]]);

function describe(outer: number, channels: number, inner: number): string {
  return `outer=${outer} channels=${channels} inner=${inner}`;
}

export const channel_stats: KernelSpec = {
  rows: () =>
    SHAPES.flatMap(([outer, channels, inner]) =>
      // An offset of 100 makes a one-pass E[x²] - mean² lose the variance.
      [0, 100].map((offset) => ({
        what: `${describe(outer, channels, inner)} offset=${offset}`,
        tensors: {
          x: values(outer * channels * inner, 17).map((v) => v + offset),
          mean: garbage(channels),
          variance: garbage(channels),
        },
        scalars: { outer, channels, inner },
      }))
    ),
  async check(c, actual, expected) {
    const bound = await runKernel(reference, "channel_stats", absCase(c));
    assertWithin(
      actual.mean,
      expected.mean,
      bound.mean,
      1e-5,
      `${c.what}: mean`,
    );
    // Σ (x - mean)² has only non-negative terms: its bound is itself.
    assertWithin(
      actual.variance,
      expected.variance,
      expected.variance,
      1e-5,
      `${c.what}: variance`,
    );
  },
};

/** Random per-channel parameters; variance > 0 so that epsilon may be 0. */
function channelParams(channels: number): Record<string, Float32Array> {
  return {
    mean: values(channels, 18),
    variance: values(channels, 19).map((v) => v * v + 0.01),
    gamma: values(channels, 20),
    beta: values(channels, 21),
  };
}

export const batchnorm_forward: KernelSpec = {
  rows: () => [
    ...SHAPES.flatMap(([outer, channels, inner]) =>
      [1e-5, 0].map((epsilon) => ({
        what: `${describe(outer, channels, inner)} epsilon=${epsilon}`,
        tensors: {
          x: values(outer * channels * inner, 22),
          ...channelParams(channels),
          y: garbage(outer * channels * inner),
        },
        scalars: { outer, channels, inner, epsilon },
      }))
    ),
    ...CHANNEL_BLOCK_SHAPES.map(([outer, channels, inner]): Row => ({
      what: `${describe(outer, channels, inner)} in place`,
      tensors: {
        x: values(outer * channels * inner, 5),
        ...channelParams(channels),
      },
      scalars: { outer, channels, inner, epsilon: 1e-5 },
      same: { y: "x" },
    })),
  ],
  check(c, actual, expected) {
    const { x, mean, gamma, beta } = c.tensors as Record<string, Float32Array>;
    const bound = perElement(
      c,
      (i, ch, r) =>
        (Math.abs(x[i]) + Math.abs(mean[ch])) * r * Math.abs(gamma[ch]) +
        Math.abs(beta[ch]),
    );
    assertWithin(actual.y, expected.y, bound, 1e-6, `${c.what}: y`);
  },
};

/** A training-mode batchnorm_backward row: mean and variance are x's own. */
function backwardRow(
  outer: number,
  channels: number,
  inner: number,
  inPlace: boolean,
): Row {
  const n = outer * channels * inner;
  const x = values(n, 23);
  const { gamma } = channelParams(channels);
  const dy = values(n, 24);
  return {
    what: describe(outer, channels, inner) + (inPlace ? " in place" : ""),
    tensors: {
      x,
      dy,
      gamma,
      ...(inPlace ? {} : { dx: garbage(n) }),
      dgamma: garbage(channels),
      dbeta: garbage(channels),
      ...statsOf(x, outer, channels, inner),
    },
    scalars: { outer, channels, inner, epsilon: 1e-5 },
    same: inPlace ? { dx: "dy" } : undefined,
  };
}

export const batchnorm_backward: KernelSpec = {
  rows: () => [
    ...SHAPES.map(([outer, channels, inner]) =>
      backwardRow(outer, channels, inner, false)
    ),
    ...CHANNEL_BLOCK_SHAPES.map(([outer, channels, inner]) =>
      backwardRow(outer, channels, inner, true)
    ),
  ],
  check(c, actual, expected) {
    const { x, dy, gamma, mean } = c.tensors as Record<string, Float32Array>;
    const m = (c.scalars.outer as number) * (c.scalars.inner as number);
    // Σ|dy| and Σ|dy · xhat| per channel, and the latter with xhat bounded
    // by (|x| + |mean|) · r, for dx's terms.
    const sumDy = new Float64Array(gamma.length);
    const sumDyXhat = new Float64Array(gamma.length);
    const sumDyXhatBound = new Float64Array(gamma.length);
    perElement(c, (i, ch, r) => {
      sumDy[ch] += Math.abs(dy[i]);
      sumDyXhat[ch] += Math.abs(dy[i] * (x[i] - mean[ch])) * r;
      sumDyXhatBound[ch] += Math.abs(dy[i]) *
        (Math.abs(x[i]) + Math.abs(mean[ch])) * r;
      return 0;
    });
    const dxBound = perElement(
      c,
      (i, ch, r) =>
        Math.abs(gamma[ch]) * r * (Math.abs(dy[i]) + sumDy[ch] / m +
          (Math.abs(x[i]) + Math.abs(mean[ch])) * r * sumDyXhatBound[ch] / m),
    );
    assertWithin(actual.dbeta, expected.dbeta, sumDy, 1e-5, `${c.what}: dbeta`);
    assertWithin(
      actual.dgamma,
      expected.dgamma,
      sumDyXhat,
      1e-5,
      `${c.what}: dgamma`,
    );
    assertWithin(actual.dx, expected.dx, dxBound, 1e-5, `${c.what}: dx`);
  },
};

/** Mean and biased variance per channel, in float64, rounded to float32. */
function statsOf(
  x: Float32Array,
  outer: number,
  channels: number,
  inner: number,
): { mean: Float32Array; variance: Float32Array } {
  const mean = new Float32Array(channels);
  const variance = new Float32Array(channels);
  for (let ch = 0; ch < channels; ch++) {
    const v: number[] = [];
    for (let o = 0; o < outer; o++) {
      const start = (o * channels + ch) * inner;
      v.push(...x.subarray(start, start + inner));
    }
    if (v.length === 0) continue; // both stay 0
    const mu = v.reduce((s, t) => s + t, 0) / v.length;
    mean[ch] = mu;
    variance[ch] = v.reduce((s, t) => s + (t - mu) ** 2, 0) / v.length;
  }
  return { mean, variance };
}

/** `f(index, channel, 1 / sqrt(variance + epsilon))` for every element. */
function perElement(
  c: KernelCase,
  f: (i: number, channel: number, r: number) => number,
): Float64Array {
  const { outer, channels, inner, epsilon } = c.scalars as Record<
    string,
    number
  >;
  const variance = c.tensors.variance as Float32Array;
  const out = new Float64Array(outer * channels * inner);
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < channels; ch++) {
      const r = 1 / Math.sqrt(variance[ch] + epsilon);
      for (let t = 0; t < inner; t++) {
        const i = (o * channels + ch) * inner + t;
        out[i] = f(i, ch, r);
      }
    }
  }
  return out;
}
