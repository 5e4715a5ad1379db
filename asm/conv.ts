import {
  axisRange,
  outputSize,
  rangeEnd,
  rangeFirst,
  rangeStart,
} from "./geometry";
import { SCRATCH_BYTES, scratchStart } from "./memory";
import { addRun, copyRun, zeroRun } from "./runs";

/**
 * `im2col`: unfolds NCHW images into `cols`, `[channels · kernelH · kernelW,
 * batch · outH · outW]`:
 * `cols[((ch·kernelH + ky)·kernelW + kx)·P + (b·outH + oy)·outW + ox] =
 * x[b, ch, oy·stride - padding + ky, ox·stride - padding + kx]`, 0 outside the
 * image, with `P = batch · outH · outW`. `cols` is written front to back;
 * each output row is one contiguous copy (stride 1) or gather, flanked by the
 * zeros of the padding, and at stride 1 with `outW = width` ("same" padding)
 * a whole tap is one shifted copy.
 *
 * @param x Byte offset of `batch · channels · height · width` float32
 *   values, 4-byte aligned.
 * @param cols Byte offset of the float32 matrix, 4-byte aligned, fully
 *   overwritten; must not overlap `x`.
 * @param batch Images (an integer below 2^53, as are all sizes here).
 * @param channels Channels per image.
 * @param height Rows per image.
 * @param width Columns per image.
 * @param kernelH Window rows (>= 1).
 * @param kernelW Window columns (>= 1).
 * @param stride Step between windows (>= 1).
 * @param padding Zero cells around the image on every side.
 */
export function im2col(
  x: usize,
  cols: usize,
  batch: f64,
  channels: f64,
  height: f64,
  width: f64,
  kernelH: f64,
  kernelW: f64,
  stride: f64,
  padding: f64,
): void {
  const outH = outputSize(height, kernelH, stride, padding);
  const outW = outputSize(width, kernelW, stride, padding);
  // With cols empty there is nothing to write; otherwise every count below is
  // bounded by its size.
  if (batch * channels * outH * outW == 0) return;
  const kh = kernelH as u32;
  const kw = kernelW as u32;
  const oh = outH as usize;
  const ow = outW as usize;
  const outPlane = oh * ow;
  const P = (batch as usize) * outPlane;
  const plane = (height * width) as usize;
  const rowStride: usize = plane == 0 ? 0 : width as usize;
  const step = min(stride, 1073741824.0) as usize;
  const nb = batch as u32;
  const nc = channels as u32;
  // Walk `cols` in memory order, tap row by tap row; each channel's planes
  // (one per image) are re-read from cache once per tap.
  for (let ch: u32 = 0; ch < nc; ch++) {
    for (let ky: u32 = 0; ky < kh; ky++) {
      axisRange(height, outH, ky, stride, padding);
      const oy0 = rangeFirst as usize;
      const oy1 = rangeEnd as usize;
      const iy0 = rangeStart as usize;
      for (let kx: u32 = 0; kx < kw; kx++) {
        axisRange(width, outW, kx, stride, padding);
        const ox0 = rangeFirst as usize;
        const ox1 = rangeEnd as usize;
        const first = (iy0 * rowStride + (rangeStart as usize)) << 2;
        const row = ((ch * kh + ky) * kw + kx) as usize;
        let dst = cols + ((row * P) << 2);
        for (let b: u32 = 0; b < nb; b++, dst += outPlane << 2) {
          const src = x + ((((b * nc + ch) as usize) * plane) << 2) + first;
          unfoldTap(dst, src, oh, ow, oy0, oy1, ox0, ox1, rowStride, step);
        }
      }
    }
  }
}

/**
 * `col2im`: the adjoint of {@link im2col}: `x[b, ch, yy, xx]` is the sum of
 * every `cols` entry that `im2col` copies from that position, overwriting `x`.
 * Each window tap's rows are added into the cleared image planes (a
 * contiguous vector add at stride 1), reading `cols` front to back.
 *
 * @param cols Byte offset of the float32 matrix `im2col` writes, 4-byte
 *   aligned.
 * @param x Byte offset of `batch · channels · height · width` float32
 *   values, 4-byte aligned, fully overwritten; must not overlap `cols`.
 * @param batch Images (an integer below 2^53, as are all sizes here).
 * @param channels Channels per image.
 * @param height Rows per image.
 * @param width Columns per image.
 * @param kernelH Window rows (>= 1).
 * @param kernelW Window columns (>= 1).
 * @param stride Step between windows (>= 1).
 * @param padding Zero cells around the image on every side.
 */
