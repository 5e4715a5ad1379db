/**
 * Tuning grids that grow past an edge holding the best value, up to their
 * limits, and stop at the first unknown score.
 */
import { deepEqual, equal } from "node:assert/strict";
import { rateGrid, sigmaGrid, tune } from "../cli/_tuning.ts";

/** Scores that peak at `peak` (on a log scale) and fall away from it. */
const peakAt = (peak: number) => (v: number) =>
  Promise.resolve(-Math.abs(Math.log(v / peak)));

Deno.test("a best value inside the grid tries nothing more", async () => {
  const t = await tune(rateGrid([0.1, 0.2, 0.3]), peakAt(0.2));
  deepEqual(t?.tried.map((x) => x.value), [0.1, 0.2, 0.3]);
  equal(t?.best, 0.2);
  equal(t?.atEdge, false);
});

Deno.test("a best value at the top edge extends the grid upward, in tidy steps", async () => {
  const t = await tune(rateGrid([0.1, 0.2, 0.3]), peakAt(0.42));
  deepEqual(t?.tried.map((x) => x.value), [0.1, 0.2, 0.3, 0.4, 0.5]);
  equal(t?.best, 0.4);
  equal(t?.atEdge, false);
});

Deno.test("a grid stops at its limit and says the best is still at the edge", async () => {
  const rate = await tune(rateGrid([0.1, 0.2, 0.3]), peakAt(0.001));
  deepEqual(rate?.tried.map((x) => x.value), [
    0.003125,
    0.00625,
    0.0125,
    0.025,
    0.05,
    0.1,
    0.2,
    0.3,
  ]);
  equal(rate?.best, 0.003125);
  equal(rate?.atEdge, true);
  const sigma = await tune(sigmaGrid([0.05, 0.1, 0.2]), peakAt(5));
  deepEqual(sigma?.tried.map((x) => x.value), [0.05, 0.1, 0.2, 0.4, 0.8]);
  equal(sigma?.atEdge, true);
});

Deno.test("equal scores choose the smallest value; an unknown score ends the tuning", async () => {
  const flat = await tune(
    { values: [1, 2, 3], below: () => undefined, above: () => undefined },
    () => Promise.resolve(0.5),
  );
  equal(flat?.best, 1);
  const asked: number[] = [];
  const unknown = await tune(rateGrid([0.1, 0.2, 0.3]), (v) => {
    asked.push(v);
    return Promise.resolve(v === 0.2 ? undefined : 1);
  });
  equal(unknown, undefined);
  deepEqual(asked, [0.1, 0.2]);
});
