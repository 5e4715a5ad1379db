// Window geometry shared by the convolution and pooling kernels. Their sizes
// arrive as float64 so that every integer the host accepts (below 2^53) is
// exact; the helpers below turn them into small 32-bit loop bounds.

/** `floor((size + 2·padding - kernel) / stride) + 1`, or 0 when it does not fit. */
export function outputSize(
  size: f64,
  kernel: f64,
  stride: f64,
  padding: f64,
): f64 {
  const span = size + 2 * padding - kernel;
  return span < 0 ? 0 : Math.floor(span / stride) + 1;
}

/** First output of the last {@link axisRange} whose input is in bounds. */
export let rangeFirst: i32 = 0;
/** One past the last output of the last {@link axisRange} in bounds. */
export let rangeEnd: i32 = 0;
/** Input position of output `rangeFirst` (0 when the range is empty). */
export let rangeStart: i32 = 0;

/**
 * Along one axis, the outputs `o < out` whose input `o·stride - padding + k`
 * lies in `[0, size)`: they form the range `[rangeFirst, rangeEnd)`, and
 * `rangeStart` is the input of the first. All in float64, exact for integers
 * below 2^53 (a quotient of such integers never rounds across an integer).
 */
export function axisRange(
  size: f64,
  out: f64,
  k: f64,
  stride: f64,
  padding: f64,
): void {
  const first = padding > k ? Math.ceil((padding - k) / stride) : 0;
  const last = size - 1 + padding - k;
  const end = last < 0 ? 0 : Math.floor(last / stride) + 1;
  const lo = min(first, out);
  const hi = max(min(end, out), lo);
  rangeFirst = lo as i32;
  rangeEnd = hi as i32;
  rangeStart = lo < hi ? (lo * stride - padding + k) as i32 : 0;
}
