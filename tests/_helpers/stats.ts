/** Small statistics helpers for the tests. */

/** The error function, Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7). */
export function erf(x: number): number {
  const sign = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t *
    (0.254829592 +
      t *
        (-0.284496736 +
          t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-a * a));
}

/**
 * Kolmogorov–Smirnov distance between a sample and a CDF, over the points
 * where the CDF is continuous (below `atom`, where the truncated law has its
 * point mass).
 */
export function ksDistance(
  sample: number[],
  cdf: (x: number) => number,
  atom = Infinity,
): number {
  const xs = [...sample].sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  for (let i = 0; i < n && xs[i] < atom; i++) {
    const f = cdf(xs[i]);
    d = Math.max(d, Math.abs((i + 1) / n - f), Math.abs(i / n - f));
  }
  return d;
}

/** Mean and variance of an array of numbers (float64). */
export function moments(
  values: ArrayLike<number>,
): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = s / values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i] - mean) ** 2;
  return { mean, variance: v / values.length };
}
