import { outputSize } from "./geometry";
import { fillRun, sumRun, zeroRun } from "./runs";

/**
 * `maxpool_forward`: max pooling of `planes` images of `height × width`,
 * `kernel × kernel` windows every `stride`, `padding` cells of -∞ around.
 * `y[p, oy, ox]` is the window's maximum and `argmax[p, oy, ox]` its index
 * `iy · width + ix` in the plane: the first in-bounds cell in row-major window
 * order, replaced only by a strictly greater value (so NaN never replaces,
 * and a NaN first cell stays). A window wholly in the padding gives -∞ at 0.
 * 2×2 windows at stride 2 without padding take a four-outputs-per-step path.
 *
 * @param x Byte offset of `planes · height · width` float32 values, 4-byte
 *   aligned.
 * @param y Byte offset of `planes · outH · outW` float32 outputs, 4-byte
 *   aligned.
 * @param argmax Byte offset of as many uint32 outputs, 4-byte aligned. The
 *   three must not overlap.
 * @param planes Images (an integer below 2^53, as are all sizes here).
 * @param height Rows per image.
 * @param width Columns per image.
 * @param kernel Window side (>= 1).
 * @param stride Step between windows (>= 1).
 * @param padding Cells of -∞ around the image on every side.
 */
export function maxpool_forward(
  x: usize,
  y: usize,
  argmax: usize,
  planes: f64,
  height: f64,
  width: f64,
  kernel: f64,
  stride: f64,
  padding: f64,
): void {
  const outH = outputSize(height, kernel, stride, padding);
  const outW = outputSize(width, kernel, stride, padding);
  // With y empty there is nothing to write; otherwise the counts are small.
  if (planes * outH * outW == 0) return;
  const np = planes as u32;
  const oh = outH as u32;
  const ow = outW as u32;
  const plane = (height * width) as usize;
  if (kernel == 2 && stride == 2 && padding == 0) {
    const w = width as u32;
    for (let p: u32 = 0; p < np; p++) {
      const src = x + (p as usize) * (plane << 2);
      const out = (p as usize) * ((oh as usize) * (ow as usize));
      for (let oy: u32 = 0; oy < oh; oy++) {
        const at = (out + (oy as usize) * (ow as usize)) << 2;
        pool2x2Row(src, y + at, argmax + at, 2 * oy * w, w, ow);
      }
    }
    return;
  }
  let at: usize = 0;
  for (let p: u32 = 0; p < np; p++) {
    const src = x + (p as usize) * (plane << 2);
    for (let oy: u32 = 0; oy < oh; oy++) {
      const top = (oy as f64) * stride - padding;
      const r0 = max(top, 0);
      const r1 = min(top + kernel, height);
      for (let ox: u32 = 0; ox < ow; ox++, at += 4) {
        const left = (ox as f64) * stride - padding;
        const c0 = max(left, 0);
        const c1 = min(left + kernel, width);
        if (r0 >= r1 || c0 >= c1) {
          store<f32>(y + at, -Infinity);
          store<u32>(argmax + at, 0);
          continue;
        }
        // The window has a cell in the image, so its bounds are small.
        poolWindow(
          src,
          y + at,
          argmax + at,
          width as u32,
          r0 as u32,
          r1 as u32,
          c0 as u32,
          c1 as u32,
        );
      }
    }
  }
}

/** One window's maximum over rows `[r0, r1)` and columns `[c0, c1)` (non-empty). */
function poolWindow(
  src: usize,
  y: usize,
  argmax: usize,
  width: u32,
  r0: u32,
  r1: u32,
  c0: u32,
  c1: u32,
): void {
  let where = r0 * width + c0;
  let best = load<f32>(src + ((where as usize) << 2));
  for (let r = r0; r < r1; r++) {
    for (let c = r == r0 ? c0 + 1 : c0; c < c1; c++) {
      const i = r * width + c;
      const v = load<f32>(src + ((i as usize) << 2));
      if (v > best) {
        best = v;
        where = i;
      }
    }
  }
  store<f32>(y, best);
  store<u32>(argmax, where);
}

/**
 * One output row of 2×2, stride-2 pooling: input rows `top / width` and the
 * next, outputs `[0, ow)`. Four outputs per step: the even and odd columns of
 * eight loaded values are the windows' left and right cells, compared in
 * window order with a strict `>` as the scalar loop does.
 */
