// matmul: c = op(a) * op(b), overwriting c (m x n, row-major), or with
// accumulate c += op(a) * op(b). op(a) is m x k: a is stored [m, k], or [k, m]
// when trans_a; op(b) is k x n: b is stored [k, n], or [n, k] when trans_b.
// k = 0 gives zeros (leaves c, accumulating).
// Tiled: each workgroup computes one TILE x TILE block of c, stepping through
// k by DEPTH: it stages a TILE x DEPTH slab of op(a) and a DEPTH x TILE slab
// of op(b) in workgroup memory (zeros past the edges), then each invocation
// accumulates a 4 x 4 block of c from them. The invocation (tx, ty) owns rows
// ty + 16 * s and columns tx + 16 * t (s, t < 4) of the block, so that
// neighbours read neighbouring workgroup cells and write neighbouring
// elements of c.
//
// Bindings (group 0):
//   0  uniform               params  Params { m, n, k, trans_a, trans_b,
//                                    accumulate (0 or 1),
//                                    tiles_n = ceil(n / TILE) }, 32 bytes
//   1  storage, read         a       array<f32>, m * k elements
//   2  storage, read         b       array<f32>, k * n elements
//   3  storage, read_write   c       array<f32>, m * n elements
// Workgroup size: 16 x 16 invocations (fixed: TILE = 64 = 16 * 4).
// Dispatch: ceil(m / TILE) * tiles_n workgroups folded into a 2-D grid (the
//   host's GRID_WIDTH per row); the block is t = wid.y * num_workgroups.x +
//   wid.x, at block row t / tiles_n and block column t % tiles_n, and the
//   workgroups past the end return. Not dispatched when m or n is 0.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  trans_a: u32,
  trans_b: u32,
  accumulate: u32,
  tiles_n: u32,
  _pad0: u32,
}

const TILE = 64u;
const DEPTH = 16u;
const SIDE = 16u; // invocations along each side of the workgroup
const THREADS = 256u; // SIDE * SIDE
// Elements of each slab (TILE * DEPTH) that one invocation stages.
const LOADS = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// a_slab[p][i] = op(a)[row0 + i, p0 + p]; b_slab[p][j] = op(b)[p0 + p, col0 + j].
var<workgroup> a_slab: array<array<f32, TILE>, DEPTH>;
var<workgroup> b_slab: array<array<f32, TILE>, DEPTH>;

// Stages slab element e (< TILE * DEPTH) of op(a) and of op(b). The element
// order follows the storage order, so that neighbouring invocations read
// neighbouring addresses whichever way a and b are stored.
fn stage(e: u32, row0: u32, col0: u32, p0: u32) {
  let m = params.m;
  let n = params.n;
  let k = params.k;

  var i: u32; // row of the a block
  var p: u32; // step along k
  if (params.trans_a != 0u) {
    p = e / TILE;
    i = e % TILE;
  } else {
    i = e / DEPTH;
    p = e % DEPTH;
  }
  var av = 0.0;
  if (row0 + i < m && p0 + p < k) {
    if (params.trans_a != 0u) {
      av = a[(p0 + p) * m + row0 + i];
    } else {
      av = a[(row0 + i) * k + p0 + p];
    }
  }
  a_slab[p][i] = av;

  var j: u32; // column of the b block
  var q: u32; // step along k
  if (params.trans_b != 0u) {
    j = e / DEPTH;
    q = e % DEPTH;
  } else {
    q = e / TILE;
    j = e % TILE;
  }
  var bv = 0.0;
  if (col0 + j < n && p0 + q < k) {
    if (params.trans_b != 0u) {
      bv = b[(col0 + j) * k + p0 + q];
    } else {
      bv = b[(p0 + q) * n + col0 + j];
    }
  }
  b_slab[q][j] = bv;
}

// Writes (or adds, accumulating) c[row, col + SIDE * t] = values[t] for t < 4,
// inside c only.
fn store_row(row: u32, col: u32, values: vec4f) {
  if (row >= params.m) {
    return;
  }
  for (var t = 0u; t < 4u; t++) {
    if (col + SIDE * t < params.n) {
      let at = row * params.n + col + SIDE * t;
      if (params.accumulate != 0u) {
        c[at] += values[t];
      } else {
        c[at] = values[t];
      }
    }
  }
}

@compute @workgroup_size(SIDE, SIDE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = wid.y * groups.x + wid.x;
  let tiles_m = (params.m + TILE - 1u) / TILE;
  if (t >= tiles_m * params.tiles_n) {
    return; // The same for the whole workgroup, so the barriers stay uniform.
  }
  let row0 = (t / params.tiles_n) * TILE;
  let col0 = (t % params.tiles_n) * TILE;
  let tx = local.x;
  let ty = local.y;

  // acc_s[t] is c[row0 + ty + SIDE * s, col0 + tx + SIDE * t]; four named
  // vectors rather than an array, so that they stay in registers.
  var acc0 = vec4f();
  var acc1 = vec4f();
  var acc2 = vec4f();
  var acc3 = vec4f();
  for (var p0 = 0u; p0 < params.k; p0 += DEPTH) {
    for (var l = 0u; l < LOADS; l++) {
      stage(lid + THREADS * l, row0, col0, p0);
    }
    workgroupBarrier();
    for (var p = 0u; p < DEPTH; p++) {
      let bv = vec4f(
        b_slab[p][tx],
        b_slab[p][tx + SIDE],
        b_slab[p][tx + 2u * SIDE],
        b_slab[p][tx + 3u * SIDE],
      );
      acc0 += a_slab[p][ty] * bv;
      acc1 += a_slab[p][ty + SIDE] * bv;
      acc2 += a_slab[p][ty + 2u * SIDE] * bv;
      acc3 += a_slab[p][ty + 3u * SIDE] * bv;
    }
    // The slabs are overwritten next step only once everyone is done.
    workgroupBarrier();
  }

  store_row(row0 + ty, col0 + tx, acc0);
  store_row(row0 + ty + SIDE, col0 + tx, acc1);
  store_row(row0 + ty + 2u * SIDE, col0 + tx, acc2);
  store_row(row0 + ty + 3u * SIDE, col0 + tx, acc3);
}
