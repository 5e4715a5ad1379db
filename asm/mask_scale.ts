/** Keep thresholds are units of 2^-24; the hash's top 24 bits are always below this. */
const RATE_ONE: u32 = 1 << 24;

/**
 * The loops' vector constants. Loaded from memory before a loop, they stay in
 * registers; written inline (`v128.const`), V8 would rebuild each one in every
 * iteration through general registers, which costs more than the hash.
 */
// deno-fmt-ignore
const CONSTANTS = memory.data<u32>([
  0x7feb352d, 0x7feb352d, 0x7feb352d, 0x7feb352d, // lowbias32 multiplier 1
  0x846ca68b, 0x846ca68b, 0x846ca68b, 0x846ca68b, // lowbias32 multiplier 2
  0x7f7fffff, 0x7f7fffff, 0x7f7fffff, 0x7f7fffff, // FLOAT32_MAX
  0xff7fffff, 0xff7fffff, 0xff7fffff, 0xff7fffff, // -FLOAT32_MAX
  4, 4, 4, 4, // index step
  0, 1, 2, 3, // lane offsets
], 16);
/** Byte offsets of each constant in {@link CONSTANTS}. */
const MUL1 = 0;
const MUL2 = 16;
const MAX = 32;
const NEG_MAX = 48;
const STEP = 64;
const LANES = 80;

/**
 * `mask_scale`: `y[i] = (hash32((i + offset) ^ key) >>> 8) < keep[row] ? sat(x[i] * scale[row]) : +0`
 * with `i + offset` wrapping at 2^32, `row = floor(i / cols)` and `hash32`
 * lowbias32; `sat` holds a finite `x[i]` whose product overflows at
 * ±3.4028235e38, and leaves infinities and NaN as they are.
 *
 * @param x Byte offset of `rows * cols` float32 values, 4-byte aligned
 *   (groups of 16 start where `i + offset` is a multiple of 16; they load
 *   fastest from 16-byte aligned addresses).
 * @param keep Byte offset of `rows` uint32 thresholds, 4-byte aligned.
 * @param scale Byte offset of `rows` float32 factors, 4-byte aligned.
 * @param y Byte offset of `rows * cols` float32 outputs, 4-byte aligned; may
 *   be `x` itself (in place) but must not partly overlap it.
 * @param rows Number of rows; `rows * cols` must be below 2^32.
 * @param cols Elements per row.
 * @param key The mask key xored into every element index.
 * @param offset Added to every element index before the hash (mod 2^32), so
 *   that a slice of a bigger tensor draws that tensor's mask.
 */
export function mask_scale(
  x: usize,
  keep: usize,
  scale: usize,
  y: usize,
  rows: u32,
  cols: u32,
  key: u32,
  offset: u32,
): void {
  const mul2 = v128.load(CONSTANTS, MUL2);
  let start: u32 = 0; // index of the row's first element in x and y
  for (let r: u32 = 0; r < rows; r++) {
    // The top 24 hash bits are below 2^24, so a larger threshold keeps all;
    // clamping lets the lanes compare signed (one instruction on x86).
    const kv = i32x4.splat(
      min(load<u32>(keep + ((r as usize) << 2)), RATE_ONE),
    );
    const sv = f32x4.splat(load<f32>(scale + ((r as usize) << 2)));
    let done: u32 = 0;
    while (done < cols) {
      const i = start + done;
      // The hashed index; it wraps at 2^32, which is also a block boundary,
      // so no block below wraps inside.
      const h = i + offset;
      // Within one 2^16-aligned block of hashed indices, the hash's first
      // round `v ^ (v >>> 16)` with `v = index ^ key` equals `index ^ bk`.
      const bk = key ^ (h >>> 16) ^ (key >>> 16);
      const m = min(cols - done, 0x10000 - (h & 0xffff));
      const p = x + ((i as usize) << 2);
      const q = y + ((i as usize) << 2);
      // Elements up to a hashed index that is a multiple of 16, then groups
      // of 16, then the rest.
      const head = min(m, (16 - (h & 15)) & 15);
      const end = head + ((m - head) & ~15);
      if (head > 0) maskSpan(p, q, h, 0, head, bk, kv, sv, mul2);
      if (head < end) maskGroups(p, q, h, head, end, bk, kv, sv, mul2);
      if (end < m) maskSpan(p, q, h, end, m, bk, kv, sv, mul2);
      done += m;
    }
    start += cols;
  }
}

/**
 * Elements `j` to `end` of a 2^16-aligned block of hashed indices with block
 * key `bk`; `p` and `q` point at the elements of hashed index `i` (any
 * alignment), and `i + j` is a multiple of 16.
 */
