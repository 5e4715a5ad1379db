/**
 * Tuning one value on a grid that grows past its edge: when the best value
 * is the grid's smallest or largest, the next value beyond it is tried too,
 * until the best sits inside the grid or the grid's limit is reached.
 *
 * @module
 */

/** A grid of candidate values and how it extends. */
export interface Grid {
  /** The first values tried, ascending. */
  values: readonly number[];
  /** The next value below `v`, or undefined past the limit. */
  below(v: number): number | undefined;
  /** The next value above `v`, or undefined past the limit. */
  above(v: number): number | undefined;
}

/** A tuning's outcome. */
export interface Tuned {
  /** The value with the best score (the smallest of equal ones). */
  best: number;
  /** Every value tried with its score, ascending by value. */
  tried: { value: number; score: number }[];
  /** Whether the best is still at an edge (the grid hit its limit). */
  atEdge: boolean;
}

/** Rounds away binary noise: 0.1 + 0.2 gives 0.3. */
function tidy(v: number): number {
  return Number(v.toPrecision(6));
}

/**
 * A dropout rate's grid: 0.1, 0.2, 0.3; halved below (down to 0.003125, where
 * dropout drops one unit in 320: next to no dropout), plus 0.1 above (up to
 * 0.6, Jumpout's default pMax).
 *
 * @param values The first values.
 * @returns The grid.
 */
export function rateGrid(values: readonly number[]): Grid {
  return {
    values,
    below: (v) => (v / 2 >= 0.003125 ? tidy(v / 2) : undefined),
    above: (v) => (v + 0.1 <= 0.6 + 1e-9 ? tidy(v + 0.1) : undefined),
  };
}

/**
 * Jumpout's sigma grid: halved below (down to 0.0125), doubled above (up to 0.8).
 *
 * @param values The first values.
 * @returns The grid.
 */
export function sigmaGrid(values: readonly number[]): Grid {
  return {
    values,
    below: (v) => (v / 2 >= 0.003125 ? tidy(v / 2) : undefined),
    above: (v) => (v * 2 <= 0.8 ? tidy(v * 2) : undefined),
  };
}

/**
 * Scores the grid's values in order, then extends it at the edge the best
 * value sits on, one value at a time.
 *
 * @param grid The grid.
 * @param score A value's score (higher is better), or undefined when it is
 *   not known (a run not made yet).
 * @returns The outcome, or undefined as soon as a score is unknown.
 *
 * @example The best at the low edge pulls in smaller values
 * ```ts
 * import { sigmaGrid, tune } from "./_tuning.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const peak = 0.025; // scores fall away from it
 * const tuned = await tune(sigmaGrid([0.05, 0.1, 0.2]), (v) => Promise.resolve(-Math.abs(Math.log(v / peak))));
 * deepEqual(tuned?.best, 0.025);
 * deepEqual(tuned?.tried.map((t) => t.value), [0.0125, 0.025, 0.05, 0.1, 0.2]);
 * ```
 */
export async function tune(
  grid: Grid,
  score: (value: number) => Promise<number | undefined>,
): Promise<Tuned | undefined> {
  const tried: { value: number; score: number }[] = [];
  const add = async (value: number): Promise<boolean> => {
    const s = await score(value);
    if (s === undefined) return false;
    tried.push({ value, score: s });
    tried.sort((a, b) => a.value - b.value);
    return true;
  };
  for (const v of grid.values) {
    if (!(await add(v))) return undefined;
  }
  for (;;) {
    let at = 0;
    tried.forEach((t, i) => {
      if (t.score > tried[at].score) at = i;
    });
    const best = tried[at].value;
    const next = at === 0
      ? grid.below(best)
      : at === tried.length - 1
      ? grid.above(best)
      : undefined;
    const edge = at === 0 || at === tried.length - 1;
    if (next === undefined || tried.some((t) => t.value === next)) {
      return { best, tried, atEdge: edge && tried.length > 1 };
    }
    if (!(await add(next))) return undefined;
  }
}
