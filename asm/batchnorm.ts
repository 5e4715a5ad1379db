import {
  addColumns,
  addDeviationColumns,
  addProductDeviationColumns,
  CHANNEL_BLOCK,
  channelSum,
  columnSums,
  deviationSum,
  FACTORS0,
  FACTORS1,
  FACTORS2,
  gradientSum,
  sumProductDeviationRun,
  SUMS0,
  SUMS1,
  sumSquaredDeviationRun,
  zeroRun,
  zeroSums,
} from "./runs";

// A channel `c`'s values are `x[(o · channels + c) · inner + i]` for `o <
// outer`, `i < inner`. With `inner = 1` (after a dense layer) they form a
// column of a row-major matrix: those kernels then walk rows in order,
// CHANNEL_BLOCK channels at a time, with per-channel sums and factors in the
// scratch block; otherwise each channel is `outer` contiguous runs.

/**
 * `channel_stats`: per channel, the mean and the biased variance
 * `Σ (x - mean)² / count` over `count = outer · inner` values, both 0 when
 * `count` is 0. Two passes: a float64 sum gives a mean `m`, then the sums of
 * `x - m` and `(x - m)²` refine the mean and give the variance (the corrected
 * two-pass algorithm), so a large mean does not cancel the variance away.
 *
 * @param x Byte offset of `outer · channels · inner` float32 values, 4-byte
 *   aligned.
 * @param mean Byte offset of `channels` float32 outputs, 4-byte aligned.
 * @param variance Byte offset of `channels` float32 outputs, 4-byte aligned.
 *   The three must not overlap.
 * @param outer Number of samples.
 * @param channels Number of channels.
 * @param inner Values per channel and sample.
 */
export function channel_stats(
  x: usize,
  mean: usize,
  variance: usize,
  outer: u32,
  channels: u32,
  inner: u32,
): void {
  const count = (outer as f64) * (inner as f64);
  if (count == 0) {
    zeroRun(mean, channels);
    zeroRun(variance, channels);
    return;
  }
  if (inner == 1) {
    const row = (channels as usize) << 2;
    for (let c0: u32 = 0; c0 < channels; c0 += CHANNEL_BLOCK) {
      const w = min(CHANNEL_BLOCK, channels - c0);
      const at = (c0 as usize) << 2;
      columnSums(x, c0, w, outer, channels);
      for (let c: u32 = 0; c < w; c++) {
        const m = load<f64>(SUMS0 + ((c as usize) << 3)) / count;
        store<f32>(mean + at + ((c as usize) << 2), m as f32);
      }
      zeroSums(SUMS0, w);
      zeroSums(SUMS1, w);
      for (let o: u32 = 0; o < outer; o++) {
        addDeviationColumns(
          SUMS0,
          SUMS1,
          x + (o as usize) * row + at,
          mean + at,
          w,
        );
      }
      for (let c: u32 = 0; c < w; c++) {
        const d = load<f64>(SUMS0 + ((c as usize) << 3));
        const s = load<f64>(SUMS1 + ((c as usize) << 3));
        storeStats(mean + at, variance + at, c, d, s, count);
      }
    }
    return;
  }
  const run = (inner as usize) << 2;
  const stride = (channels as usize) * run;
  for (let c: u32 = 0; c < channels; c++) {
    const m = (channelSum(x, c, outer, channels, inner) / count) as f32;
    let d: f64 = 0;
    let s: f64 = 0;
    let p = x + (c as usize) * run;
    for (let o: u32 = 0; o < outer; o++, p += stride) {
      s += sumSquaredDeviationRun(p, inner, m);
      d += deviationSum;
    }
    store<f32>(mean + ((c as usize) << 2), m);
    storeStats(mean, variance, c, d, s, count);
  }
}

/**
 * Channel `c`'s final mean and variance from the deviations from its first
 * mean (stored at `mean[c]`): their sum `d` and sum of squares `s`.
 */