function maskGroups(
  p: usize,
  q: usize,
  i: u32,
  j: u32,
  end: u32,
  bk: u32,
  kv: v128,
  sv: v128,
  mul2: v128,
): void {
  // From an index g with g % 16 == 0, lane t of a group has
  // `(g + t) ^ bk == (g ^ (bk & ~15)) + (t ^ (bk & 15))` (disjoint bits), and
  // multiplication distributes over the sum: the hash's first multiply is one
  // scalar product per group plus a constant per lane.
  const mul1 = v128.load(CONSTANTS, MUL1);
  const step = v128.load(CONSTANTS, STEP);
  const low = i32x4.splat(bk & 15);
  const lane0 = v128.load(CONSTANTS, LANES);
  const lane1 = i32x4.add(lane0, step);
  const lane2 = i32x4.add(lane1, step);
  const c0 = i32x4.mul(v128.xor(lane0, low), mul1);
  const c1 = i32x4.mul(v128.xor(lane1, low), mul1);
  const c2 = i32x4.mul(v128.xor(lane2, low), mul1);
  const c3 = i32x4.mul(v128.xor(i32x4.add(lane2, step), low), mul1);
  const high = bk & ~15;
  for (; j < end; j += 16) {
    const a = i32x4.splat(((i + j) ^ high) * 0x7feb352d);
    const o = (j as usize) << 2;
    const p0 = f32x4.mul(v128.load(p + o, 0), sv);
    const p1 = f32x4.mul(v128.load(p + o, 16), sv);
    const p2 = f32x4.mul(v128.load(p + o, 32), sv);
    const p3 = f32x4.mul(v128.load(p + o, 48), sv);
    // The 16 products are finite when their sum is; if not (huge or
    // non-finite values, or an infinite factor: rare), redo them saturated.
    const sum = f32x4.add(f32x4.add(p0, p1), f32x4.add(p2, p3));
    if (!v128.any_true(f32x4.sub(sum, sum))) {
      v128.store(q + o, v128.and(p0, kept(i32x4.add(a, c0), kv, mul2)), 0);
      v128.store(q + o, v128.and(p1, kept(i32x4.add(a, c1), kv, mul2)), 16);
      v128.store(q + o, v128.and(p2, kept(i32x4.add(a, c2), kv, mul2)), 32);
      v128.store(q + o, v128.and(p3, kept(i32x4.add(a, c3), kv, mul2)), 48);
    } else {
      // Reloading x keeps the fast path's registers free.
      const h0 = i32x4.add(a, c0);
      const h1 = i32x4.add(a, c1);
      const h2 = i32x4.add(a, c2);
      const h3 = i32x4.add(a, c3);
      v128.store(q + o, lanes(h0, v128.load(p + o, 0), kv, sv, mul2), 0);
      v128.store(q + o, lanes(h1, v128.load(p + o, 16), kv, sv, mul2), 16);
      v128.store(q + o, lanes(h2, v128.load(p + o, 32), kv, sv, mul2), 32);
      v128.store(q + o, lanes(h3, v128.load(p + o, 48), kv, sv, mul2), 48);
    }
  }
}

/**
 * Elements `j` to `end` of a 2^16-aligned block of hashed indices with block
 * key `bk`; `p` and `q` point at the elements of hashed index `i` (any
 * alignment): four at a time, then one at a time through lane 0.
 */
function maskSpan(
  p: usize,
  q: usize,
  i: u32,
  j: u32,
  end: u32,
  bk: u32,
  kv: v128,
  sv: v128,
  mul2: v128,
): void {
  const bkv = i32x4.splat(bk);
  const mul1 = v128.load(CONSTANTS, MUL1);
  const step = v128.load(CONSTANTS, STEP);
  let iv = i32x4.add(i32x4.splat(i + j), v128.load(CONSTANTS, LANES));
  for (; j + 4 <= end; j += 4) {
    const o = (j as usize) << 2;
    const h = i32x4.mul(v128.xor(iv, bkv), mul1);
    v128.store(q + o, lanes(h, v128.load(p + o), kv, sv, mul2));
    iv = i32x4.add(iv, step);
  }
  for (; j < end; j++) {
    const o = (j as usize) << 2;
    const h = i32x4.mul(v128.xor(iv, bkv), mul1);
    const v = lanes(h, v128.load32_zero(p + o), kv, sv, mul2);
    v128.store32_lane(q + o, v, 0);
    iv = i32x4.add(iv, i32x4.splat(1));
  }
}

/**
 * Four outputs: `h` is their hash after its first multiply, `xv` their
 * inputs; `kv` the row's threshold and `sv` its factor.
 */
function lanes(h: v128, xv: v128, kv: v128, sv: v128, mul2: v128): v128 {
  return v128.and(saturate(f32x4.mul(xv, sv), xv), kept(h, kv, mul2));
}

/**
 * The lanes to keep (all ones) and to drop (zero): `h` is the hash after its
 * first multiply, `kv` the threshold.
 */
function kept(h: v128, kv: v128, mul2: v128): v128 {
  h = i32x4.mul(v128.xor(h, i32x4.shr_u(h, 15)), mul2);
  h = v128.xor(h, i32x4.shr_u(h, 16));
  return i32x4.lt_s(i32x4.shr_u(h, 8), kv);
}

/**
 * `product = xv * scale` held at ±FLOAT32_MAX where a finite `xv` overflowed.
 * The bounds are ±FLOAT32_MAX, or ±Infinity where `xv` itself is infinite;
 * pmin and pmax return their first operand when it is NaN.
 */
function saturate(product: v128, xv: v128): v128 {
  const hi = f32x4.pmax(v128.load(CONSTANTS, MAX), xv);
  const lo = f32x4.pmin(v128.load(CONSTANTS, NEG_MAX), xv);
  return f32x4.pmax(f32x4.pmin(product, hi), lo);
}
