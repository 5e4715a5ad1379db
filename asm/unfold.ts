import {
  KC,
  LANES_AT,
  MASK_AT,
  MAX_TAPS,
  NR,
  PANEL_AT,
  SHIFT_AT,
} from "./gemm_layout";
import { scratchStart } from "./memory";

// Panels of im2col's matrix U (see `matmul_im2col`) copied straight from the
// image, in the order asm/matmul.ts's micro-kernel reads them, so that U is
// never written out. Row d of U is tap t = d mod taps of channel d / taps;
// column j is output position r = j mod outPlane of sample j / outPlane.
//
// At stride 1 with the output as large as the image ("same" padding), tap t
// of position r reads the image at r + shift[t] of its channel, when that
// cell is inside the image: a run of positions is a run of the image, so a
// panel is two f32x4 loads a row, masked by the lanes inside the image (the
// masked lanes read the neighbouring cells, which lie inside the memory).
// The masks are tabulated per panel (8 positions, every tap) or per block of
// k (up to KC positions, every tap). Other geometries, and the columns that
// cross from one sample to the next, take each element on its own.

/** The image and its geometry, set by {@link setUnfolded}. */
let image: usize = 0;
let channels: f64 = 0;
let height: f64 = 0;
let width: f64 = 0;
let kernelW: u32 = 0;
let stride: f64 = 0;
let padding: f64 = 0;
let outW: u32 = 0;
let outPlane: u32 = 0;
let taps: u32 = 0;
let flip: bool = false;
/** Whether the geometry takes the masked runs (see the top). */
let runs: bool = false;
/** Cells per channel, with {@link runs}. */
let plane: u32 = 0;
/** The first position of the block of k whose masks are tabulated, or -1. */
let maskedBlock: i64 = -1;

/**
 * Sets the image and geometry the next {@link packUnfolded} calls read: NCHW
 * `x` at byte offset `x`, its output `outH × outW`; `flip` reverses each
 * channel's taps. U's sides are below 2^30 (asm/matmul_im2col.ts).
 */
export function setUnfolded(
  x: usize,
  batch: f64,
  channelCount: f64,
  imageH: f64,
  imageW: f64,
  kernelH: f64,
  windowW: f64,
  step: f64,
  pad: f64,
  outH: f64,
  outWidth: f64,
  flipped: bool,
): void {
  image = x;
  channels = channelCount;
  height = imageH;
  width = imageW;
  kernelW = windowW as u32;
  stride = step;
  padding = pad;
  outW = outWidth as u32;
  outPlane = (outH * outWidth) as u32;
  taps = (kernelH * windowW) as u32;
  flip = flipped;
  maskedBlock = -1;
  runs = step == 1 && outH == imageH && outWidth == imageW &&
    taps <= MAX_TAPS;
  if (!runs) return;
  plane = outPlane;
  // shift[t], and whether the reach of every shift stays inside the memory.
  let reach: i64 = 0;
  for (let t: u32 = 0; t < taps; t++) {
    const shift = ((tapRow(t) - (pad as i32)) * (outW as i32)) + tapColumn(t) -
      (pad as i32);
    store<i32>(scratchStart() + SHIFT_AT + ((t as usize) << 2), shift);
    reach = max(reach, abs<i64>(shift as i64));
  }
  const end = (x as i64) + (((batch * channelCount) as i64) * plane << 2);
  runs = (x as i64) - (reach << 2) >= 0 &&
    end + ((reach + NR) << 2) <= ((memory.size() as i64) << 16);
}

/** The kernel row that tap `t` of a row of U reads. */
@inline
function tapRow(t: u32): i32 {
  return ((flip ? taps - 1 - t : t) / kernelW) as i32;
}

/** The kernel column that tap `t` of a row of U reads. */
@inline
function tapColumn(t: u32): i32 {
  return ((flip ? taps - 1 - t : t) % kernelW) as i32;
}

/**
 * Copies columns `j0 .. j0 + nr` and rows `p0 .. p0 + kc` of `op(U)` (U, or
 * Uᵀ with `trans`) to `dst`, as asm/matmul.ts's `packB` copies `op(b)`:
 * `kc` steps of 8 values (4 when `narrow`), zeros past `nr`.
 */
export function packUnfolded(
  dst: usize,
  trans: u32,
  j0: u32,
  nr: u32,
  p0: u32,
  kc: u32,
  narrow: bool,
): void {
  if (!runs || (trans && nr < NR)) {
    packElements(dst, trans, j0, nr, p0, kc, narrow);
  } else if (trans) {
    if ((p0 as i64) != maskedBlock) tabulateMasks(p0, kc, KC);
    packTransposed(dst, j0, p0, kc);
  } else {
    tabulateMasks(j0, nr, NR);
    packPositions(dst, j0, nr, p0, kc, narrow);
  }
}

