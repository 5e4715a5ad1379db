import { outputSize } from "./geometry";
import { SCRATCH_BYTES, scratchStart } from "./memory";
import { gatherFour } from "./pool";
import { addRun, copyRun, fillRun, zeroRun } from "./runs";

// Average pooling is separable: the rows of a window are first added into one
// row of column sums in the scratch area (a vector add per row), then each
// window adds up its columns of that row. Rows too long for the scratch area
// take the same loops over every row of the window instead.

/** The longest row of sums the scratch area holds. */
const ROW_FLOATS: f64 = (SCRATCH_BYTES >> 2) as f64;

/**
 * `avgpool_forward`: average pooling of `planes` images of
 * `height × width`, `kernel × kernel` windows every `stride`, `padding` cells
 * of 0 around: `y[p, oy, ox] = (1 / kernel²) · Σ x` over the window's cells
 * in the image (float32 sums, times `1 / kernel²` rounded once from float64).
 * A window wholly in the padding gives 0. 2×2 windows at stride 2 without
 * padding take a four-outputs-per-step path; otherwise outputs whose window
 * columns are all in the image go four at a time.
 *
 * @param x Byte offset of `planes · height · width` float32 values, 4-byte
 *   aligned.
 * @param y Byte offset of `planes · outH · outW` float32 outputs, 4-byte
 *   aligned; must not overlap `x`. The scratch area below `heap_base` must
 *   exist, as it does once the host has allocated anything above it.
 * @param planes Images (an integer below 2^53, as are all sizes here).
 * @param height Rows per image.
 * @param width Columns per image.
 * @param kernel Window side (>= 1).
 * @param stride Step between windows (>= 1).
 * @param padding Cells of 0 around the image on every side.
 */
