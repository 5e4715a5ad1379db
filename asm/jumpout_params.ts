/** Keep thresholds and drop rates are units of 2^-24. */
const RATE_ONE: f64 = 16777216;

/**
 * `jumpout_params`: per row, the applied drop rate as a keep threshold and the
 * rescale factor. With `normalize`,
 * `drop = counts[r] == 0 ? 0 : min(floor(rate[r] * cols / counts[r]), maxDrop)`,
 * else `drop = rate[r]`; then `keep[r] = uint32(2^24 - drop)` (wrapping as a
 * JavaScript `Uint32Array` store does) and
 * `scale[r] = keep[r] == 0 ? 0 : float32((keep[r] / 2^24) ** -power)`.
 *
 * @param counts Byte offset of `rows` uint32 active counts, 4-byte aligned
 *   (read only with `normalize`).
 * @param rate Byte offset of `rows` uint32 rates, 4-byte aligned.
 * @param keep Byte offset of `rows` uint32 thresholds, 4-byte aligned, fully
 *   overwritten.
 * @param scale Byte offset of `rows` float32 factors, 4-byte aligned, fully
 *   overwritten.
 * @param rows Number of rows.
 * @param cols Elements per row: an integer in [0, 2^53).
 * @param maxDrop Upper bound of a normalized drop.
 * @param normalize Whether to rescale `rate` by `cols / counts`.
 * @param power Exponent of the rescale factor.
 */
export function jumpout_params(
  counts: usize,
  rate: usize,
  keep: usize,
  scale: usize,
  rows: u32,
  cols: f64,
  maxDrop: f64,
  normalize: bool,
  power: f64,
): void {
  for (let r: u32 = 0; r < rows; r++) {
    const at = (r as usize) << 2;
    const rt = load<u32>(rate + at);
    let drop = rt as f64;
    if (normalize) {
      const count = load<u32>(counts + at);
      drop = count == 0 ? 0 : min(quotient(rt, cols as u64, count), maxDrop);
    }
    const k = toUint32(RATE_ONE - drop);
    store<u32>(keep + at, k);
    const s = k == 0 ? 0 : Math.pow((k as f64) / RATE_ONE, -power);
    store<f32>(scale + at, s as f32);
  }
}

/**
 * `floor(a * b / d)` rounded to the nearest double, exact for every `a`, `d`
 * below 2^32 and `b` below 2^53 (the product needs up to 85 bits).
 */
function quotient(a: u32, b: u64, d: u32): f64 {
  // a * b as three 32-bit digits n2:n1:n0, then schoolbook division by d.
  const low = (b & 0xffffffff) * a;
  const high = (b >>> 32) * a + (low >>> 32);
  const n2 = high >>> 32;
  const n1 = high & 0xffffffff;
  const n0 = low & 0xffffffff;
  const dd = d as u64;
  const q2 = n2 / dd;
  let t = ((n2 % dd) << 32) | n1;
  const q1 = t / dd;
  t = ((t % dd) << 32) | n0;
  const q10 = (q1 << 32) | (t / dd);
  if (q2 == 0) return q10 as f64;
  // Above 2^64: keep the top 64 bits plus a sticky bit for the rest, so the
  // one rounding to double is still correct.
  const shift = 64 - clz(q2);
  const sticky = ((q10 & (((1 as u64) << shift) - 1)) != 0) as u64;
  const top = (q2 << (64 - shift)) | (q10 >>> shift) | sticky;
  return (top as f64) * (((1 as u64) << shift) as f64);
}

/** JavaScript's ToUint32: truncate, then wrap modulo 2^32; NaN and ±∞ give 0. */
function toUint32(v: f64): u32 {
  if (!isFinite(v)) return 0;
  let m = Math.trunc(v) % 4294967296.0;
  if (m < 0) m += 4294967296.0;
  return (m as u64) as u32;
}