export function col2im(
  cols: usize,
  x: usize,
  batch: f64,
  channels: f64,
  height: f64,
  width: f64,
  kernelH: f64,
  kernelW: f64,
  stride: f64,
  padding: f64,
): void {
  const outH = outputSize(height, kernelH, stride, padding);
  const outW = outputSize(width, kernelW, stride, padding);
  if (batch * channels * outH * outW == 0) {
    zeroRun(x, (batch * channels * height * width) as usize);
    return;
  }
  const kh = kernelH as u32;
  const kw = kernelW as u32;
  const ow = outW as usize;
  const outPlane = (outH as usize) * ow;
  const P = (batch as usize) * outPlane;
  const plane = (height * width) as usize;
  const rowStride: usize = plane == 0 ? 0 : width as usize;
  const step = min(stride, 1073741824.0) as usize;
  const nb = batch as u32;
  const nc = channels as u32;
  // Read `cols` in memory order, as im2col writes it: per channel, clear its
  // planes (one per image, kept in cache), then add each tap row into them.
  for (let ch: u32 = 0; ch < nc; ch++) {
    for (let b: u32 = 0; b < nb; b++) {
      zeroRun(x + ((((b * nc + ch) as usize) * plane) << 2), plane);
    }
    for (let ky: u32 = 0; ky < kh; ky++) {
      axisRange(height, outH, ky, stride, padding);
      const oy0 = rangeFirst as usize;
      const oy1 = rangeEnd as usize;
      const iy0 = rangeStart as usize;
      for (let kx: u32 = 0; kx < kw; kx++) {
        axisRange(width, outW, kx, stride, padding);
        const ox0 = rangeFirst as usize;
        const n = (rangeEnd as usize) - ox0;
        if (oy0 >= oy1 || n == 0) continue;
        const first = (iy0 * rowStride + (rangeStart as usize)) << 2;
        const row = ((ch * kh + ky) * kw + kx) as usize;
        let src = cols + ((row * P + oy0 * ow + ox0) << 2);
        for (let b: u32 = 0; b < nb; b++, src += outPlane << 2) {
          const dst = x + ((((b * nc + ch) as usize) * plane) << 2) + first;
          foldTap(dst, src, oy1 - oy0, n, ow, rowStride, step);
        }
      }
    }
  }
}

/**
 * One window tap of one image, the adjoint of {@link unfoldTap}: `rows × n`
 * outputs starting at `src` (rows `ow` apart) are added to the inputs starting
 * at `dst` (rows `rowStride` apart, columns `step` apart).
 */
function foldTap(
  dst: usize,
  src: usize,
  rows: usize,
  n: usize,
  ow: usize,
  rowStride: usize,
  step: usize,
): void {
  const gap = ow - n;
  if (step == 1 && rowStride == ow && (rows - 1) * gap <= SCRATCH_BYTES >> 2) {
    // The rows are one add over a shifted span, as in unfoldTap; the inputs
    // in the gaps between rows, which the tap does not reach, are put aside
    // and back, so each input still gets exactly its own sums.
    const saved = scratchStart();
    moveGaps(saved, dst, rows, gap, ow, true);
    addRun(dst, src, (rows - 1) * ow + n);
    moveGaps(saved, dst, rows, gap, ow, false);
    return;
  }
  const pitch = (step * rowStride) << 2;
  for (let r: usize = 0; r < rows; r++, src += ow << 2, dst += pitch) {
    scatterAdd(dst, src, n, step);
  }
}

/**
 * Copies the `gap` values before each row but the first of a span of rows
 * `ow` apart at `span` to `saved` (`out`), or back from it.
 */
function moveGaps(
  saved: usize,
  span: usize,
  rows: usize,
  gap: usize,
  ow: usize,
  out: bool,
): void {
  for (let r: usize = 1; r < rows; r++) {
    const at = span + ((r * ow - gap) << 2);
    for (let g: usize = 0; g < gap; g++, saved += 4) {
      const p = at + (g << 2);
      if (out) store<f32>(saved, load<f32>(p));
      else store<f32>(p, load<f32>(saved));
    }
  }
}

/**
 * One window tap of one image: the `oh × ow` block at `dst` gets the inputs of
 * outputs `[oy0, oy1) × [ox0, ox1)` (the first at `src`, rows `rowStride`
 * apart, columns `step` apart) and zeros around them. Between one row's last
 * input and the next row's first, the zeros are one contiguous gap.
 */
function unfoldTap(
  dst: usize,
  src: usize,
  oh: usize,
  ow: usize,
  oy0: usize,
  oy1: usize,
  ox0: usize,
  ox1: usize,
  rowStride: usize,
  step: usize,
): void {
  if (oy0 >= oy1 || ox0 >= ox1) {
    zeroRun(dst, oh * ow);
    return;
  }
  const n = ox1 - ox0;
  const gap = ow - n;
  zeroRun(dst, oy0 * ow + ox0);
  let d = dst + ((oy0 * ow + ox0) << 2);
  const rows = oy1 - oy0;
  if (step == 1 && rowStride == ow) {
    // Inputs and outputs have the same row pitch: the rows are one shifted
    // copy whose gaps picked up the neighbouring row ends, cleared after.
    const span = (rows - 1) * ow + n;
    copyRun(d, src, span);
    for (let r: usize = 1; r < rows; r++) {
      zeroGap(d + ((r * ow - gap) << 2), gap);
    }
    d += span << 2;
  } else {
    const pitch = (step * rowStride) << 2;
    for (let r: usize = 1; r < rows; r++, src += pitch) {
      gather(d, src, n, step);
      zeroGap(d + (n << 2), gap);
      d += ow << 2;
    }
    gather(d, src, n, step);
    d += n << 2;
  }
  zeroRun(d, ow - ox1 + (oh - oy1) * ow);
}