/**
 * `MASK[t · lanes + q]`: whether tap `t` of position `first + q` reads
 * inside the image (all ones) or the padding (0), for `q < count`; zeros up
 * to a multiple of 4.
 */
function tabulateMasks(first: u32, count: u32, lanes: u32): void {
  const oy = scratchStart() + LANES_AT;
  const ox = oy + ((lanes as usize) << 2);
  const r = first % outPlane;
  let y = (r / outW) as i32;
  let x = (r % outW) as i32;
  const rows = i32x4.splat(height as i32);
  for (let q: u32 = 0; q < lanes; q++) {
    // Past `count`, a row no tap reaches.
    store<i32>(oy + ((q as usize) << 2), q < count ? y : -(1 << 30));
    store<i32>(ox + ((q as usize) << 2), x);
    if (++x == (outW as i32)) {
      x = 0;
      if (++y == (height as i32)) y = 0;
    }
  }
  const cols = i32x4.splat(width as i32);
  const pad = padding as i32;
  let mask = scratchStart() + MASK_AT;
  for (let t: u32 = 0; t < taps; t++) {
    const dy = i32x4.splat(tapRow(t) - pad);
    const dx = i32x4.splat(tapColumn(t) - pad);
    for (let q: usize = 0; q < (lanes as usize) << 2; q += 16) {
      const iy = i32x4.add(v128.load(oy + q), dy);
      const ix = i32x4.add(v128.load(ox + q), dx);
      v128.store(
        mask + q,
        v128.and(i32x4.lt_u(iy, rows), i32x4.lt_u(ix, cols)),
      );
    }
    mask += (lanes as usize) << 2;
  }
  maskedBlock = lanes == KC ? first as i64 : -1;
}

/** {@link packUnfolded} of U with the masked runs, masks per panel. */
function packPositions(
  dst: usize,
  j0: u32,
  nr: u32,
  p0: u32,
  kc: u32,
  narrow: bool,
): void {
  const r0 = j0 % outPlane;
  const channelBytes = (plane as usize) << 2;
  const shifts = scratchStart() + SHIFT_AT;
  const masks = scratchStart() + MASK_AT;
  let t = p0 % taps;
  let from = image + ((((j0 / outPlane) as usize) * (channels as usize) +
        ((p0 / taps) as usize)) * channelBytes) + ((r0 as usize) << 2);
  if (nr == NR && r0 + NR <= outPlane) {
    // One sample: each row is a run of the image.
    for (let p: u32 = 0; p < kc; p++) {
      const src = from + ((load<i32>(shifts + ((t as usize) << 2)) << 2) as usize);
      const m = masks + ((t as usize) << 5);
      const d = dst + ((p as usize) << 5);
      v128.store(d, v128.and(v128.load(src), v128.load(m)));
      v128.store(d, v128.and(v128.load(src, 16), v128.load(m, 16)), 16);
      if (++t == taps) {
        t = 0;
        from += channelBytes;
      }
    }
    return;
  }
  // Each column from its own sample; only the lanes inside the image read.
  const starts = scratchStart() + PANEL_AT;
  for (let q: u32 = 0; q < nr; q++) {
    const j = j0 + q;
    const at = ((j / outPlane) as usize) * (channels as usize) * channelBytes +
      (((j % outPlane) as usize) << 2);
    store<usize>(starts + ((q as usize) << 2), image + at);
  }
  const span: usize = narrow ? 4 : NR;
  let channelAt = ((p0 / taps) as usize) * channelBytes;
  for (let p: u32 = 0; p < kc; p++) {
    const d = dst + (p as usize) * (span << 2);
    v128.store(d, f32x4.splat(0));
    if (!narrow) v128.store(d, f32x4.splat(0), 16);
    const shift = (load<i32>(shifts + ((t as usize) << 2)) << 2) as usize;
    const m = masks + ((t as usize) << 5);
    for (let q: u32 = 0; q < nr; q++) {
      const o = (q as usize) << 2;
      if (load<i32>(m + o) != 0) {
        const src = load<usize>(starts + o) + channelAt + shift;
        store<f32>(d + o, load<f32>(src));
      }
    }
    if (++t == taps) {
      t = 0;
      channelAt += channelBytes;
    }
  }
}

/**
 * {@link packUnfolded} of Uᵀ with the masked runs, 8 columns (rows of U),
 * masks per block of k: four positions of the 8 rows at a time, transposed.
 */
