/**
 * `matmul`: `c = op(a) · op(b)` (see `KernelArgs.matmul` in src/backend.ts),
 * blocked for the caches and register-blocked for SIMD.
 *
 * Blocks of `op(a)` (up to `A_FLOATS` values) and micro-panels of `op(b)`
 * (`KC × NR`) are copied into a static scratch area in the order the
 * micro-kernel reads them, which also absorbs both transposes. The
 * micro-kernel keeps an `MR × NR` tile of `c` in eight f32x4 registers; x86
 * has 16 xmm registers and V8 keeps one for itself, so `4 × 8` (8 sums, 2 `b`
 * vectors, 1 broadcast `a`, 1 product) is the largest tile that never spills.
 */

/** Rows of `c` per micro-tile. */
const MR: u32 = 6;
/** Columns of `c` per micro-tile: two f32x4. */
const NR: u32 = 8;
/** Most `k` per block: a `b` micro-panel is `KC · NR · 4` bytes, in L1. */
const KC: u32 = 256;
/** Floats of packed `op(a)` per block (40 KiB, in L2). */
const A_FLOATS: u32 = 8192;

/**
 * Scratch: the packed `a` block, one packed `b` micro-panel, and an `MR × NR`
 * tile for edges. 49 280 bytes in all: with the other static data it fits the
 * memory's first 64 KiB page, which is all the module asks of the host.
 */
const PACKED_A = memory.data(A_FLOATS << 2, 64);
const PACKED_B = memory.data(KC * NR * 4, 64);
const TILE = memory.data(MR * NR * 4, 64);

/**
 * `matmul`: `c[m × n] = op(a) · op(b)`, overwriting `c`; `k = 0` gives zeros.
 *
 * @param a Byte offset of `m · k` float32 values, 4-byte aligned: `[m, k]`
 *   row-major, or `[k, m]` when `transA`.
 * @param b Byte offset of `k · n` float32 values, 4-byte aligned: `[k, n]`
 *   row-major, or `[n, k]` when `transB`.
 * @param c Byte offset of `m · n` float32 outputs, 4-byte aligned; must not
 *   overlap `a` or `b`.
 * @param m Rows of `c`.
 * @param n Columns of `c`.
 * @param k The shared dimension; the sums run over blocks of it in order.
 * @param transA Nonzero when `a` is stored `[k, m]`.
 * @param transB Nonzero when `b` is stored `[n, k]`.
 */
export function matmul(
  a: usize,
  b: usize,
  c: usize,
  m: u32,
  n: u32,
  k: u32,
  transA: u32,
  transB: u32,
): void {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    memory.fill(c, 0, ((m as usize) * n) << 2);
    return;
  }
  // Equal blocks of k (a multiple of 4 but the last), so that no thin block
  // pays a whole pass over c.
  const kBlocks = (k + KC - 1) / KC;
  const kcMax = min(KC, (((k + kBlocks - 1) / kBlocks) + 3) & ~3);
  const ldc = (n as usize) << 2;
  for (let p0: u32 = 0; p0 < k; p0 += kcMax) {
    const kc = min(kcMax, k - p0);
    const first = p0 == 0;
    // Rows per packed block: as many whole micro-tiles as fit, split evenly.
    const mcFit = max(MR, (A_FLOATS / kc) / MR * MR);
    const mBlocks = (m + mcFit - 1) / mcFit;
    const mcMax = min(mcFit, ((m + mBlocks - 1) / mBlocks + MR - 1) / MR * MR);
    for (let i0: u32 = 0; i0 < m; i0 += mcMax) {
      const mc = min(mcMax, m - i0);
      packA(a, m, k, transA, i0, mc, p0, kc);
      for (let j0: u32 = 0; j0 < n; j0 += NR) {
        const nr = min(NR, n - j0);
        packB(b, n, k, transB, j0, nr, p0, kc);
        let pa = PACKED_A;
        const stride = (kc as usize) * MR << 2;
        for (let i: u32 = 0; i < mc; i += MR) {
          const cij = c + ((i0 + i) as usize) * ldc + ((j0 as usize) << 2);
          const mr = min(MR, mc - i);
          if (mr == MR && nr == NR) {
            kernel(pa, PACKED_B, kc, cij, ldc, !first);
          } else {
            kernel(pa, PACKED_B, kc, TILE, NR << 2, false);
            edge(cij, ldc, mr, nr, first);
          }
          pa += stride;
        }
      }
    }
  }
}

/**
 * The micro-kernel: `c[MR × NR] (+)= Σ_p pa[p] ⊗ pb[p]` over `kc` steps, where
 * `pa` holds `MR` values and `pb` `NR` values per step, contiguously.
 */