function storeStats(
  mean: usize,
  variance: usize,
  c: u32,
  d: f64,
  s: f64,
  count: f64,
): void {
  const at = (c as usize) << 2;
  const shift = d / count;
  store<f32>(mean + at, ((load<f32>(mean + at) as f64) + shift) as f32);
  store<f32>(variance + at, max(s / count - shift * shift, 0) as f32);
}

/**
 * `batchnorm_forward`: `y = (x - mean[c]) · s[c] + beta[c]` with
 * `s[c] = gamma[c] / sqrt(variance[c] + epsilon)` (computed in float64, then
 * float32), per element of channel `c`.
 *
 * @param x Byte offset of `outer · channels · inner` float32 values, 4-byte
 *   aligned.
 * @param mean Byte offset of `channels` float32 values, 4-byte aligned.
 * @param variance Likewise.
 * @param gamma Likewise.
 * @param beta Likewise.
 * @param y Byte offset of `outer · channels · inner` float32 outputs, 4-byte
 *   aligned; may be `x` itself but must not partly overlap it or overlap the
 *   per-channel arrays.
 * @param outer Number of samples.
 * @param channels Number of channels.
 * @param inner Values per channel and sample.
 * @param epsilon Added to the variance.
 */
export function batchnorm_forward(
  x: usize,
  mean: usize,
  variance: usize,
  gamma: usize,
  beta: usize,
  y: usize,
  outer: u32,
  channels: u32,
  inner: u32,
  epsilon: f64,
): void {
  if (inner == 1) {
    const row = (channels as usize) << 2;
    for (let c0: u32 = 0; c0 < channels; c0 += CHANNEL_BLOCK) {
      const w = min(CHANNEL_BLOCK, channels - c0);
      const at = (c0 as usize) << 2;
      for (let c: u32 = 0; c < w; c++) {
        const k = at + ((c as usize) << 2);
        const s = scaleOf(
          load<f32>(gamma + k),
          load<f32>(variance + k),
          epsilon,
        );
        store<f32>(FACTORS0 + ((c as usize) << 2), s);
      }
      for (let o: u32 = 0; o < outer; o++) {
        const q = (o as usize) * row + at;
        normalizeColumns(x + q, y + q, mean + at, beta + at, w);
      }
    }
    return;
  }
  const run = (inner as usize) << 2;
  for (let c: u32 = 0; c < channels; c++) {
    const k = (c as usize) << 2;
    const s = scaleOf(load<f32>(gamma + k), load<f32>(variance + k), epsilon);
    const m = load<f32>(mean + k);
    const b = load<f32>(beta + k);
    let q = (c as usize) * run;
    for (let o: u32 = 0; o < outer; o++, q += (channels as usize) * run) {
      normalizeRun(x + q, y + q, inner, m, s, b);
    }
  }
}

/** `gamma / sqrt(variance + epsilon)` in float64, rounded to float32. */
function scaleOf(gamma: f32, variance: f32, epsilon: f64): f32 {
  return ((gamma as f64) / Math.sqrt((variance as f64) + epsilon)) as f32;
}

/** `y[i] = (x[i] - m) · s + b` for `i < n`. */
function normalizeRun(
  x: usize,
  y: usize,
  n: usize,
  m: f32,
  s: f32,
  b: f32,
): void {
  const mv = f32x4.splat(m);
  const sv = f32x4.splat(s);
  const bv = f32x4.splat(b);
  const bytes = n << 2;
  let i: usize = 0;
  for (const end = bytes & ~31; i < end; i += 32) {
    const p = f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + i, 0), mv), sv), bv);
    const q = f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + i, 16), mv), sv), bv);
    v128.store(y + i, p, 0);
    v128.store(y + i, q, 16);
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    v128.store(
      y + i,
      f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + i), mv), sv), bv),
    );
  }
  for (; i < bytes; i += 4) store<f32>(y + i, (load<f32>(x + i) - m) * s + b);
}

