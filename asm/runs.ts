// Loops over contiguous runs of float32 values that several kernel families
// share: copy, fill, add, and sums widened to float64. A run is `n` values at a
// byte offset `p` that is 4-byte aligned; v128 loads and stores need no more.

/** Channels per block of the per-channel scratch below. */
export const CHANNEL_BLOCK: u32 = 64;

/**
 * Scratch for kernels that reduce or scale columns of a row-major matrix (the
 * `inner = 1` layout): two float64 arrays of partial sums, then three float32
 * arrays of per-channel factors, each {@link CHANNEL_BLOCK} long. One instance
 * runs one kernel at a time, so one static block serves every kernel.
 */
export const SCRATCH: usize = memory.data(CHANNEL_BLOCK * 28, 64);
/** Byte offsets of the float64 sums and the float32 factors in {@link SCRATCH}. */
export const SUMS0: usize = SCRATCH;
export const SUMS1: usize = SCRATCH + CHANNEL_BLOCK * 8;
export const FACTORS0: usize = SCRATCH + CHANNEL_BLOCK * 16;
export const FACTORS1: usize = SCRATCH + CHANNEL_BLOCK * 20;
export const FACTORS2: usize = SCRATCH + CHANNEL_BLOCK * 24;

/** The upper two lanes of `v` moved down, ready for `promote_low`. */
function upperHalf(v: v128): v128 {
  return f32x4.shuffle(v, v, 2, 3, 0, 1);
}

/** The sum of a float64x2's lanes. */
function lanesSum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** `dst[i] = src[i]` for `i < n`; the runs must not overlap. */
export function copyRun(dst: usize, src: usize, n: usize): void {
  const bytes = n << 2;
  let i: usize = 0;
  for (const end = bytes & ~63; i < end; i += 64) {
    const a = v128.load(src + i, 0);
    const b = v128.load(src + i, 16);
    const c = v128.load(src + i, 32);
    const d = v128.load(src + i, 48);
    v128.store(dst + i, a, 0);
    v128.store(dst + i, b, 16);
    v128.store(dst + i, c, 32);
    v128.store(dst + i, d, 48);
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    v128.store(dst + i, v128.load(src + i));
  }
  for (; i < bytes; i += 4) store<f32>(dst + i, load<f32>(src + i));
}

/** `dst[i] = value` for `i < n`. */
export function fillRun(dst: usize, n: usize, value: f32): void {
  const v = f32x4.splat(value);
  const bytes = n << 2;
  let i: usize = 0;
  for (const end = bytes & ~63; i < end; i += 64) {
    v128.store(dst + i, v, 0);
    v128.store(dst + i, v, 16);
    v128.store(dst + i, v, 32);
    v128.store(dst + i, v, 48);
  }
  for (const end = bytes & ~15; i < end; i += 16) v128.store(dst + i, v);
  for (; i < bytes; i += 4) store<f32>(dst + i, value);
}

/** `dst[i] = +0` for `i < n`. */
export function zeroRun(dst: usize, n: usize): void {
  fillRun(dst, n, 0);
}

/** `dst[i] += src[i]` for `i < n`; `dst` may be `src` but not partly overlap it. */
export function addRun(dst: usize, src: usize, n: usize): void {
  const bytes = n << 2;
  let i: usize = 0;
  for (const end = bytes & ~31; i < end; i += 32) {
    const a = f32x4.add(v128.load(dst + i, 0), v128.load(src + i, 0));
    const b = f32x4.add(v128.load(dst + i, 16), v128.load(src + i, 16));
    v128.store(dst + i, a, 0);
    v128.store(dst + i, b, 16);
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    v128.store(dst + i, f32x4.add(v128.load(dst + i), v128.load(src + i)));
  }
  for (; i < bytes; i += 4) {
    store<f32>(dst + i, load<f32>(dst + i) + load<f32>(src + i));
  }
}

/** `dst[i] += value` for `i < n`. */
export function addScalarRun(dst: usize, n: usize, value: f32): void {
  const v = f32x4.splat(value);
  const bytes = n << 2;
  let i: usize = 0;
  for (const end = bytes & ~31; i < end; i += 32) {
    const a = f32x4.add(v128.load(dst + i, 0), v);
    const b = f32x4.add(v128.load(dst + i, 16), v);
    v128.store(dst + i, a, 0);
    v128.store(dst + i, b, 16);
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    v128.store(dst + i, f32x4.add(v128.load(dst + i), v));
  }
  for (; i < bytes; i += 4) store<f32>(dst + i, load<f32>(dst + i) + value);
}

// The sums below add up to 16 values per float32 lane (a tree of depth 4)
// before widening to float64: each partial sum is off by at most about 4
// float32 roundings (3e-7) of its magnitudes, at nearly float32 speed.