function kernel(
  pa: usize,
  pb: usize,
  kc: u32,
  c: usize,
  ldc: usize,
  accumulate: bool,
): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0);
  let c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0);
  let c51 = f32x4.splat(0);
  const end = pb + ((kc as usize) << 5);
  const endU = pb + (((kc / 2 * 2) as usize) << 5);
  let b0: v128, b1: v128, x: v128;
  while (pb < endU) {
    b0 = v128.load(pb, 0);
    b1 = v128.load(pb, 16);
    x = v128.load32_splat(pa, 0);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 8);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 12);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 16);
    c40 = f32x4.add(c40, f32x4.mul(x, b0));
    c41 = f32x4.add(c41, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 20);
    c50 = f32x4.add(c50, f32x4.mul(x, b0));
    c51 = f32x4.add(c51, f32x4.mul(x, b1));
    b0 = v128.load(pb, 32);
    b1 = v128.load(pb, 48);
    x = v128.load32_splat(pa, 24);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 28);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 32);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 36);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 40);
    c40 = f32x4.add(c40, f32x4.mul(x, b0));
    c41 = f32x4.add(c41, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 44);
    c50 = f32x4.add(c50, f32x4.mul(x, b0));
    c51 = f32x4.add(c51, f32x4.mul(x, b1));
    pa += 48;
    pb += 64;
  }
  while (pb < end) {
    b0 = v128.load(pb, 0);
    b1 = v128.load(pb, 16);
    x = v128.load32_splat(pa, 0);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 8);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 12);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 16);
    c40 = f32x4.add(c40, f32x4.mul(x, b0));
    c41 = f32x4.add(c41, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 20);
    c50 = f32x4.add(c50, f32x4.mul(x, b0));
    c51 = f32x4.add(c51, f32x4.mul(x, b1));
    pa += 24;
    pb += 32;
  }
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c + 0 * ldc));
    c01 = f32x4.add(c01, v128.load(c + 0 * ldc, 16));
    c10 = f32x4.add(c10, v128.load(c + 1 * ldc));
    c11 = f32x4.add(c11, v128.load(c + 1 * ldc, 16));
    c20 = f32x4.add(c20, v128.load(c + 2 * ldc));
    c21 = f32x4.add(c21, v128.load(c + 2 * ldc, 16));
    c30 = f32x4.add(c30, v128.load(c + 3 * ldc));
    c31 = f32x4.add(c31, v128.load(c + 3 * ldc, 16));
    c40 = f32x4.add(c40, v128.load(c + 4 * ldc));
    c41 = f32x4.add(c41, v128.load(c + 4 * ldc, 16));
    c50 = f32x4.add(c50, v128.load(c + 5 * ldc));
    c51 = f32x4.add(c51, v128.load(c + 5 * ldc, 16));
  }
  v128.store(c + 0 * ldc, c00);
  v128.store(c + 0 * ldc, c01, 16);
  v128.store(c + 1 * ldc, c10);
  v128.store(c + 1 * ldc, c11, 16);
  v128.store(c + 2 * ldc, c20);
  v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30);
  v128.store(c + 3 * ldc, c31, 16);
  v128.store(c + 4 * ldc, c40);
  v128.store(c + 4 * ldc, c41, 16);
  v128.store(c + 5 * ldc, c50);
  v128.store(c + 5 * ldc, c51, 16);
}

/** Writes (`first`) or adds the top-left `mr × nr` of `TILE` into `c`. */
function edge(c: usize, ldc: usize, mr: u32, nr: u32, first: bool): void {
  for (let r: u32 = 0; r < mr; r++) {
    const t = TILE + ((r * NR) << 2);
    const row = c + (r as usize) * ldc;
    for (let j: u32 = 0; j < nr; j++) {
      const o = (j as usize) << 2;
      const v = load<f32>(t + o);
      store<f32>(row + o, first ? v : load<f32>(row + o) + v);
    }
  }
}

/**
 * Packs rows `i0 .. i0 + mc` and columns `p0 .. p0 + kc` of `op(a)` into
 * `PACKED_A`: micro-panels of `MR` rows, each `kc` steps of `MR` values, rows
 * past `mc` zero.
 */