/** `y[i] = (x[i] - mean[i]) · FACTORS0[i] + beta[i]` for `i < n`. */
function normalizeColumns(
  x: usize,
  y: usize,
  mean: usize,
  beta: usize,
  n: usize,
): void {
  const bytes = n << 2;
  let i: usize = 0;
  for (const end = bytes & ~15; i < end; i += 16) {
    const d = f32x4.sub(v128.load(x + i), v128.load(mean + i));
    const v = f32x4.add(
      f32x4.mul(d, v128.load(FACTORS0 + i)),
      v128.load(beta + i),
    );
    v128.store(y + i, v);
  }
  for (; i < bytes; i += 4) {
    const d = load<f32>(x + i) - load<f32>(mean + i);
    store<f32>(y + i, d * load<f32>(FACTORS0 + i) + load<f32>(beta + i));
  }
}

/**
 * `batchnorm_backward`: the gradient of a training-mode
 * {@link batchnorm_forward}. Per channel, with `m = outer · inner`,
 * `r = 1 / sqrt(variance + epsilon)` and `xhat = (x - mean) · r`:
 * `dbeta = Σ dy`, `dgamma = Σ dy · xhat` (float64 sums), and
 * `dx = gamma · r · (dy - dbeta / m - xhat · dgamma / m)`, evaluated as
 * `dy · k1 + (x - mean) · k2 + k3` with the factors in float64, then float32.
 *
 * @param x Byte offset of `outer · channels · inner` float32 forward inputs,
 *   4-byte aligned.
 * @param dy Byte offset of as many float32 gradients, 4-byte aligned.
 * @param mean Byte offset of `channels` float32 values, 4-byte aligned.
 * @param variance Likewise.
 * @param gamma Likewise.
 * @param dx Byte offset of `outer · channels · inner` float32 outputs, 4-byte
 *   aligned; may be `dy` itself but must not partly overlap it or overlap the
 *   other arrays.
 * @param dgamma Byte offset of `channels` float32 outputs, 4-byte aligned.
 * @param dbeta Likewise.
 * @param outer Number of samples.
 * @param channels Number of channels.
 * @param inner Values per channel and sample.
 * @param epsilon Added to the variance.
 */
export function batchnorm_backward(
  x: usize,
  dy: usize,
  mean: usize,
  variance: usize,
  gamma: usize,
  dx: usize,
  dgamma: usize,
  dbeta: usize,
  outer: u32,
  channels: u32,
  inner: u32,
  epsilon: f64,
): void {
  const count = (outer as f64) * (inner as f64);
  if (count == 0) {
    zeroRun(dgamma, channels);
    zeroRun(dbeta, channels);
    return;
  }
  if (inner == 1) {
    const row = (channels as usize) << 2;
    for (let c0: u32 = 0; c0 < channels; c0 += CHANNEL_BLOCK) {
      const w = min(CHANNEL_BLOCK, channels - c0);
      const at = (c0 as usize) << 2;
      zeroSums(SUMS0, w);
      zeroSums(SUMS1, w);
      for (let o: u32 = 0; o < outer; o++) {
        const q = (o as usize) * row + at;
        addColumns(SUMS0, dy + q, w);
        addProductDeviationColumns(SUMS1, dy + q, x + q, mean + at, w);
      }
      for (let c: u32 = 0; c < w; c++) {
        const k = (c as usize) << 2;
        const sumDy = load<f64>(SUMS0 + ((c as usize) << 3));
        const sumDot = load<f64>(SUMS1 + ((c as usize) << 3));
        backwardFactors(
          at + k,
          variance,
          gamma,
          dgamma,
          dbeta,
          sumDy,
          sumDot,
          count,
          epsilon,
        );
        store<f32>(FACTORS0 + k, factor1);
        store<f32>(FACTORS1 + k, factor2);
        store<f32>(FACTORS2 + k, factor3);
      }
      for (let o: u32 = 0; o < outer; o++) {
        const q = (o as usize) * row + at;
        backwardColumns(x + q, dy + q, dx + q, mean + at, w);
      }
    }
    return;
  }
  const run = (inner as usize) << 2;
  const stride = (channels as usize) * run;
  for (let c: u32 = 0; c < channels; c++) {
    const k = (c as usize) << 2;
    const m = load<f32>(mean + k);
    const first = (c as usize) * run;
    let sumDy: f64 = 0;
    let sumDot: f64 = 0;
    let q = first;
    for (let o: u32 = 0; o < outer; o++, q += stride) {
      sumDot += sumProductDeviationRun(dy + q, x + q, inner, m);
      sumDy += gradientSum;
    }
    backwardFactors(
      k,
      variance,
      gamma,
      dgamma,
      dbeta,
      sumDy,
      sumDot,
      count,
      epsilon,
    );
    q = first;
    for (let o: u32 = 0; o < outer; o++, q += stride) {
      backwardRun(x + q, dy + q, dx + q, inner, m, factor1, factor2, factor3);
    }
  }
}

