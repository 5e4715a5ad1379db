import {
  A_AT,
  A_FLOATS,
  B_AT,
  KC,
  MR,
  NR,
  SCRATCH_END,
  TILE_AT,
} from "./gemm_layout";
import { SCRATCH_BYTES, scratchStart } from "./memory";
import { packUnfolded } from "./unfold";

// `c = op(a) · op(b)`, blocked for the caches and for the registers.
//
// For each block of up to KC steps of k, rows of op(a) are copied, as many as
// fit in A_FLOATS, into the scratch area in the order the micro-kernel reads
// them; then for each 8 columns of c, those columns of op(b) are copied too
// and the micro-kernel runs down the copied rows, 4 at a time. The copies
// absorb both transposes, and make every read of the micro-kernel
// sequential. The micro-kernel keeps a 4 × 8 tile of c in eight f32x4
// registers (with 2 of b, 1 of a and 1 product, 12 of the 15 xmm registers V8
// allocates on x86). Wider tiles and lane shuffles instead of broadcast loads
// measured no faster: where every load carries a bounds check, the loads and
// the arithmetic cost alike, and no tile shifts that balance by much.

/**
 * `matmul`: `c[m × n] = op(a) · op(b)`, overwriting `c`, or with `accumulate`
 * `c += op(a) · op(b)`; `k = 0` gives zeros (leaves `c`, accumulating). The
 * sums run over blocks of up to 256 steps of `k` in order, each block's
 * products summed in order and added to `c`'s running value.
 *
 * @param a Byte offset of `m · k` float32 values, 4-byte aligned: `[m, k]`
 *   row-major, or `[k, m]` when `transA`.
 * @param b Byte offset of `k · n` float32 values, 4-byte aligned: `[k, n]`
 *   row-major, or `[n, k]` when `transB`.
 * @param c Byte offset of `m · n` float32 outputs, 4-byte aligned; must not
 *   overlap `a` or `b`. The scratch area below `heap_base` must exist, as it
 *   does once the host has allocated anything above it.
 * @param m Rows of `c`.
 * @param n Columns of `c`.
 * @param k The shared dimension.
 * @param transA Nonzero when `a` is stored `[k, m]`.
 * @param transB Nonzero when `b` is stored `[n, k]`.
 * @param accumulate Nonzero to add the product to `c`.
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
  accumulate: u32,
): void {
  gemm(a, b, c, m, n, k, transA, transB, accumulate, false);
}

/**
 * {@link matmul}, or with `unfolded` the product with im2col's matrix (or its
 * transpose, `transB`) of the image asm/unfold.ts was last given, `b` unused:
 * see `matmul_im2col` (asm/matmul_im2col.ts).
 */
export function gemm(
  a: usize,
  b: usize,
  c: usize,
  m: u32,
  n: u32,
  k: u32,
  transA: u32,
  transB: u32,
  accumulate: u32,
  unfolded: bool,
): void {
  if (SCRATCH_END > SCRATCH_BYTES) {
    ERROR("matmul's blocks must fit in SCRATCH_BYTES (asm/memory.ts)");
  }
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) memory.fill(c, 0, ((m as usize) * n) << 2);
    return;
  }
  const packedA = scratchStart() + A_AT;
  const packedB = scratchStart() + B_AT;
  const tile = scratchStart() + TILE_AT;
  // Equal blocks of k, multiples of 4 but the last, so that no thin block
  // pays a whole pass over c.
  const kBlocks = (k + KC - 1) / KC;
  const kcMax = min(KC, ((k + kBlocks - 1) / kBlocks + 3) & ~3);
  const ldc = (n as usize) << 2;
  for (let p0: u32 = 0; p0 < k; p0 += kcMax) {
    const kc = min(kcMax, k - p0);
    // The first block overwrites c, unless the product adds to it.
    const first = p0 == 0 && !accumulate;
    // Rows per copied block: whole micro-tiles, the blocks as equal as can be.
    const mcFit = A_FLOATS / kc / MR * MR;
    const mBlocks = (m + mcFit - 1) / mcFit;
    const mcMax = ((m + mBlocks - 1) / mBlocks + MR - 1) / MR * MR;
    const panelA = (kc as usize) * MR << 2;
    for (let i0: u32 = 0; i0 < m; i0 += mcMax) {
      const mc = min(mcMax, m - i0);
      packA(packedA, a, m, k, transA, i0, mc, p0, kc);
      for (let j0: u32 = 0; j0 < n; j0 += NR) {
        const nr = min(NR, n - j0);
        // At most 4 columns left: half-width tiles, half the work.
        const narrow = nr <= NR / 2;
        if (unfolded) packUnfolded(packedB, transB, j0, nr, p0, kc, narrow);
        else packB(packedB, b, n, k, transB, j0, nr, p0, kc, narrow);
        let pa = packedA;
        let ci = c + (i0 as usize) * ldc + ((j0 as usize) << 2);
        for (let i: u32 = 0; i < mc; i += MR) {
          const mr = min(MR, mc - i);
          if (mr == MR && nr == NR) {
            kernel(pa, packedB, kc, ci, ldc, !first);
          } else {
            if (narrow) kernelNarrow(pa, packedB, kc, tile, NR << 2);
            else kernel(pa, packedB, kc, tile, NR << 2, false);
            edge(tile, ci, ldc, mr, nr, first);
          }
          pa += panelA;
          ci += (MR as usize) * ldc;
        }
      }
    }
  }
}