export function avgpool_forward(
  x: usize,
  y: usize,
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
  const inv = (1 / (kernel * kernel)) as f32;
  const np = planes as u32;
  const oh = outH as u32;
  const ow = outW as u32;
  const plane = (height * width) as usize;
  const outBytes = (ow as usize) << 2;
  let out = y;
  if (kernel == 2 && stride == 2 && padding == 0) {
    const w = width as usize;
    for (let p: u32 = 0; p < np; p++) {
      const src = x + (p as usize) * (plane << 2);
      for (let oy: u32 = 0; oy < oh; oy++, out += outBytes) {
        average2x2Row(src + (((2 * oy) as usize) * w << 2), w, out, ow);
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
  const summed = width <= ROW_FLOATS;
  const sums = scratchStart();
  const rowBytes = (width as usize) << 2;
  for (let p: u32 = 0; p < np; p++) {
    const src = x + (p as usize) * (plane << 2);
    for (let oy: u32 = 0; oy < oh; oy++, out += outBytes) {
      const top = (oy as i64) * s - pad;
      const r0 = max<i64>(top, 0);
      const r1 = min<i64>(top + k, h);
      if (r0 >= r1) {
        // The window rows lie in the padding: the whole output row is 0.
        zeroRun(out, ow);
        continue;
      }
      let row = src + (r0 as usize) * rowBytes;
      let rows = (r1 - r0) as u32;
      if (summed && rows > 1) {
        copyRun(sums, row, width as usize);
        for (let r: u32 = 1; r < rows; r++) {
          addRun(sums, row + (r as usize) * rowBytes, width as usize);
        }
        row = sums;
        rows = 1;
      }
      averageRow(row, rowBytes, rows, out, ow, w, k, s, pad, inv);
    }
  }
}

/**
 * One output row: output `ox` is `inv` times the sum of `rows` rows (from
 * `row`, `rowBytes` apart) over the window's columns in `[0, w)`. The outputs
 * `[inside, beyond)`, whose window columns all lie in the image, go four at
 * a time, one per lane; a ragged end redoes the last four.
 */
function averageRow(
  row: usize,
  rowBytes: usize,
  rows: u32,
  y: usize,
  ow: u32,
  w: i64,
  k: i64,
  s: i64,
  pad: i64,
  inv: f32,
): void {
  const inside = min<i64>((pad + s - 1) / s, ow as i64);
  const fit = w - k + pad;
  const beyond = max<i64>(fit < 0 ? 0 : min<i64>(fit / s + 1, ow), inside);
  let ox: u32 = 0;
  if (beyond - inside >= 4) {
    for (; (ox as i64) < inside; ox++) {
      averageClipped(row, rowBytes, rows, y, ox, w, k, s, pad, inv);
    }
    // Four windows in the image: k and s are below the row's length.
    const kk = k as u32;
    const step = s as u32;
    const scale = f32x4.splat(inv);
    const last = (beyond as u32) - 4;
    for (;; ox = min(ox + 4, last)) {
      const left = row + ((((ox as i64) * s - pad) as usize) << 2);
      let sum = f32x4.splat(0);
      for (let r: u32 = 0; r < rows; r++) {
        const first = left + (r as usize) * rowBytes;
        for (let c: u32 = 0; c < kk; c++) {
          sum = f32x4.add(sum, gatherFour(first + ((c as usize) << 2), step));
        }
      }
      v128.store(y + ((ox as usize) << 2), f32x4.mul(sum, scale));
      if (ox == last) break;
    }
    ox = beyond as u32;
  }
  for (; ox < ow; ox++) {
    averageClipped(row, rowBytes, rows, y, ox, w, k, s, pad, inv);
  }
}

/** Output `ox` of {@link averageRow}, its columns clipped to the image. */
function averageClipped(
  row: usize,
  rowBytes: usize,
  rows: u32,
  y: usize,
  ox: u32,
  w: i64,
  k: i64,
  s: i64,
  pad: i64,
  inv: f32,
): void {
  const left = (ox as i64) * s - pad;
  // Clamped to [0, w) before narrowing: a window past the image may start
  // beyond 2^32.
  const c0 = min<i64>(max<i64>(left, 0), w) as usize;
  const c1 = max<i64>(min<i64>(left + k, w), 0) as usize;
  let sum: f32 = 0;
  for (let r: u32 = 0; r < rows; r++) {
    const at = row + (r as usize) * rowBytes;
    for (let c = c0; c < c1; c++) sum += load<f32>(at + (c << 2));
  }
  store<f32>(y + ((ox as usize) << 2), sum * inv);
}

/**
 * One output row of 2×2, stride-2 average pooling from the input rows at
 * `row0` and the next: four outputs per step from eight loaded values per
 * row, their even and odd columns the windows' left and right cells.
 */
function average2x2Row(row0: usize, width: usize, y: usize, ow: u32): void {
  const row1 = row0 + (width << 2);
  const quarter = f32x4.splat(0.25);
  let ox: u32 = 0;
  // The eight values of outputs `ox .. ox + 3` end at column 2·ox + 7, inside
  // the row while ox + 4 <= ow (ow = floor(width / 2)).
  for (; ox + 4 <= ow; ox += 4) {
    const o = (ox as usize) << 3;
    const a = f32x4.add(v128.load(row0 + o), v128.load(row1 + o));
    const b = f32x4.add(v128.load(row0 + o, 16), v128.load(row1 + o, 16));
    const sum = f32x4.add(
      f32x4.shuffle(a, b, 0, 2, 4, 6),
      f32x4.shuffle(a, b, 1, 3, 5, 7),
    );
    v128.store(y + ((ox as usize) << 2), f32x4.mul(sum, quarter));
  }
  for (; ox < ow; ox++) {
    const o = (ox as usize) << 3;
    const a = load<f32>(row0 + o) + load<f32>(row1 + o);
    const b = load<f32>(row0 + o, 4) + load<f32>(row1 + o, 4);
    store<f32>(y + ((ox as usize) << 2), (a + b) * 0.25);
  }
}

/**
 * `avgpool_backward`: `dx[p, i] = (1 / kernel²) · Σ dy[p, w]` over the
 * windows `w` that contain cell `i`, overwriting `dx`: a gather per cell
 * (float32 sums, times `1 / kernel²` rounded once from float64). A cell's
 * windows span a range of output rows and one of output columns: the rows are
 * first added into one row of sums, then each cell adds its columns (at
 * stride 1 four cells at a time, as the forward's windows; otherwise one sum
 * per stretch of cells with the same windows). 2×2 windows at stride 2
 * without padding copy each gradient, scaled, to its four cells, eight cells
 * per step.
 *
 * @param dy Byte offset of `planes · outH · outW` float32 gradients, 4-byte
 *   aligned.
 * @param dx Byte offset of `planes · height · width` float32 outputs, 4-byte
 *   aligned; must not overlap `dy`. The scratch area below `heap_base` must
 *   exist, as it does once the host has allocated anything above it.
 * @param planes Images (an integer below 2^53, as are all sizes here).
 * @param height Rows per image.
 * @param width Columns per image.
 * @param kernel Window side (>= 1).
 * @param stride Step between windows (>= 1).
 * @param padding Cells around the image on every side.
 */
export function avgpool_backward(
  dy: usize,
  dx: usize,
  planes: f64,
  height: f64,
  width: f64,
  kernel: f64,
  stride: f64,
  padding: f64,
): void {
  const plane = height * width;
  const outH = outputSize(height, kernel, stride, padding);
  const outW = outputSize(width, kernel, stride, padding);
  // With dx or dy empty no gradient lands anywhere.
  if (planes * plane * outH * outW == 0) {
    zeroRun(dx, (planes * plane) as usize);
    return;
  }
  const inv = (1 / (kernel * kernel)) as f32;
  const np = planes as u32;
  const oh = outH as u32;
  const ow = outW as u32;
  const hh = height as u32;
  const ww = width as u32;
  const rowBytes = (ww as usize) << 2;
  const outBytes = (ow as usize) << 2;
  let out = dx;
  if (kernel == 2 && stride == 2 && padding == 0) {
    for (let p: u32 = 0; p < np; p++) {
      const grads = dy + (p as usize) * (oh as usize) * outBytes;
      for (let iy: u32 = 0; iy < hh; iy++, out += rowBytes) {
        if (iy < 2 * oh) {
          spread2x2Row(grads + ((iy >> 1) as usize) * outBytes, out, ww, ow);
        } else {
          zeroRun(out, ww);
        }
      }
    }
    return;
  }
  const k = kernel as i64;
  const s = stride as i64;
  const pad = padding as i64;
  const summed = outW <= ROW_FLOATS;
  const sums = scratchStart();
  for (let p: u32 = 0; p < np; p++) {
    const grads = dy + (p as usize) * (oh as usize) * outBytes;
    for (let iy: u32 = 0; iy < hh; iy++, out += rowBytes) {
      const reach = (iy as i64) + pad;
      const o0 = reach >= k ? (reach - k) / s + 1 : 0;
      const o1 = min<i64>(reach / s + 1, oh as i64);
      if (o0 >= o1) {
        // No window covers this row.
        zeroRun(out, ww);
        continue;
      }
      let row = grads + (o0 as usize) * outBytes;
      let rows = (o1 - o0) as u32;
      if (summed && rows > 1) {
        copyRun(sums, row, ow);
        for (let r: u32 = 1; r < rows; r++) {
          addRun(sums, row + (r as usize) * outBytes, ow);
        }
        row = sums;
        rows = 1;
      }
      if (s == 1 && pad < k) {
        // At stride 1 a cell's windows are the k outputs ending at
        // ix + pad: a forward pooling of the row of gradients, padded by
        // k - 1 - pad.
        const before = k - 1 - pad;
        averageRow(row, outBytes, rows, out, ww, ow, k, 1, before, inv);
      } else {
        gatherRow(row, outBytes, rows, out, ww, ow as i64, k, s, pad, inv);
      }
    }
  }
}

/**
 * One row of `dx`: cell `ix` is `inv` times the sum of `rows` rows of
 * gradients (from `row`, `rowBytes` apart) over the windows `[c0, c1)` that
 * contain it. The cells go in stretches that share their windows, up to where
 * the next window starts or the first one ends: one sum per stretch.
 */
function gatherRow(
  row: usize,
  rowBytes: usize,
  rows: u32,
  dx: usize,
  width: u32,
  ow: i64,
  k: i64,
  s: i64,
  pad: i64,
  inv: f32,
): void {
  // The windows that start, and those that end, at or before cell 0, and
  // where the next of each starts and ends.
  let c1 = min<i64>(pad / s + 1, ow);
  let c0 = min<i64>(pad >= k ? (pad - k) / s + 1 : 0, c1);
  let start = c1 * s - pad;
  let end = c0 * s - pad + k;
  const w = width as i64;
  for (let at: i64 = 0; at < w;) {
    let next = w;
    if (c1 < ow) next = min<i64>(next, start);
    if (c0 < c1) next = min<i64>(next, end);
    let sum: f32 = 0;
    for (let r: u32 = 0; r < rows; r++) {
      const first = row + (r as usize) * rowBytes;
      for (let c = c0 as usize; c < (c1 as usize); c++) {
        sum += load<f32>(first + (c << 2));
      }
    }
    const cells = (next - at) as usize;
    const to = dx + ((at as usize) << 2);
    if (cells == 1) store<f32>(to, sum * inv);
    else fillRun(to, cells, sum * inv);
    at = next;
    for (; c1 < ow && start <= at; start += s) c1++;
    for (; c0 < c1 && end <= at; end += s) c0++;
  }
}

/**
 * One row of `dx` under 2×2, stride-2 windows: cells `2·ox` and `2·ox + 1`
 * get `dy[ox] / 4`, four gradients (eight cells) per step; a last column of
 * an odd width is in no window.
 */
function spread2x2Row(grads: usize, dx: usize, width: u32, ow: u32): void {
  const quarter = f32x4.splat(0.25);
  let ox: u32 = 0;
  for (; ox + 4 <= ow; ox += 4) {
    const v = f32x4.mul(v128.load(grads + ((ox as usize) << 2)), quarter);
    const at = dx + ((ox as usize) << 3);
    v128.store(at, f32x4.shuffle(v, v, 0, 0, 1, 1));
    v128.store(at, f32x4.shuffle(v, v, 2, 2, 3, 3), 16);
  }
  for (; ox < ow; ox++) {
    const v = load<f32>(grads + ((ox as usize) << 2)) * 0.25;
    const at = dx + ((ox as usize) << 3);
    store<f32>(at, v);
    store<f32>(at, v, 4);
  }
  if (width > 2 * ow) store<f32>(dx + (((width - 1) as usize) << 2), 0);
}