/** `Σ p[i]` for `i < n`, in float64. */
export function sumRun(p: usize, n: usize): f64 {
  const bytes = n << 2;
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  let i: usize = 0;
  for (const end = bytes & ~255; i < end; i += 256) {
    const q = p + i;
    let a = f32x4.add(v128.load(q, 0), v128.load(q, 16));
    let b = f32x4.add(v128.load(q, 32), v128.load(q, 48));
    let c = f32x4.add(v128.load(q, 64), v128.load(q, 80));
    let d = f32x4.add(v128.load(q, 96), v128.load(q, 112));
    a = f32x4.add(a, f32x4.add(v128.load(q, 128), v128.load(q, 144)));
    b = f32x4.add(b, f32x4.add(v128.load(q, 160), v128.load(q, 176)));
    c = f32x4.add(c, f32x4.add(v128.load(q, 192), v128.load(q, 208)));
    d = f32x4.add(d, f32x4.add(v128.load(q, 224), v128.load(q, 240)));
    const s = f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(s));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(upperHalf(s)));
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    const s = v128.load(p + i);
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(s));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(upperHalf(s)));
  }
  let sum = lanesSum(f64x2.add(lo, hi));
  for (; i < bytes; i += 4) sum += load<f32>(p + i) as f64;
  return sum;
}

/** `Σ (p[i] - mean)` of the last {@link sumSquaredDeviationRun}. */
export let deviationSum: f64 = 0;

/**
 * `Σ (p[i] - mean)²` for `i < n`, each difference and square in float32; sets
 * {@link deviationSum} to `Σ (p[i] - mean)`, which corrects for a `mean` that
 * is a little off (the corrected two-pass variance).
 */
export function sumSquaredDeviationRun(p: usize, n: usize, mean: f32): f64 {
  const m = f32x4.splat(mean);
  const bytes = n << 2;
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  let dlo = f64x2.splat(0);
  let dhi = f64x2.splat(0);
  let i: usize = 0;
  for (const end = bytes & ~63; i < end; i += 64) {
    const q = p + i;
    const a = f32x4.sub(v128.load(q, 0), m);
    const b = f32x4.sub(v128.load(q, 16), m);
    const c = f32x4.sub(v128.load(q, 32), m);
    const d = f32x4.sub(v128.load(q, 48), m);
    const s = f32x4.add(
      f32x4.add(f32x4.mul(a, a), f32x4.mul(b, b)),
      f32x4.add(f32x4.mul(c, c), f32x4.mul(d, d)),
    );
    const t = f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(s));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(upperHalf(s)));
    dlo = f64x2.add(dlo, f64x2.promote_low_f32x4(t));
    dhi = f64x2.add(dhi, f64x2.promote_low_f32x4(upperHalf(t)));
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    const a = f32x4.sub(v128.load(p + i), m);
    const s = f32x4.mul(a, a);
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(s));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(upperHalf(s)));
    dlo = f64x2.add(dlo, f64x2.promote_low_f32x4(a));
    dhi = f64x2.add(dhi, f64x2.promote_low_f32x4(upperHalf(a)));
  }
  let sum = lanesSum(f64x2.add(lo, hi));
  let dsum = lanesSum(f64x2.add(dlo, dhi));
  for (; i < bytes; i += 4) {
    const d = load<f32>(p + i) - mean;
    sum += (d * d) as f64;
    dsum += d as f64;
  }
  deviationSum = dsum;
  return sum;
}

/** `Σ dy[i]` of the last {@link sumProductDeviationRun}. */
export let gradientSum: f64 = 0;

/**
 * `Σ dy[i] · (x[i] - mean)` for `i < n`, each term in float32; sets
 * {@link gradientSum} to `Σ dy[i]` from the same pass.
 */
export function sumProductDeviationRun(
  dy: usize,
  x: usize,
  n: usize,
  mean: f32,
): f64 {
  const m = f32x4.splat(mean);
  const bytes = n << 2;
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  let glo = f64x2.splat(0);
  let ghi = f64x2.splat(0);
  let i: usize = 0;
  for (const end = bytes & ~63; i < end; i += 64) {
    const g0 = v128.load(dy + i, 0);
    const g1 = v128.load(dy + i, 16);
    const g2 = v128.load(dy + i, 32);
    const g3 = v128.load(dy + i, 48);
    const q = x + i;
    const a = f32x4.mul(g0, f32x4.sub(v128.load(q, 0), m));
    const b = f32x4.mul(g1, f32x4.sub(v128.load(q, 16), m));
    const c = f32x4.mul(g2, f32x4.sub(v128.load(q, 32), m));
    const d = f32x4.mul(g3, f32x4.sub(v128.load(q, 48), m));
    const s = f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
    const t = f32x4.add(f32x4.add(g0, g1), f32x4.add(g2, g3));
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(s));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(upperHalf(s)));
    glo = f64x2.add(glo, f64x2.promote_low_f32x4(t));
    ghi = f64x2.add(ghi, f64x2.promote_low_f32x4(upperHalf(t)));
  }
  for (const end = bytes & ~15; i < end; i += 16) {
    const g = v128.load(dy + i);
    const s = f32x4.mul(g, f32x4.sub(v128.load(x + i), m));
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(s));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(upperHalf(s)));
    glo = f64x2.add(glo, f64x2.promote_low_f32x4(g));
    ghi = f64x2.add(ghi, f64x2.promote_low_f32x4(upperHalf(g)));
  }
  let sum = lanesSum(f64x2.add(lo, hi));
  let gsum = lanesSum(f64x2.add(glo, ghi));
  for (; i < bytes; i += 4) {
    const g = load<f32>(dy + i);
    sum += (g * (load<f32>(x + i) - mean)) as f64;
    gsum += g as f64;
  }
  gradientSum = gsum;
  return sum;
}

