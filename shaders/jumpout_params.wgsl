// jumpout_params: per row r, the applied drop rate as a keep threshold and the
// rescale factor (rates in units of 2^-24):
//   drop = normalize ? (counts[r] == 0 ? 0 : min(floor(rate[r] * cols / counts[r]), max_drop))
//                    : rate[r]
//   keep[r] = 2^24 - drop (wrapping, as a uint32)
//   scale[r] = keep[r] == 0 ? 0 : (keep[r] / 2^24)^(-power)
//
// Bindings (group 0):
//   0  uniform               params  Params { rows, cols, max_drop, normalize,
//                                    power, power_low }, 32 bytes; the host's
//                                    float64 power is power + power_low
//   1  storage, read_write   counts  array<u32>, rows elements (read only; read_write
//                                    so that keep may be the same buffer)
//   2  storage, read_write   rate    array<u32>, rows elements (likewise)
//   3  storage, read_write   keep    array<u32>, rows elements
//   4  storage, read_write   scale   array<f32>, rows elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), one row each.
// Dispatch: ceil(rows / WORKGROUP_SIZE) workgroups folded into a 2-D grid of
//   rows of 256 (the host's GRID_WIDTH); the row is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail past
//   rows returns. Not dispatched when rows is 0.

struct Params {
  rows: u32,
  cols: u32,
  max_drop: u32,
  normalize: u32,
  power: f32,
  power_low: f32,
  _pad0: u32,
  _pad1: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> counts: array<u32>;
@group(0) @binding(2) var<storage, read_write> rate: array<u32>;
@group(0) @binding(3) var<storage, read_write> keep: array<u32>;
@group(0) @binding(4) var<storage, read_write> scale: array<f32>;

const RATE_ONE = 16777216u; // 2^24

// The 64-bit product a * b as (low word, high word), from 16-bit limbs.
fn mul_wide(a: u32, b: u32) -> vec2u {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  // Bits 16..47 before carrying: below 3 * 2^16, so no overflow.
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  let lo = (mid << 16u) | (p00 & 0xffffu);
  let hi = a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return vec2u(lo, hi);
}

// min(floor(num / d), cap) for a 64-bit num = (low, high) and d > 0, by binary
// long division that stops as soon as the quotient is known to pass cap.
fn div_capped(num: vec2u, d: u32, cap: u32) -> u32 {
  if (num.y == 0u) {
    return min(num.x / d, cap);
  }
  if (num.y >= d) {
    return cap; // The quotient is at least 2^32 > cap.
  }
  var rem = num.y; // Always below d.
  var q = 0u;
  for (var bit = 31i; bit >= 0i; bit--) {
    // rem * 2 + next bit may need 33 bits: the carry says rem >= d for sure.
    let carry = rem >> 31u;
    rem = (rem << 1u) | ((num.x >> u32(bit)) & 1u);
    q <<= 1u;
    if (carry != 0u || rem >= d) {
      rem -= d;
      q |= 1u;
    }
    if (q > cap) {
      return cap; // The remaining bits only make q larger.
    }
  }
  return q;
}

// log2(m) for m in [sqrt(1/2), sqrt(2)], to about an ulp of the result:
// 2 atanh(u) / ln 2 with u = (m - 1) / (m + 1), |u| < 0.172, by its series.
fn log2_near_one(m: f32) -> f32 {
  let u = (m - 1.0) / (m + 1.0);
  let u2 = u * u;
  let series = 1.0 + u2 * (1.0 / 3.0 + u2 * (1.0 / 5.0 + u2 * (1.0 / 7.0 +
    u2 * (1.0 / 9.0 + u2 * (1.0 / 11.0 + u2 * (1.0 / 13.0))))));
  return 2.8853900817779268 * u * series; // 2 / ln 2
}

// 2^f for f in [-1/2, 1/2], to about an ulp: e^g with g = f ln 2, by its
// Taylor series to g^8 (truncation below 2^-32).
fn exp2_near_zero(f: f32) -> f32 {
  let g = f * 0.6931471805599453;
  return 1.0 + g * (1.0 + g * (1.0 / 2.0 + g * (1.0 / 6.0 + g * (1.0 / 24.0 +
    g * (1.0 / 120.0 + g * (1.0 / 720.0 + g * (1.0 / 5040.0 +
    g * (1.0 / 40320.0))))))));
}

// (k / 2^24)^-power for k > 0, as 2^t with t = -power * log2(k / 2^24) split
// into an exact part and a small one: pow(x, y) rounds t (up to 24 * power)
// to a float first, which alone costs up to 1e-6 relative.
fn rescale(k: u32, power: f32, power_low: f32) -> f32 {
  // k / 2^24 = 2^e * m, m in [sqrt(1/2), sqrt(2)), so |log2(m)| <= 1/2.
  let parts = frexp(f32(k));
  var m = parts.fract;
  var e = parts.exp - 24i;
  if (m < 0.70710678) {
    m *= 2.0;
    e -= 1i;
  }
  // power = high + low with 12 significant bits in high, so that high * e
  // (|e| <= 25) is exact; low also takes the host's bits below a float.
  let high = bitcast<f32>(bitcast<u32>(power) & 0xfffff000u);
  let low = (power - high) + power_low;
  let whole = -high * f32(e);
  let n = floor(whole);
  let t = (whole - n) - (low * f32(e) + power * log2_near_one(m));
  let t_round = round(t);
  let exponent = n + t_round;
  if (exponent > 128.0) {
    // +Inf, as the reference overflows to. Through a `let`: a constant
    // expression may not evaluate to infinity, and Chromium's compiler
    // rejects the shader if it does.
    let inf_bits = 0x7f800000u;
    return bitcast<f32>(inf_bits);
  }
  return ldexp(exp2_near_zero(t - t_round), i32(exponent));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let r = (wid.y * groups.x + wid.x) * WORKGROUP_SIZE + lid;
  if (r >= params.rows) {
    return;
  }
  var drop = rate[r];
  if (params.normalize != 0u) {
    let count = counts[r];
    if (count == 0u) {
      drop = 0u;
    } else {
      drop = div_capped(mul_wide(drop, params.cols), count, params.max_drop);
    }
  }
  let k = RATE_ONE - drop;
  keep[r] = k;
  var s = 0.0;
  if (k != 0u) {
    s = rescale(k, params.power, params.power_low);
  }
  scale[r] = s;
}
