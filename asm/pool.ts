import { outputSize } from "./geometry";
import { fillRun, zeroRun } from "./runs";

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
  // Window bounds in i64: exact for every size below 2^53, and a window with
  // a cell in the image has small ones.
  const h = height as i64;
  const w = width as i64;
  const k = kernel as i64;
  const s = stride as i64;
  const pad = padding as i64;
  // Outputs `[inside, beyond)` have every window column in the image; four of
  // them at a time take the vector path.
  const inside = min<i64>((pad + s - 1) / s, ow as i64);
  const fit = w - k + pad;
  const beyond = max<i64>(fit < 0 ? 0 : min<i64>(fit / s + 1, ow), inside);
  const inner = (beyond - inside) as u32;
  let at: usize = 0;
  for (let p: u32 = 0; p < np; p++) {
    const src = x + (p as usize) * (plane << 2);
    for (let oy: u32 = 0; oy < oh; oy++, at += (ow as usize) << 2) {
      const top = (oy as i64) * s - pad;
      const r0 = max<i64>(top, 0);
      const r1 = min<i64>(top + k, h);
      if (r0 >= r1) {
        // The window rows lie in the padding: the whole output row is empty.
        fillRun(y + at, ow, -Infinity);
        zeroRun(argmax + at, ow);
        continue;
      }
      const rows = (r1 - r0) as u32;
      const start = src + (((r0 * w) as usize) << 2);
      let ox: u32 = 0;
      if (inner >= 4) {
        for (; (ox as i64) < inside; ox++) {
          poolClipped(src, y + at, argmax + at, ox, r0, r1, w, k, s, pad);
        }
        const last = (beyond as u32) - 4;
        const lanes = i32x4(0, 1, 2, 3);
        for (;; ox = min(ox + 4, last)) {
          const left = ((ox as i64) * s - pad) as u32;
          const o = (ox as usize) << 2;
          poolFour(
            start + ((left as usize) << 2),
            y + at + o,
            argmax + at + o,
            (r0 as u32) * (w as u32) + left,
            rows,
            w as u32,
            k as u32,
            s as u32,
            lanes,
          );
          if (ox == last) break;
        }
        ox = beyond as u32;
      }
      for (; ox < ow; ox++) {
        poolClipped(src, y + at, argmax + at, ox, r0, r1, w, k, s, pad);
      }
    }
  }
}

/**
 * Output `ox` of a row whose window rows `[r0, r1)` are in the image (plane
 * at `src`), its columns clipped to the image.
 */
function poolClipped(
  src: usize,
  y: usize,
  argmax: usize,
  ox: u32,
  r0: i64,
  r1: i64,
  w: i64,
  k: i64,
  s: i64,
  pad: i64,
): void {
  const left = (ox as i64) * s - pad;
  const c0 = max<i64>(left, 0);
  const c1 = min<i64>(left + k, w);
  const at = (ox as usize) << 2;
  if (c0 >= c1) {
    store<f32>(y + at, -Infinity);
    store<u32>(argmax + at, 0);
    return;
  }
  poolWindow(
    src,
    y + at,
    argmax + at,
    w as u32,
    r0 as u32,
    r1 as u32,
    c0 as u32,
    c1 as u32,
  );
}

/**
 * Four neighbouring windows wholly inside the image columns, one per lane:
 * window `j` covers `rows` rows and `k` columns from `base + j·s` (its first
 * cell), where `first` is the plane index of window 0's first cell. Cells go
 * in window order with a strict `>`, as in {@link poolWindow}.
 */
function poolFour(
  base: usize,
  y: usize,
  argmax: usize,
  first: u32,
  rows: u32,
  width: u32,
  k: u32,
  s: u32,
  lanes: v128,
): void {
  const spread = i32x4.mul(lanes, i32x4.splat(s));
  let where = i32x4.add(i32x4.splat(first), spread);
  let best = gatherFour(base, s);
  for (let r: u32 = 0; r < rows; r++) {
    const row = base + ((r * width) << 2);
    const index = i32x4.add(i32x4.splat(first + r * width), spread);
    for (let c: u32 = 0; c < k; c++) {
      const v = gatherFour(row + (c << 2), s);
      const m = f32x4.gt(v, best);
      best = v128.bitselect(v, best, m);
      where = v128.bitselect(i32x4.add(index, i32x4.splat(c)), where, m);
    }
  }
  v128.store(y, best);
  v128.store(argmax, where);
}

/** `p[0], p[s], p[2s], p[3s]` as float32 lanes. */
export function gatherFour(p: usize, s: u32): v128 {
  if (s == 1) return v128.load(p);
  const step = (s as usize) << 2;
  let v = v128.load32_zero(p);
  v = v128.load32_lane(p + step, v, 1);
  v = v128.load32_lane(p + 2 * step, v, 2);
  return v128.load32_lane(p + 3 * step, v, 3);
}

/**
 * One window's maximum over rows `[r0, r1)` and columns `[c0, c1)`
 * (non-empty), branch-free: the first cell starts, a strictly greater value
 * replaces.
 */
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
    const end = r * width + c1;
    for (let i = r * width + c0; i < end; i++) {
      const v = load<f32>(src + ((i as usize) << 2));
      const greater = v > best;
      best = select<f32>(v, best, greater);
      where = select<u32>(i, where, greater);
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
  const one = i32x4.splat(1);
  const down = i32x4.splat(width);
  const lanes = i32x4.add(i32x4.splat(top), i32x4(0, 2, 4, 6));
  // The eight values loaded for outputs `ox .. ox + 3` end at column
  // 2·ox + 7, inside the row while ox + 4 <= ow (ow = floor(width / 2)). A
  // ragged end redoes the last four outputs, overlapping earlier ones; rows
  // of fewer than four outputs go one window at a time.
  for (let ox: u32 = 0; ow >= 4; ox = min(ox + 4, ow - 4)) {
    const o = (ox as usize) << 3;
    const left = i32x4.add(lanes, i32x4.splat(ox * 2));
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
    if (ox + 4 == ow) return;
  }
  for (let ox: u32 = 0; ox < ow; ox++) {
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
