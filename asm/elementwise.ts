import {
  addRun,
  addScalarRun,
  CHANNEL_BLOCK,
  channelSum,
  columnSums,
  SUMS0,
} from "./runs";

/**
 * `bias_add`: `y[(o * channels + c) * inner + i] += bias[c]`, in place.
 *
 * @param y Byte offset of `outer * channels * inner` float32 values, 4-byte
 *   aligned.
 * @param bias Byte offset of `channels` float32 values, 4-byte aligned; must
 *   not overlap `y`.
 * @param outer Number of samples.
 * @param channels Number of channels.
 * @param inner Values per channel and sample (1 for a dense layer).
 */
export function bias_add(
  y: usize,
  bias: usize,
  outer: u32,
  channels: u32,
  inner: u32,
): void {
  if (inner == 1) {
    // A dense layer: each sample's row gets the bias vector, lane by lane.
    const row = (channels as usize) << 2;
    for (let o: u32 = 0; o < outer; o++) {
      addRun(y + (o as usize) * row, bias, channels);
    }
    return;
  }
  let p = y;
  const run = (inner as usize) << 2;
  for (let o: u32 = 0; o < outer; o++) {
    for (let c: u32 = 0; c < channels; c++) {
      addScalarRun(p, inner, load<f32>(bias + ((c as usize) << 2)));
      p += run;
    }
  }
}

/**
 * `bias_grad`: `db[c] = Σ_{o, i} dy[(o * channels + c) * inner + i]`, summed
 * in float64 (float32 within blocks of 64 contiguous values).
 *
 * @param dy Byte offset of `outer * channels * inner` float32 values, 4-byte
 *   aligned.
 * @param db Byte offset of `channels` float32 values, 4-byte aligned, fully
 *   overwritten; must not overlap `dy`.
 * @param outer Number of samples.
 * @param channels Number of channels.
 * @param inner Values per channel and sample.
 */
export function bias_grad(
  dy: usize,
  db: usize,
  outer: u32,
  channels: u32,
  inner: u32,
): void {
  if (inner == 1) {
    // Column sums: rows are read in order, CHANNEL_BLOCK columns at a time.
    for (let c0: u32 = 0; c0 < channels; c0 += CHANNEL_BLOCK) {
      const w = min(CHANNEL_BLOCK, channels - c0);
      columnSums(dy, c0, w, outer, channels);
      for (let c: u32 = 0; c < w; c++) {
        const sum = load<f64>(SUMS0 + ((c as usize) << 3));
        store<f32>(db + (((c0 + c) as usize) << 2), sum as f32);
      }
    }
    return;
  }
  for (let c: u32 = 0; c < channels; c++) {
    const sum = channelSum(dy, c, outer, channels, inner);
    store<f32>(db + ((c as usize) << 2), sum as f32);
  }
}

/**
 * `relu`: `y[i] = x[i] > 0 ? x[i] : +0` (NaN and -0 give +0).
 *
 * @param x Byte offset of `n` float32 values, 4-byte aligned.
 * @param y Byte offset of `n` float32 outputs, 4-byte aligned; may be `x`
 *   itself but must not partly overlap it.
 * @param n Number of values.
 */
export function relu(x: usize, y: usize, n: u32): void {
  const zero = f32x4.splat(0);
  const bytes = (n as usize) << 2;
  let i: usize = 0;
  // A `>` compare is all ones where positive: and-ing keeps those lanes and
  // clears the rest to +0, NaN included.
  for (const end = bytes & ~63; i < end; i += 64) {
    const a = v128.load(x + i, 0);
    const b = v128.load(x + i, 16);
    const c = v128.load(x + i, 32);
    const d = v128.load(x + i, 48);
    v128.store(y + i, v128.and(a, f32x4.gt(a, zero)), 0);
    v128.store(y + i, v128.and(b, f32x4.gt(b, zero)), 16);
    v128.store(y + i, v128.and(c, f32x4.gt(c, zero)), 32);
    v128.store(y + i, v128.and(d, f32x4.gt(d, zero)), 48);
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    const a = v128.load(x + i);
    v128.store(y + i, v128.and(a, f32x4.gt(a, zero)));
  }
  for (; i < bytes; i += 4) {
    const v = load<f32>(x + i);
    store<f32>(y + i, v > 0 ? v : 0);
  }
}

