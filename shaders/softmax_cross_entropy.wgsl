// softmax_cross_entropy: fused, stable softmax cross-entropy. Per row r of
// logits (rows x cols), with max its largest value:
//   loss_r = log(sum_j exp(x_j - max)) + max - x[label]
//   dlogits[r, j] = (softmax_j - [j == label]) / rows
// then result[0] = sum_r loss_r / rows (the mean loss) and result[1] = how
// many rows have the label as their first maximum; rows = 0 gives [0, 0].
// A label >= cols names no class: its row's loss is NaN (result[0] is NaN),
// the row is not counted as correct and its dlogits are softmax_j / rows;
// nothing outside the row is read.
// Limitation: the whole kernel is a single workgroup, one row per invocation
// at a time, so the totals are added up on the GPU with no second pass. That
// suits the few thousand rows of a batch; a much larger call runs on one
// workgroup's invocations only and takes time in proportion to
// rows / WORKGROUP_SIZE, however large the GPU. exp and log are computed here
// to a few ulps, since WGSL only promises 3 + 2|x| ulps for exp and an
// absolute 2^-21 for log near 1.
//
// Bindings (group 0):
//   0  uniform               params   Params { rows, cols, inv_rows = 1 / rows
//                                     rounded to float32, nan = a quiet NaN },
//                                     16 bytes
//   1  storage, read         logits   array<f32>, rows * cols elements
//   2  storage, read         labels   array<u32>, rows elements
//   3  storage, read_write   dlogits  array<f32>, rows * cols elements
//   4  storage, read_write   result   array<f32>, 2 elements
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override, a power of
//   two); invocation lid takes rows lid, lid + WORKGROUP_SIZE, ...
// Dispatch: one workgroup, also when rows is 0 (to write the zeros).

struct Params {
  rows: u32,
  cols: u32,
  inv_rows: f32,
  // From the host: a WGSL constant expression may not evaluate to NaN.
  nan: f32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> result: array<f32>;

// Per invocation: (sum of its rows' losses, how many it got right).
var<workgroup> partial: array<vec2f, WORKGROUP_SIZE>;
// Nonzero once a row's label is out of range (workgroup memory starts at 0).
var<workgroup> unknown_label: atomic<u32>;

// ln 2 split so that n * LN2_HI is exact for |n| < 2^11.
const LN2_HI = 0.693145751953125;
const LN2_LO = 1.4286068203094172e-6;
const LOG2_E = 1.4426950408889634;

// e^t for t <= 0 (the logits less their maximum), to about an ulp:
// t = n ln 2 + g with |g| <= ln 2 / 2, e^g by its Taylor series to g^8.
fn exp_nonpositive(t: f32) -> f32 {
  if (t < -104.0) {
    return 0.0; // Below half the smallest subnormal.
  }
  let n = round(t * LOG2_E);
  let g = (t - n * LN2_HI) - n * LN2_LO;
  let e = 1.0 + g * (1.0 + g * (1.0 / 2.0 + g * (1.0 / 6.0 + g * (1.0 / 24.0 +
    g * (1.0 / 120.0 + g * (1.0 / 720.0 + g * (1.0 / 5040.0 +
    g * (1.0 / 40320.0))))))));
  // Two steps, so that 2^n for n down to -150 never underflows on its own.
  let half = i32(n) / 2;
  return ldexp(ldexp(e, half), i32(n) - half);
}

// ln(1 + t) for t >= 0, to about an ulp even for t near 0: 1 + t =
// 2^k m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(u) with
// u = (m - 1) / (m + 1), |u| < 0.172, by its series. Below 1/4, u comes from t
// itself (1 + t would round away t's low bits).
fn log_one_plus(t: f32) -> f32 {
  var u: f32;
  var k = 0i;
  if (t < 0.25) {
    u = t / (2.0 + t);
  } else {
    let parts = frexp(1.0 + t);
    var m = parts.fract;
    k = parts.exp;
    if (m < 0.70710678) {
      m *= 2.0;
      k -= 1i;
    }
    u = (m - 1.0) / (m + 1.0);
  }
  let u2 = u * u;
  let series = 1.0 + u2 * (1.0 / 3.0 + u2 * (1.0 / 5.0 + u2 * (1.0 / 7.0 +
    u2 * (1.0 / 9.0 + u2 * (1.0 / 11.0 + u2 * (1.0 / 13.0))))));
  let kf = f32(k);
  return kf * LN2_HI + (kf * LN2_LO + 2.0 * u * series);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_index) lid: u32) {
  let cols = params.cols;
  var loss = 0.0;
  var right = 0.0;
  for (var r = lid; r < params.rows; r += WORKGROUP_SIZE) {
    let start = r * cols;
    let label = labels[r];
    // Only a label inside the row is read; past it, start + label would
    // reach the next rows (or wrap).
    let known = label < cols;
    // The first maximum: replaced only by a strictly greater value. Its
    // exponential is exactly 1.
    var top = logits[start];
    var first = 0u;
    for (var j = 1u; j < cols; j++) {
      let v = logits[start + j];
      if (v > top) {
        top = v;
        first = j;
      }
    }
    // The sum of the other exponentials, kept apart from the 1: added to 1
    // one by one they would lose their low bits, and 1 - softmax at the
    // label would cancel.
    var rest = 0.0;
    for (var j = 0u; j < cols; j++) {
      if (j != first) {
        rest += exp_nonpositive(logits[start + j] - top);
      }
    }
    let sum = 1.0 + rest;
    // softmax - 1 at the label, as minus the other terms over the sum.
    var others = rest;
    if (known) {
      let x_label = logits[start + label];
      // (max - x[label]) apart: exact when they are close, so a small loss
      // keeps its digits.
      loss += log_one_plus(rest) + (top - x_label);
      if (first == label) {
        right += 1.0;
      } else {
        others = 1.0 + (rest - exp_nonpositive(x_label - top));
      }
    } else {
      atomicStore(&unknown_label, 1u);
    }
    for (var j = 0u; j < cols; j++) {
      var d: f32;
      if (j == label) {
        d = -others / sum;
      } else {
        d = exp_nonpositive(logits[start + j] - top) / sum;
      }
      dlogits[start + j] = d * params.inv_rows;
    }
  }
  partial[lid] = vec2f(loss, right);
  workgroupBarrier();
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  let unknown = atomicLoad(&unknown_label);
  if (lid == 0u) {
    let total = partial[0];
    result[0] = select(total.x * params.inv_rows, params.nan, unknown != 0u);
    result[1] = total.y;
  }
}
