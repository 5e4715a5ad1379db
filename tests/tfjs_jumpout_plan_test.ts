/**
 * The host's side of the TensorFlow.js layer (`src/tfjs/_jumpout_plan.ts`):
 * the per-element thresholds that GPU backends compare their counts of
 * active inputs with keep exactly the units the library's rule keeps, where
 * it matters most: at rates whose p·cols / count lands on an element's
 * hash bits.
 */
import { equal } from "node:assert/strict";
import { RATE_ONE } from "../mod.ts";
import { maskBits } from "../src/backends/reference/jumpout.ts";
import { resolveJumpoutOptions } from "../src/layers/_jumpout_options.ts";
import { maskKey } from "../src/random.ts";
import {
  activeThresholds,
  drawRates,
  planJumpoutStep,
} from "../src/tfjs/_jumpout_plan.ts";

Deno.test("thresholds keep what the library keeps at the edges of p' = p·cols / count", () => {
  const cols = 16, step = 3;
  let edges = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const key = maskKey(seed, step);
    for (let i = 0; i < cols; i++) {
      // Element i is kept while ⌊p·cols / count⌋ <= m.
      const m = RATE_ONE - 1 - maskBits(i, key);
      for (const count of [1, 5, 16]) {
        const onEdge = Math.floor((m * count) / cols);
        for (let rate = onEdge - 1; rate <= onEdge + 2; rate++) {
          if (rate < 0 || rate >= RATE_ONE) continue;
          const options = resolveJumpoutOptions({
            monotone: false,
            rate: rate / RATE_ONE,
            pMax: 0.999,
            seed,
          }, "Jumpout");
          const rates = drawRates(options, step, 1);
          equal(rates[0], rate);
          const t = activeThresholds(options, step, 1, cols, rates)[i];
          for (let c = count - 1; c <= Math.min(count + 1, cols); c++) {
            const { mask } = planJumpoutStep(options, step, 1, cols, [c]);
            const kept = c === 0 || c >= t;
            equal(
              kept,
              mask[i] === 1,
              `seed ${seed}, unit ${i}, rate ${rate}, count ${c}: threshold ${t}`,
            );
            if (
              mask[i] !==
                planJumpoutStep(options, step, 1, cols, [c + 1]).mask[i]
            ) edges++;
          }
        }
      }
    }
  }
  // The rates were chosen so that many decisions flip with the count.
  equal(edges > 100, true, `${edges} decisions on an edge`);
});