/**
 * The micro-kernel: `c[4 × 8] (+)= Σ_p pa[p] ⊗ pb[p]` over `kc` steps in
 * order, where `pa` holds 4 values per step and `pb` 8, contiguously. Two
 * steps per pass halve the loop's overhead; four measured slower.
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
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  let b0: v128;
  let b1: v128;
  let x: v128;
  const end = pb + ((kc as usize) << 5);
  const end2 = pb + (((kc & ~1) as usize) << 5);
  while (pb < end2) {
    b0 = v128.load(pb);
    b1 = v128.load(pb, 16);
    x = v128.load32_splat(pa);
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
    b0 = v128.load(pb, 32);
    b1 = v128.load(pb, 48);
    x = v128.load32_splat(pa, 16);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 20);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 24);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 28);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
    pa += 32;
    pb += 64;
  }
  if (pb < end) {
    b0 = v128.load(pb);
    b1 = v128.load(pb, 16);
    x = v128.load32_splat(pa);
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
  }
  const c1 = c + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  if (accumulate) {
    c00 = f32x4.add(v128.load(c), c00);
    c01 = f32x4.add(v128.load(c, 16), c01);
    c10 = f32x4.add(v128.load(c1), c10);
    c11 = f32x4.add(v128.load(c1, 16), c11);
    c20 = f32x4.add(v128.load(c2), c20);
    c21 = f32x4.add(v128.load(c2, 16), c21);
    c30 = f32x4.add(v128.load(c3), c30);
    c31 = f32x4.add(v128.load(c3, 16), c31);
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c2, c20);
  v128.store(c2, c21, 16);
  v128.store(c3, c30);
  v128.store(c3, c31, 16);
}

/**
 * {@link kernel} for 4 columns: `c[4 × 4] = Σ_p pa[p] ⊗ pb[p]`, where `pb`
 * holds 4 values per step; `c` rows are `ldc` bytes apart.
 */
function kernelNarrow(
  pa: usize,
  pb: usize,
  kc: u32,
  c: usize,
  ldc: usize,
): void {
  let c00 = f32x4.splat(0);
  let c10 = c00;
  let c20 = c00;
  let c30 = c00;
  let b0: v128;
  const end = pb + ((kc as usize) << 4);
  const end2 = pb + (((kc & ~1) as usize) << 4);
  while (pb < end2) {
    b0 = v128.load(pb);
    c00 = f32x4.add(c00, f32x4.mul(v128.load32_splat(pa), b0));
    c10 = f32x4.add(c10, f32x4.mul(v128.load32_splat(pa, 4), b0));
    c20 = f32x4.add(c20, f32x4.mul(v128.load32_splat(pa, 8), b0));
    c30 = f32x4.add(c30, f32x4.mul(v128.load32_splat(pa, 12), b0));
    b0 = v128.load(pb, 16);
    c00 = f32x4.add(c00, f32x4.mul(v128.load32_splat(pa, 16), b0));
    c10 = f32x4.add(c10, f32x4.mul(v128.load32_splat(pa, 20), b0));
    c20 = f32x4.add(c20, f32x4.mul(v128.load32_splat(pa, 24), b0));
    c30 = f32x4.add(c30, f32x4.mul(v128.load32_splat(pa, 28), b0));
    pa += 32;
    pb += 32;
  }
  if (pb < end) {
    b0 = v128.load(pb);
    c00 = f32x4.add(c00, f32x4.mul(v128.load32_splat(pa), b0));
    c10 = f32x4.add(c10, f32x4.mul(v128.load32_splat(pa, 4), b0));
    c20 = f32x4.add(c20, f32x4.mul(v128.load32_splat(pa, 8), b0));
    c30 = f32x4.add(c30, f32x4.mul(v128.load32_splat(pa, 12), b0));
  }
  v128.store(c, c00);
  v128.store(c + ldc, c10);
  v128.store(c + 2 * ldc, c20);
  v128.store(c + 3 * ldc, c30);
}

