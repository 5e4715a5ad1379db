/**
 * Jumpout's statistics of the last step, one row per layer, as the page's
 * table shows them.
 *
 * @module
 */

import type { LayerJumpoutStats } from "../mod.ts";

/** One layer's line of the table. */
export interface JumpoutRow {
  /** The layer's index in the model. */
  layer: number;
  /** `Jumpout` or `Dropout`. */
  name: string;
  /** The drawn rate p, averaged over the layer's scope units. */
  p: number;
  /** q+, the share of active inputs, averaged likewise. */
  qPlus: number;
  /** p', the rate applied, averaged likewise. */
  rate: number;
}

/**
 * Averages each layer's statistics over its scope units (one unit with
 * one rate per batch, one per row with one rate per sample).
 *
 * @param layers What {@linkcode DataParallel.jumpoutStats} returned.
 * @returns One row per layer, in model order.
 *
 * @example One layer with two scope units
 * ```ts
 * import { jumpoutRows } from "./jumpout_rows.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const rows = jumpoutRows([{
 *   layer: 2,
 *   path: "2",
 *   name: "Jumpout",
 *   stats: [
 *     { p: 0.25, qPlus: 0.5, rate: 0.5, scale: 1.5 },
 *     { p: 0.125, qPlus: 0.5, rate: 0.25, scale: 1.25 },
 *   ],
 * }]);
 * deepEqual(rows, [{ layer: 2, name: "Jumpout", p: 0.1875, qPlus: 0.5, rate: 0.375 }]);
 * ```
 */
export function jumpoutRows(
  layers: readonly LayerJumpoutStats[],
): JumpoutRow[] {
  return layers.map(({ layer, name, stats }) => {
    const mean = (key: "p" | "qPlus" | "rate") =>
      stats.reduce((sum, s) => sum + s[key], 0) / stats.length;
    return {
      layer,
      name,
      p: mean("p"),
      qPlus: mean("qPlus"),
      rate: mean("rate"),
    };
  });
}