/**
 * `relu_backward`: `dx[i] = x[i] > 0 ? dy[i] : +0`.
 *
 * @param x Byte offset of `n` float32 forward inputs (or outputs), 4-byte
 *   aligned.
 * @param dy Byte offset of `n` float32 gradients, 4-byte aligned.
 * @param dx Byte offset of `n` float32 outputs, 4-byte aligned; may be `dy`
 *   (or `x`) itself but must not partly overlap either.
 * @param n Number of values.
 */
export function relu_backward(x: usize, dy: usize, dx: usize, n: u32): void {
  const zero = f32x4.splat(0);
  const bytes = (n as usize) << 2;
  let i: usize = 0;
  for (const end = bytes & ~63; i < end; i += 64) {
    const a = f32x4.gt(v128.load(x + i, 0), zero);
    const b = f32x4.gt(v128.load(x + i, 16), zero);
    const c = f32x4.gt(v128.load(x + i, 32), zero);
    const d = f32x4.gt(v128.load(x + i, 48), zero);
    const ga = v128.load(dy + i, 0);
    const gb = v128.load(dy + i, 16);
    const gc = v128.load(dy + i, 32);
    const gd = v128.load(dy + i, 48);
    v128.store(dx + i, v128.and(ga, a), 0);
    v128.store(dx + i, v128.and(gb, b), 16);
    v128.store(dx + i, v128.and(gc, c), 32);
    v128.store(dx + i, v128.and(gd, d), 48);
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    const m = f32x4.gt(v128.load(x + i), zero);
    v128.store(dx + i, v128.and(v128.load(dy + i), m));
  }
  for (; i < bytes; i += 4) {
    store<f32>(dx + i, load<f32>(x + i) > 0 ? load<f32>(dy + i) : 0);
  }
}

/**
 * `axpby`: `y[i] = alpha * x[i] + beta * y[i]` in float32; when `beta` is 0
 * the old `y` is not read (`y = alpha * x`, whatever `y` held).
 *
 * @param x Byte offset of `n` float32 values, 4-byte aligned.
 * @param y Byte offset of `n` float32 values, 4-byte aligned, updated in
 *   place; must not partly overlap `x`.
 * @param n Number of values.
 * @param alpha Factor of `x` (float64 so that the `beta == 0` test is exact;
 *   rounded to float32 for the arithmetic).
 * @param beta Factor of `y`, likewise.
 */
export function axpby(
  x: usize,
  y: usize,
  n: u32,
  alpha: f64,
  beta: f64,
): void {
  const a = alpha as f32;
  const av = f32x4.splat(a);
  const bytes = (n as usize) << 2;
  let i: usize = 0;
  if (beta == 0) {
    for (const end = bytes & ~31; i < end; i += 32) {
      const p = f32x4.mul(v128.load(x + i, 0), av);
      const q = f32x4.mul(v128.load(x + i, 16), av);
      v128.store(y + i, p, 0);
      v128.store(y + i, q, 16);
    }
    for (const end = bytes & ~15; i < end; i += 16) {
      v128.store(y + i, f32x4.mul(v128.load(x + i), av));
    }
    for (; i < bytes; i += 4) store<f32>(y + i, load<f32>(x + i) * a);
    return;
  }
  const b = beta as f32;
  const bv = f32x4.splat(b);
  for (const end = bytes & ~31; i < end; i += 32) {
    const p = f32x4.add(
      f32x4.mul(v128.load(x + i, 0), av),
      f32x4.mul(v128.load(y + i, 0), bv),
    );
    const q = f32x4.add(
      f32x4.mul(v128.load(x + i, 16), av),
      f32x4.mul(v128.load(y + i, 16), bv),
    );
    v128.store(y + i, p, 0);
    v128.store(y + i, q, 16);
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    const p = f32x4.add(
      f32x4.mul(v128.load(x + i), av),
      f32x4.mul(v128.load(y + i), bv),
    );
    v128.store(y + i, p);
  }
  for (; i < bytes; i += 4) {
    store<f32>(y + i, load<f32>(x + i) * a + load<f32>(y + i) * b);
  }
}