/** Writes (`first`) or adds the top-left `mr × nr` of `tile` into `c`. */
function edge(
  tile: usize,
  c: usize,
  ldc: usize,
  mr: u32,
  nr: u32,
  first: bool,
): void {
  for (let r: u32 = 0; r < mr; r++) {
    const t = tile + ((r * NR) << 2);
    const row = c + (r as usize) * ldc;
    for (let j: u32 = 0; j < nr; j++) {
      const o = (j as usize) << 2;
      const v = load<f32>(t + o);
      store<f32>(row + o, first ? v : load<f32>(row + o) + v);
    }
  }
}

/**
 * Copies rows `i0 .. i0 + mc` and columns `p0 .. p0 + kc` of `op(a)` to
 * `dst`: micro-panels of 4 rows, each `kc` steps of 4 values; rows past `mc`
 * are zero.
 */
function packA(
  dst: usize,
  a: usize,
  m: u32,
  k: u32,
  transA: u32,
  i0: u32,
  mc: u32,
  p0: u32,
  kc: u32,
): void {
  for (let i: u32 = 0; i < mc; i += MR) {
    const row = i0 + i;
    const mr = min(MR, mc - i);
    if (mr == MR && transA) {
      // Four rows of op(a) are four adjacent values of each stored row.
      let src = a + (((p0 as usize) * m + row) << 2);
      const ld = (m as usize) << 2;
      for (let p: u32 = 0; p < kc; p++) {
        v128.store(dst + ((p as usize) << 4), v128.load(src));
        src += ld;
      }
    } else if (mr == MR) {
      const ld = (k as usize) << 2;
      const src = a + (((row as usize) * k + p0) << 2);
      let p: u32 = 0;
      for (; p + 4 <= kc; p += 4) {
        const o = p as usize;
        transpose4(src + (o << 2), ld, dst + (o << 4), 16);
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
        const d = dst + ((p as usize) << 4);
        v128.store(d, f32x4.splat(0));
        for (let r: u32 = 0; r < mr; r++) {
          const at = transA
            ? ((p0 + p) as usize) * m + row + r
            : ((row + r) as usize) * k + p0 + p;
          store<f32>(d + ((r as usize) << 2), load<f32>(a + (at << 2)));
        }
      }
    }
    dst += (kc as usize) * MR << 2;
  }
}

/**
 * Copies columns `j0 .. j0 + nr` and rows `p0 .. p0 + kc` of `op(b)` to
 * `dst`: `kc` steps of 8 values (4 when `narrow`); columns past `nr` are
 * zero.
 */
function packB(
  dst: usize,
  b: usize,
  n: u32,
  k: u32,
  transB: u32,
  j0: u32,
  nr: u32,
  p0: u32,
  kc: u32,
  narrow: bool,
): void {
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
    // Eight stored rows, four steps at a time, transposed in halves.
    const ld = (k as usize) << 2;
    const src = b + (((j0 as usize) * k + p0) << 2);
    let p: u32 = 0;
    for (; p + 4 <= kc; p += 4) {
      const s = src + ((p as usize) << 2);
      const d = dst + ((p as usize) << 5);
      transpose4(s, ld, d, 32);
      transpose4(s + 4 * ld, ld, d + 16, 32);
    }
    for (; p < kc; p++) {
      const s = src + ((p as usize) << 2);
      const d = dst + ((p as usize) << 5);
      for (let q: u32 = 0; q < NR; q++) {
        store<f32>(d + ((q as usize) << 2), load<f32>(s + (q as usize) * ld));
      }
    }
  } else {
    const width: usize = narrow ? 4 : NR;
    for (let p: u32 = 0; p < kc; p++) {
      const d = dst + (p as usize) * (width << 2);
      v128.store(d, f32x4.splat(0));
      if (!narrow) v128.store(d, f32x4.splat(0), 16);
      for (let q: u32 = 0; q < nr; q++) {
        const at = transB
          ? ((j0 + q) as usize) * k + p0 + p
          : ((p0 + p) as usize) * n + j0 + q;
        store<f32>(d + ((q as usize) << 2), load<f32>(b + (at << 2)));
      }
    }
  }
}

/**
 * Transposes the 4 × 4 floats at `src` (rows `ld` bytes apart) into four
 * f32x4 at `dst`, `step` bytes apart.
 */
@inline
function transpose4(src: usize, ld: usize, dst: usize, step: usize): void {
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
