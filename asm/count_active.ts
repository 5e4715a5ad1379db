/**
 * `count_active`: `counts[r] = #{ c : x[r * cols + c] > 0 }` for every row
 * `r < rows`; NaN is not active.
 *
 * @param x Byte offset of `rows * cols` float32 values, 4-byte aligned
 *   (16-byte aligned rows load fastest).
 * @param counts Byte offset of `rows` uint32 values, 4-byte aligned, fully
 *   overwritten; must not overlap `x`.
 * @param rows Number of rows; `rows * cols` must be below 2^32.
 * @param cols Elements per row.
 */
export function count_active(
  x: usize,
  counts: usize,
  rows: u32,
  cols: u32,
): void {
  let p = x;
  for (let r: u32 = 0; r < rows; r++) {
    store<u32>(counts + ((r as usize) << 2), countRow(p, cols));
    p += (cols as usize) << 2;
  }
}

/** How many of the `n` float32 values at `p` are > 0. */
function countRow(p: usize, n: u32): u32 {
  const zero = f32x4.splat(0);
  // A `>` compare gives -1 in each true lane; subtracting it counts up. Four
  // accumulators keep four compares in flight.
  let a0 = i32x4.splat(0);
  let a1 = i32x4.splat(0);
  let a2 = i32x4.splat(0);
  let a3 = i32x4.splat(0);
  let i: u32 = 0;
  for (const n16 = n & ~15; i < n16; i += 16) {
    const q = p + ((i as usize) << 2);
    a0 = i32x4.sub(a0, f32x4.gt(v128.load(q, 0), zero));
    a1 = i32x4.sub(a1, f32x4.gt(v128.load(q, 16), zero));
    a2 = i32x4.sub(a2, f32x4.gt(v128.load(q, 32), zero));
    a3 = i32x4.sub(a3, f32x4.gt(v128.load(q, 48), zero));
  }
  for (const n4 = n & ~3; i < n4; i += 4) {
    a0 = i32x4.sub(a0, f32x4.gt(v128.load(p + ((i as usize) << 2)), zero));
  }
  const s = i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3));
  let c = (i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) +
    i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3)) as u32;
  for (; i < n; i++) c += (load<f32>(p + ((i as usize) << 2)) > 0) as u32;
  return c;
}
