// mask_scale: y[i] = (hash32((i + offset) ^ key) >> 8) < keep[row]
//   ? x[i] * scale[row] : 0
// with i + offset wrapping at 2^32 (a slice of a bigger tensor draws that
// tensor's mask) and row = i / cols; a finite x[i] never becomes infinite
// (the product saturates at the largest finite float).
//
// Bindings (group 0):
//   0  uniform               params  Params { rows, cols, key, offset, n = rows
//                                    * cols }, 32 bytes
//   1  storage, read_write   x       array<vec4f>, n elements then padding (the
//                                    host rounds buffers up to 16 bytes); read
//                                    only, read_write so that y may be x
//   2  storage, read         keep    array<u32>, rows elements
//   3  storage, read         scale   array<f32>, rows elements
//   4  storage, read_write   y       array<vec4f>, n elements then padding,
//                                    which gets zeros
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), 4
//   consecutive elements (one vec4) each.
// Dispatch: ceil(n / (4 * WORKGROUP_SIZE)) workgroups folded into a 2-D grid
//   of rows of 256 (the host's GRID_WIDTH); the vec4 index is
//   (wid.y * num_workgroups.x + wid.x) * WORKGROUP_SIZE + lid and the tail
//   past n returns. Not dispatched when n is 0.

struct Params {
  rows: u32,
  cols: u32,
  key: u32,
  offset: u32,
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> keep: array<u32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4f>;

const SIGN = 0x80000000u;
const MAGNITUDE = 0x7fffffffu;
const INF = 0x7f800000u;
const MAX_FINITE = 0x7f7fffffu;

// Chris Wellons' lowbias32, as hash32 in src/random.ts (u32 products wrap).
fn hash32(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

// v * s, held at ±MAX_FINITE when a finite v overflows. Tested on the bits,
// since WGSL implementations may assume no NaN or infinity.
fn saturating_product(v: f32, s: f32) -> f32 {
  let p = bitcast<u32>(v * s);
  let finite_v = (bitcast<u32>(v) & MAGNITUDE) < INF;
  if (finite_v && (p & MAGNITUDE) == INF) {
    return bitcast<f32>((p & SIGN) | MAX_FINITE);
  }
  return bitcast<f32>(p);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  // A binding holds at most 4 GiB, so n <= 2^30 and the index cannot wrap.
  let j = (wid.y * groups.x + wid.x) * WORKGROUP_SIZE + lid;
  let first = 4u * j;
  if (first >= params.n) {
    return;
  }
  // One division per vec4; then, as i steps by 1 and rows are at least 1
  // long, the row moves on by at most 1 per element.
  var row = first / params.cols;
  var row_end = (row + 1u) * params.cols;
  let v = x[j];
  var out = vec4f();
  for (var k = 0u; k < 4u && first + k < params.n; k++) {
    let i = first + k;
    if (i == row_end) {
      row += 1u;
      row_end += params.cols;
    }
    // u32 addition wraps, as the index must.
    if ((hash32((i + params.offset) ^ params.key) >> 8u) < keep[row]) {
      out[k] = saturating_product(v[k], scale[row]);
    }
  }
  y[j] = out;
}