function packTransposed(dst: usize, j0: u32, p0: u32, kc: u32): void {
  const channelBytes = (plane as usize) << 2;
  const shifts = scratchStart() + SHIFT_AT;
  const offsets = scratchStart() + PANEL_AT;
  const maskRows = offsets + ((NR as usize) << 2);
  for (let q: u32 = 0; q < NR; q++) {
    const d = j0 + q;
    const t = d % taps;
    const shift = load<i32>(shifts + ((t as usize) << 2));
    const o = (q as usize) << 2;
    store<usize>(
      offsets + o,
      ((d / taps) as usize) * channelBytes + ((shift << 2) as usize),
    );
    store<usize>(
      maskRows + o,
      scratchStart() + MASK_AT + ((t as usize) * (KC as usize) << 2),
    );
  }
  const sampleBytes = (channels as usize) * channelBytes;
  let sample = image + ((p0 / outPlane) as usize) * sampleBytes;
  let r = p0 % outPlane;
  let p: u32 = 0;
  for (; p + 4 <= kc; p += 4) {
    const d = dst + ((p as usize) << 5);
    if (r + 4 <= outPlane) {
      const at = sample + ((r as usize) << 2);
      const m = (p as usize) << 2;
      transposeInto(d, at, offsets, maskRows, m, 0);
      transposeInto(d + 16, at, offsets, maskRows, m, 4);
    } else {
      for (let i: u32 = 0; i < 4; i++) {
        packPosition(d + ((i as usize) << 5), p0 + p + i, p + i);
      }
    }
    r += 4;
    while (r >= outPlane) {
      r -= outPlane;
      sample += sampleBytes;
    }
  }
  for (; p < kc; p++) packPosition(dst + ((p as usize) << 5), p0 + p, p);
}

/**
 * Rows `first .. first + 4` of the panel's columns (rows of U) `col ..
 * col + 4`, at image offset `at` of one sample, masked, transposed into four
 * half-rows of the panel at `d`.
 */
@inline
function transposeInto(
  d: usize,
  at: usize,
  offsets: usize,
  maskRows: usize,
  m: usize,
  col: u32,
): void {
  const o = offsets + ((col as usize) << 2);
  const k = maskRows + ((col as usize) << 2);
  const v0 = v128.and(
    v128.load(at + load<usize>(o)),
    v128.load(load<usize>(k) + m),
  );
  const v1 = v128.and(
    v128.load(at + load<usize>(o, 4)),
    v128.load(load<usize>(k, 4) + m),
  );
  const v2 = v128.and(
    v128.load(at + load<usize>(o, 8)),
    v128.load(load<usize>(k, 8) + m),
  );
  const v3 = v128.and(
    v128.load(at + load<usize>(o, 12)),
    v128.load(load<usize>(k, 12) + m),
  );
  const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 32);
  v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 64);
  v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 96);
}

/**
 * One row of a {@link packTransposed} panel: position `j` (the block's
 * `q`-th), its 8 columns read one by one where their masks allow.
 */
function packPosition(d: usize, j: u32, q: u32): void {
  const offsets = scratchStart() + PANEL_AT;
  const maskRows = offsets + ((NR as usize) << 2);
  const at = image +
    ((j / outPlane) as usize) * (channels as usize) * ((plane as usize) << 2) +
    (((j % outPlane) as usize) << 2);
  for (let c: u32 = 0; c < NR; c++) {
    const o = (c as usize) << 2;
    const inside = load<i32>(load<usize>(maskRows + o) + ((q as usize) << 2));
    store<f32>(d + o, inside != 0 ? load<f32>(at + load<usize>(offsets + o)) : 0);
  }
}

/** {@link packUnfolded}, one element at a time from the definition. */
function packElements(
  dst: usize,
  trans: u32,
  j0: u32,
  nr: u32,
  p0: u32,
  kc: u32,
  narrow: bool,
): void {
  const span: usize = narrow ? 4 : NR;
  for (let p: u32 = 0; p < kc; p++) {
    const d = dst + (p as usize) * (span << 2);
    v128.store(d, f32x4.splat(0));
    if (!narrow) v128.store(d, f32x4.splat(0), 16);
    for (let q: u32 = 0; q < nr; q++) {
      const v = trans ? element(j0 + q, p0 + p) : element(p0 + p, j0 + q);
      store<f32>(d + ((q as usize) << 2), v);
    }
  }
}

/** `U[d, j]`, in float64 index arithmetic (exact below 2^53). */
function element(d: u32, j: u32): f32 {
  const t = d % taps;
  const r = j % outPlane;
  const iy = ((r / outW) as f64) * stride - padding + (tapRow(t) as f64);
  const ix = ((r % outW) as f64) * stride - padding + (tapColumn(t) as f64);
  if (iy < 0 || iy >= height || ix < 0 || ix >= width) return 0;
  const cell = ((((j / outPlane) as f64) * channels + ((d / taps) as f64)) *
    height + iy) * width + ix;
  return load<f32>(image + ((cell as usize) << 2));
}