function packA(
  a: usize,
  m: u32,
  k: u32,
  transA: u32,
  i0: u32,
  mc: u32,
  p0: u32,
  kc: u32,
): void {
  let dst = PACKED_A;
  for (let i: u32 = 0; i < mc; i += MR) {
    const row = i0 + i;
    const mr = min(MR, mc - i);
    if (MR == 4 && mr == MR && transA) {
      // Four rows of op(a) are four adjacent values of each stored row.
      let src = a + (((p0 as usize) * m + row) << 2);
      const ld = (m as usize) << 2;
      for (let p: u32 = 0; p < kc; p++) {
        v128.store(dst + ((p as usize) << 4), v128.load(src));
        src += ld;
      }
    } else if (MR == 4 && mr == MR) {
      const ld = (k as usize) << 2;
      const src = a + (((row as usize) * k + p0) << 2);
      let p: u32 = 0;
      for (; p + 4 <= kc; p += 4) {
        transpose4(src + ((p as usize) << 2), ld, dst + ((p as usize) << 4));
      }
      for (; p < kc; p++) {
        const s = src + ((p as usize) << 2);
        const d = dst + ((p as usize) << 4);
        store<f32>(d, load<f32>(s));
        store<f32>(d, load<f32>(s + ld), 4);
        store<f32>(d, load<f32>(s + 2 * ld), 8);
        store<f32>(d, load<f32>(s + 3 * ld), 12);
      }
    } else {
      for (let p: u32 = 0; p < kc; p++) {
        const d = dst + (((p * MR) as usize) << 2);
        for (let r: u32 = 0; r < MR; r++) store<f32>(d + ((r as usize) << 2), 0);
        for (let r: u32 = 0; r < mr; r++) {
          const at = transA
            ? (((p0 + p) as usize) * m + row + r)
            : (((row + r) as usize) * k + p0 + p);
          store<f32>(d + ((r as usize) << 2), load<f32>(a + (at << 2)));
        }
      }
    }
    dst += (kc as usize) * MR << 2;
  }
}

/**
 * Packs columns `j0 .. j0 + nr` and rows `p0 .. p0 + kc` of `op(b)` into
 * `PACKED_B`: `kc` steps of `NR` values, columns past `nr` zero.
 */
function packB(
  b: usize,
  n: u32,
  k: u32,
  transB: u32,
  j0: u32,
  nr: u32,
  p0: u32,
  kc: u32,
): void {
  const dst = PACKED_B;
  if (nr == NR && !transB) {
    let src = b + (((p0 as usize) * n + j0) << 2);
    const ld = (n as usize) << 2;
    for (let p: u32 = 0; p < kc; p++) {
      const d = dst + ((p as usize) << 5);
      v128.store(d, v128.load(src));
      v128.store(d, v128.load(src, 16), 16);
      src += ld;
    }
  } else if (nr == NR) {
    // Eight stored rows, read four steps at a time and transposed in halves.
    const ld = (k as usize) << 2;
    const src = b + (((j0 as usize) * k + p0) << 2);
    let p: u32 = 0;
    for (; p + 4 <= kc; p += 4) {
      const s = src + ((p as usize) << 2);
      const d = dst + ((p as usize) << 5);
      transpose4Wide(s, ld, d);
      transpose4Wide(s + 4 * ld, ld, d + 16);
    }
    for (; p < kc; p++) {
      const s = src + ((p as usize) << 2);
      const d = dst + ((p as usize) << 5);
      for (let j: u32 = 0; j < NR; j++) {
        store<f32>(d + ((j as usize) << 2), load<f32>(s + (j as usize) * ld));
      }
    }
  } else {
    for (let p: u32 = 0; p < kc; p++) {
      const d = dst + ((p as usize) << 5);
      v128.store(d, f32x4.splat(0));
      v128.store(d, f32x4.splat(0), 16);
      for (let j: u32 = 0; j < nr; j++) {
        const at = transB
          ? (((j0 + j) as usize) * k + p0 + p)
          : (((p0 + p) as usize) * n + j0 + j);
        store<f32>(d + ((j as usize) << 2), load<f32>(b + (at << 2)));
      }
    }
  }
}

/**
 * Transposes the 4 × 4 floats at `src` (rows `ld` bytes apart) into four
 * contiguous f32x4 at `dst`.
 */
@inline
function transpose4(src: usize, ld: usize, dst: usize): void {
  transposeTo(src, ld, dst, 16);
}

/** {@link transpose4} with the outputs 32 bytes apart (half a `b` step). */
@inline
function transpose4Wide(src: usize, ld: usize, dst: usize): void {
  transposeTo(src, ld, dst, 32);
}

/** The 4 × 4 transpose, output rows `step` bytes apart. */
@inline
function transposeTo(src: usize, ld: usize, dst: usize, step: usize): void {
  const v0 = v128.load(src);
  const v1 = v128.load(src + ld);
  const v2 = v128.load(src + 2 * ld);
  const v3 = v128.load(src + 3 * ld);
  const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}
