/**
 * The statistics of the report: means, standard deviations and 95% intervals
 * of accuracies and their paired differences.
 *
 * @module
 */

/** Two-sided 95% quantiles of Student's t by degrees of freedom. */
const T95 = [
  NaN,
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
];

/** The 95% confidence interval of the mean of `v`. */
export function confidence(v: number[]): [number, number] {
  const t = T95[v.length - 1] ?? 1.96;
  const half = (t * std(v)) / Math.sqrt(v.length);
  return [mean(v) - half, mean(v) + half];
}

/** `mean ± std [low, high]` of differences, in percentage points. */
export function interval(v: number[]): string {
  const [low, high] = confidence(v);
  const p = (x: number) => (100 * x).toFixed(2);
  return `${p(mean(v))} ± ${p(std(v))} [${p(low)}, ${p(high)}]`;
}

/** The mean of `v`; NaN when empty. */
export function mean(v: number[]): number {
  return v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length;
}

/** The sample standard deviation of `v`; NaN below two values. */
export function std(v: number[]): number {
  if (v.length < 2) return NaN;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

/** `v` as a percentage with two decimals. */
export function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

/**
 * `mean ± std%` of accuracies, the one value of a single run (no spread to
 * show), `—` when there are none.
 *
 * @example
 * ```ts
 * import { meanStd } from "./_stats.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(meanStd([0.9, 0.92]), "91.00 ± 1.41%");
 * equal(meanStd([0.9396]), "93.96%");
 * equal(meanStd([]), "—");
 * ```
 */
export function meanStd(v: number[]): string {
  if (v.length === 0) return "—";
  if (v.length === 1) return pct(v[0]);
  return `${(100 * mean(v)).toFixed(2)} ± ${(100 * std(v)).toFixed(2)}%`;
}

/**
 * What the paired differences (Jumpout − dropout) say, by their 95%
 * interval: `beat dropout`, `did worse than dropout`, or that the interval
 * includes 0; then the interval.
 *
 * @param diff Jumpout's accuracy minus dropout's, per seed.
 * @returns E.g. `beat dropout: 0.22 ± 0.03 [0.14, 0.29] points`.
 */
export function verdictOf(diff: number[]): string {
  const [low, high] = confidence(diff);
  const said = low > 0
    ? "beat dropout"
    : high < 0
    ? "did worse than dropout"
    : "did not beat dropout by more than the seeds' spread (the 95% interval includes 0)";
  return `${said}: ${interval(diff)} points`;
}
