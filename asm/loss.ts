/**
 * `softmax_cross_entropy`: per row `r` of `logits` (`rows × cols`):
 * `loss_r = log Σ_j exp(x_j - max) + max - x[label]` and
 * `dlogits[r, j] = (softmax_j - [j = label]) / rows`; then
 * `result[0] = Σ_r loss_r / rows` and `result[1]` = the rows whose first
 * maximum (a strict `>` scan from column 0) is their label; `rows = 0` gives
 * `[0, 0]`. Exponentials, logarithms and sums are float64; each
 * `exp(x_j - max)` is parked in `dlogits` as float32 between passes, except
 * the label's, recomputed in float64 so that `softmax - 1` keeps its digits.
 * A label `>= cols` names no class: the row's loss is NaN, it is not counted
 * as correct and its `dlogits` are `softmax_j / rows`; nothing outside the
 * row is read or written.
 *
 * @param logits Byte offset of `rows · cols` float32 values, 4-byte aligned.
 * @param labels Byte offset of `rows` uint32 labels, 4-byte aligned.
 * @param dlogits Byte offset of `rows · cols` float32 outputs, 4-byte
 *   aligned; must not overlap `logits`.
 * @param result Byte offset of 2 float32 outputs, 4-byte aligned.
 * @param rows Number of rows.
 * @param cols Classes per row (>= 1 when `rows` > 0).
 */
export function softmax_cross_entropy(
  logits: usize,
  labels: usize,
  dlogits: usize,
  result: usize,
  rows: u32,
  cols: u32,
): void {
  let total: f64 = 0;
  let correct: u32 = 0;
  const row = (cols as usize) << 2;
  const perRow = 1 / (rows as f64);
  for (let r: u32 = 0; r < rows; r++) {
    const x = logits + (r as usize) * row;
    const d = dlogits + (r as usize) * row;
    const label = load<u32>(labels + ((r as usize) << 2));
    let best = load<f32>(x);
    let first: u32 = 0;
    for (let j: u32 = 1; j < cols; j++) {
      const v = load<f32>(x + ((j as usize) << 2));
      if (v > best) {
        best = v;
        first = j;
      }
    }
    const top = best as f64;
    let sum: f64 = 0;
    for (let j: u32 = 0; j < cols; j++) {
      const at = (j as usize) << 2;
      const e = Math.exp((load<f32>(x + at) as f64) - top);
      sum += e;
      store<f32>(d + at, e as f32);
    }
    const scale = perRow / sum;
    for (let j: u32 = 0; j < cols; j++) {
      const at = (j as usize) << 2;
      store<f32>(d + at, ((load<f32>(d + at) as f64) * scale) as f32);
    }
    // Past the row, `label << 2` would reach other tensors' bytes.
    if (label >= cols) {
      total = NaN;
      continue;
    }
    const target = load<f32>(x + ((label as usize) << 2)) as f64;
    total += Math.log(sum) + top - target;
    if (first == label) correct++;
    const p = Math.exp(target - top) / sum;
    store<f32>(d + ((label as usize) << 2), ((p - 1) * perRow) as f32);
  }
  store<f32>(result, rows == 0 ? 0 : (total / (rows as f64)) as f32);
  store<f32>(result, correct as f32, 4);
}