function pool2x2Row(
  src: usize,
  y: usize,
  argmax: usize,
  top: u32,
  width: u32,
  ow: u32,
): void {
  const row0 = src + ((top as usize) << 2);
  const row1 = row0 + ((width as usize) << 2);
  const step = i32x4.splat(8);
  const one = i32x4.splat(1);
  const down = i32x4.splat(width);
  let left = i32x4.add(i32x4.splat(top), i32x4(0, 2, 4, 6));
  let ox: u32 = 0;
  // The eight values loaded end at column 2·ox + 7, inside the row while
  // 2·ox + 8 <= width.
  for (; ox * 2 + 8 <= width; ox += 4) {
    const o = (ox as usize) << 3;
    const a0 = v128.load(row0 + o);
    const a1 = v128.load(row0 + o, 16);
    const b0 = v128.load(row1 + o);
    const b1 = v128.load(row1 + o, 16);
    let best = f32x4.shuffle(a0, a1, 0, 2, 4, 6);
    let where = left;
    let v = f32x4.shuffle(a0, a1, 1, 3, 5, 7);
    let m = f32x4.gt(v, best);
    best = v128.bitselect(v, best, m);
    where = v128.bitselect(i32x4.add(left, one), where, m);
    v = f32x4.shuffle(b0, b1, 0, 2, 4, 6);
    m = f32x4.gt(v, best);
    best = v128.bitselect(v, best, m);
    where = v128.bitselect(i32x4.add(left, down), where, m);
    v = f32x4.shuffle(b0, b1, 1, 3, 5, 7);
    m = f32x4.gt(v, best);
    best = v128.bitselect(v, best, m);
    where = v128.bitselect(i32x4.add(i32x4.add(left, down), one), where, m);
    v128.store(y + ((ox as usize) << 2), best);
    v128.store(argmax + ((ox as usize) << 2), where);
    left = i32x4.add(left, step);
  }
  for (; ox < ow; ox++) {
    const at = (ox as usize) << 2;
    poolWindow(
      src,
      y + at,
      argmax + at,
      width,
      top / width,
      top / width + 2,
      2 * ox,
      2 * ox + 2,
    );
  }
}

/**
 * `maxpool_backward`: `dx[p, i] = Σ dy[p, w]` over the windows `w` whose
 * `argmax` is `i`, overwriting `dx` (summed in window order, float32).
 *
 * @param dy Byte offset of `planes · outH · outW` float32 gradients, 4-byte
 *   aligned.
 * @param argmax Byte offset of as many uint32 indices (as
 *   {@link maxpool_forward} writes), 4-byte aligned; indices outside the
 *   plane are skipped.
 * @param dx Byte offset of `planes · height · width` float32 outputs, 4-byte
 *   aligned; must not overlap the others.
 * @param planes Images (an integer below 2^53, as are all sizes here).
 * @param height Rows per image.
 * @param width Columns per image.
 * @param kernel Window side (>= 1).
 * @param stride Step between windows (>= 1).
 * @param padding Cells around the image on every side.
 */
export function maxpool_backward(
  dy: usize,
  argmax: usize,
  dx: usize,
  planes: f64,
  height: f64,
  width: f64,
  kernel: f64,
  stride: f64,
  padding: f64,
): void {
  const plane = height * width;
  zeroRun(dx, (planes * plane) as usize);
  const outPlane = outputSize(height, kernel, stride, padding) *
    outputSize(width, kernel, stride, padding);
  // With dx or dy empty no gradient lands anywhere.
  if (planes * plane * outPlane == 0) return;
  const np = planes as u32;
  const n = outPlane as u32;
  const cells = plane as u32;
  let g = dy;
  let a = argmax;
  for (let p: u32 = 0; p < np; p++) {
    const base = dx + (p as usize) * ((cells as usize) << 2);
    for (let w: u32 = 0; w < n; w++, g += 4, a += 4) {
      const i = load<u32>(a);
      if (i < cells) {
        const d = base + ((i as usize) << 2);
        store<f32>(d, load<f32>(d) + load<f32>(g));
      }
    }
  }
}

/**
 * `row_mean`: `y[r] = Σ_c x[r · cols + c] / cols` (a float64 sum, float32
 * within blocks of 64 values), 0 when `cols` is 0.
 *
 * @param x Byte offset of `rows · cols` float32 values, 4-byte aligned.
 * @param y Byte offset of `rows` float32 outputs, 4-byte aligned; must not
 *   overlap `x`.
 * @param rows Number of rows.
 * @param cols Values per row.
 */
export function row_mean(x: usize, y: usize, rows: u32, cols: u32): void {
  const row = (cols as usize) << 2;
  for (let r: u32 = 0; r < rows; r++) {
    const mean = cols == 0
      ? 0
      : sumRun(x + (r as usize) * row, cols) / (cols as f64);
    store<f32>(y + ((r as usize) << 2), mean as f32);
  }
}

/**
 * `row_broadcast`: `dx[r · cols + c] = alpha · dy[r]`, the product rounded
 * once from float64.
 *
 * @param dy Byte offset of `rows` float32 values, 4-byte aligned.
 * @param dx Byte offset of `rows · cols` float32 outputs, 4-byte aligned;
 *   must not overlap `dy`.
 * @param rows Number of rows.
 * @param cols Values per row.
 * @param alpha The factor.
 */
export function row_broadcast(
  dy: usize,
  dx: usize,
  rows: u32,
  cols: u32,
  alpha: f64,
): void {
  const row = (cols as usize) << 2;
  for (let r: u32 = 0; r < rows; r++) {
    const v = alpha * (load<f32>(dy + ((r as usize) << 2)) as f64);
    fillRun(dx + (r as usize) * row, cols, v as f32);
  }
}