// Column sums of a row-major matrix: one call per row adds the row into `n`
// float64 accumulators at `acc` (8-byte aligned), so a long column is summed
// wholly in float64.

/** `acc[i] += p[i]` for `i < n`. */
export function addColumns(acc: usize, p: usize, n: usize): void {
  let i: usize = 0;
  for (const end = n & ~3; i < end; i += 4) {
    const v = v128.load(p + (i << 2));
    addWidened(acc + (i << 3), v);
  }
  for (; i < n; i++) {
    const a = acc + (i << 3);
    store<f64>(a, load<f64>(a) + (load<f32>(p + (i << 2)) as f64));
  }
}

/**
 * `deviations[i] += p[i] - mean[i]` and `squares[i] += (p[i] - mean[i])²` for
 * `i < n` (`mean` float32).
 */
export function addDeviationColumns(
  deviations: usize,
  squares: usize,
  p: usize,
  mean: usize,
  n: usize,
): void {
  let i: usize = 0;
  for (const end = n & ~3; i < end; i += 4) {
    const d = f32x4.sub(v128.load(p + (i << 2)), v128.load(mean + (i << 2)));
    addWidened(deviations + (i << 3), d);
    addWidened(squares + (i << 3), f32x4.mul(d, d));
  }
  for (; i < n; i++) {
    const d = load<f32>(p + (i << 2)) - load<f32>(mean + (i << 2));
    const a = deviations + (i << 3);
    store<f64>(a, load<f64>(a) + (d as f64));
    const b = squares + (i << 3);
    store<f64>(b, load<f64>(b) + ((d * d) as f64));
  }
}

/** `acc[i] += dy[i] · (x[i] - mean[i])` for `i < n` (`mean` float32). */
export function addProductDeviationColumns(
  acc: usize,
  dy: usize,
  x: usize,
  mean: usize,
  n: usize,
): void {
  let i: usize = 0;
  for (const end = n & ~3; i < end; i += 4) {
    const o = i << 2;
    const d = f32x4.sub(v128.load(x + o), v128.load(mean + o));
    addWidened(acc + (i << 3), f32x4.mul(v128.load(dy + o), d));
  }
  for (; i < n; i++) {
    const o = i << 2;
    const t = load<f32>(dy + o) * (load<f32>(x + o) - load<f32>(mean + o));
    const a = acc + (i << 3);
    store<f64>(a, load<f64>(a) + (t as f64));
  }
}

// Per-channel sums of `outer · channels · inner` values laid out as
// `x[(o · channels + c) · inner + i]` (`bias_grad` and `channel_stats`).

/** Channel `c`'s sum: `outer` runs of `inner` values, in float64. */
@inline
export function channelSum(
  x: usize,
  c: u32,
  outer: u32,
  channels: u32,
  inner: u32,
): f64 {
  const run = (inner as usize) << 2;
  const stride = (channels as usize) * run;
  let sum: f64 = 0;
  let p = x + (c as usize) * run;
  for (let o: u32 = 0; o < outer; o++, p += stride) sum += sumRun(p, inner);
  return sum;
}

/**
 * With `inner = 1` (channels are columns): `SUMS0[j]` = the float64 sum of
 * channel `c0 + j` for `j < w`, reading rows in order.
 */
@inline
export function columnSums(
  x: usize,
  c0: u32,
  w: u32,
  outer: u32,
  channels: u32,
): void {
  const row = (channels as usize) << 2;
  zeroSums(SUMS0, w);
  let p = x + ((c0 as usize) << 2);
  for (let o: u32 = 0; o < outer; o++, p += row) addColumns(SUMS0, p, w);
}

/** Adds the four lanes of `v`, widened, to the four float64s at `a`. */
function addWidened(a: usize, v: v128): void {
  v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)));
  v128.store(
    a,
    f64x2.add(v128.load(a, 16), f64x2.promote_low_f32x4(upperHalf(v))),
    16,
  );
}

/** `acc[i] = 0` for `i < n` float64 values. */
export function zeroSums(acc: usize, n: usize): void {
  zeroRun(acc, n << 1);
}