/** `dst[i] = +0` for `i < n`, for the few zeros of a padding gap. */
function zeroGap(dst: usize, n: usize): void {
  if (n >= 8) {
    zeroRun(dst, n);
    return;
  }
  for (let i: usize = 0; i < n; i++) store<f32>(dst + (i << 2), 0);
}

/** `dst[i] = src[i · step]` for `i < n`; reads stay within `src[0 .. (n-1)·step]`. */
function gather(dst: usize, src: usize, n: usize, step: usize): void {
  if (step == 1) {
    copyRun(dst, src, n);
    return;
  }
  let i: usize = 0;
  if (step == 2) {
    // Eight loaded values give four outputs; stop while the load's last
    // value is still one the scalar loop would read.
    for (; i + 4 < n; i += 4) {
      const a = v128.load(src + (i << 3));
      const b = v128.load(src + (i << 3), 16);
      v128.store(dst + (i << 2), f32x4.shuffle(a, b, 0, 2, 4, 6));
    }
  }
  for (; i < n; i++) {
    store<f32>(dst + (i << 2), load<f32>(src + ((i * step) << 2)));
  }
}

/** `dst[i · step] += src[i]` for `i < n`. */
function scatterAdd(dst: usize, src: usize, n: usize, step: usize): void {
  if (step == 1) {
    addRun(dst, src, n);
    return;
  }
  for (let i: usize = 0; i < n; i++) {
    const d = dst + ((i * step) << 2);
    store<f32>(d, load<f32>(d) + load<f32>(src + (i << 2)));
  }
}

/** Side of the square tiles {@link transpose} moves at a time. */
const TILE: u32 = 32;

/**
 * `transpose`: swaps the two outer axes of `[rows, cols, inner]`:
 * `y[(j · rows + i) · inner + t] = x[(i · cols + j) · inner + t]`. With
 * `inner = 1` it moves 4×4 blocks through registers inside cache-sized tiles;
 * otherwise it copies runs of `inner` values.
 *
 * @param x Byte offset of `rows · cols · inner` float32 values, 4-byte aligned.
 * @param y Byte offset of as many float32 outputs, 4-byte aligned, fully
 *   overwritten; must not overlap `x`.
 * @param rows Outer axis of `x`.
 * @param cols Middle axis of `x`.
 * @param inner Values moved together.
 */
export function transpose(
  x: usize,
  y: usize,
  rows: u32,
  cols: u32,
  inner: u32,
): void {
  if (rows == 0 || cols == 0 || inner == 0) return;
  if (inner > 1) {
    const run = (inner as usize) << 2;
    const yStep = (rows as usize) * run;
    let from = x;
    for (let i: u32 = 0; i < rows; i++) {
      let to = y + (i as usize) * run;
      for (let j: u32 = 0; j < cols; j++, from += run, to += yStep) {
        copyRun(to, from, inner);
      }
    }
    return;
  }
  for (let ib: u32 = 0; ib < rows; ib += TILE) {
    const ie = min(ib + TILE, rows);
    for (let jb: u32 = 0; jb < cols; jb += TILE) {
      transposeTile(x, y, rows, cols, ib, ie, jb, min(jb + TILE, cols));
    }
  }
}

/** Rows `[ib, ie)` × columns `[jb, je)` of a `rows × cols` float32 transpose. */
function transposeTile(
  x: usize,
  y: usize,
  rows: u32,
  cols: u32,
  ib: u32,
  ie: u32,
  jb: u32,
  je: u32,
): void {
  const xr = (cols as usize) << 2;
  const yr = (rows as usize) << 2;
  let i = ib;
  for (; i + 4 <= ie; i += 4) {
    let j = jb;
    for (; j + 4 <= je; j += 4) {
      const p = x + (i as usize) * xr + ((j as usize) << 2);
      const r0 = v128.load(p);
      const r1 = v128.load(p + xr);
      const r2 = v128.load(p + 2 * xr);
      const r3 = v128.load(p + 3 * xr);
      const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
      const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
      const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const q = y + (j as usize) * yr + ((i as usize) << 2);
      v128.store(q, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(q + yr, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(q + 2 * yr, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(q + 3 * yr, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
    for (; j < je; j++) {
      for (let r: u32 = 0; r < 4; r++) moveOne(x, y, xr, yr, i + r, j);
    }
  }
  for (; i < ie; i++) {
    for (let j = jb; j < je; j++) moveOne(x, y, xr, yr, i, j);
  }
}

/** `y[j, i] = x[i, j]` with row pitches `xr` and `yr` bytes. */
function moveOne(
  x: usize,
  y: usize,
  xr: usize,
  yr: usize,
  i: u32,
  j: u32,
): void {
  store<f32>(
    y + (j as usize) * yr + ((i as usize) << 2),
    load<f32>(x + (i as usize) * xr + ((j as usize) << 2)),
  );
}