/** `dx = dy · factor1 + (x - mean) · factor2 + factor3` of the last channel. */
let factor1: f32 = 0;
let factor2: f32 = 0;
let factor3: f32 = 0;

/**
 * Stores one channel's `dbeta` and `dgamma` (at byte offset `k` of the
 * per-channel arrays) and sets {@link factor1}..{@link factor3}, from
 * `sumDy = Σ dy` and `sumDot = Σ dy · (x - mean)`.
 */
function backwardFactors(
  k: usize,
  variance: usize,
  gamma: usize,
  dgamma: usize,
  dbeta: usize,
  sumDy: f64,
  sumDot: f64,
  count: f64,
  epsilon: f64,
): void {
  const r = 1 / Math.sqrt((load<f32>(variance + k) as f64) + epsilon);
  const g = load<f32>(gamma + k) as f64;
  const dg = sumDot * r;
  store<f32>(dbeta + k, sumDy as f32);
  store<f32>(dgamma + k, dg as f32);
  factor1 = (g * r) as f32;
  factor2 = (-g * r * r * dg / count) as f32;
  factor3 = (-g * r * sumDy / count) as f32;
}

/** `dx[i] = dy[i] · k1 + (x[i] - m) · k2 + k3` for `i < n`. */
function backwardRun(
  x: usize,
  dy: usize,
  dx: usize,
  n: usize,
  m: f32,
  k1: f32,
  k2: f32,
  k3: f32,
): void {
  const mv = f32x4.splat(m);
  const v1 = f32x4.splat(k1);
  const v2 = f32x4.splat(k2);
  const v3 = f32x4.splat(k3);
  const bytes = n << 2;
  let i: usize = 0;
  for (const end = bytes & ~15; i < end; i += 16) {
    const d = f32x4.sub(v128.load(x + i), mv);
    const v = f32x4.add(
      f32x4.mul(v128.load(dy + i), v1),
      f32x4.add(f32x4.mul(d, v2), v3),
    );
    v128.store(dx + i, v);
  }
  for (; i < bytes; i += 4) {
    const d = load<f32>(x + i) - m;
    store<f32>(dx + i, load<f32>(dy + i) * k1 + (d * k2 + k3));
  }
}

/** `dx[i] = dy[i] · FACTORS0[i] + (x[i] - mean[i]) · FACTORS1[i] + FACTORS2[i]`. */
function backwardColumns(
  x: usize,
  dy: usize,
  dx: usize,
  mean: usize,
  n: usize,
): void {
  const bytes = n << 2;
  let i: usize = 0;
  for (const end = bytes & ~15; i < end; i += 16) {
    const d = f32x4.sub(v128.load(x + i), v128.load(mean + i));
    const v = f32x4.add(
      f32x4.mul(v128.load(dy + i), v128.load(FACTORS0 + i)),
      f32x4.add(f32x4.mul(d, v128.load(FACTORS1 + i)), v128.load(FACTORS2 + i)),
    );
    v128.store(dx + i, v);
  }
  for (; i < bytes; i += 4) {
    const d = load<f32>(x + i) - load<f32>(mean + i);
    const v = load<f32>(dy + i) * load<f32>(FACTORS0 + i) +
      (d * load<f32>(FACTORS1 + i) + load<f32>(FACTORS2 + i));
    store<f32>(dx + i, v);
  }
}
