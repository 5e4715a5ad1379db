/**
 * Section 3.3 of the paper: with dropout rate p and kept units scaled by
 * s = (1 - p)^-power, a ReLU unit x feeding a weight w gives y = w·x with
 *   E[y]   = s (1 - p) E[wx]                      = (1 - p)^(1 - power) E[wx]
 *   Var[y] = s² (1 - p) E[(wx)²] - (s (1 - p) E[wx])²   (equation 4, rescaled).
 * The measured ratios to the no-dropout values must follow these formulas.
 */
import { ok } from "node:assert/strict";
import { createBackend, Jumpout } from "../mod.ts";
import { moments } from "./_helpers/stats.ts";

const backend = await createBackend("reference");
const N = 1 << 20;

/** ReLU of standard normal draws, and weights N(0.5, 1), from a fixed LCG. */
function inputs(): { x: Float32Array; w: Float64Array } {
  const x = new Float32Array(N), w = new Float64Array(N);
  let s = 12345;
  const u = () =>
    ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  for (let i = 0; i < N; i++) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const t = 2 * Math.PI * u();
    x[i] = Math.max(0, r * Math.cos(t));
    w[i] = 0.5 + r * Math.sin(t);
  }
  return { x, w };
}

Deno.test("E[y] and Var[y] ratios follow (1 - p)^(1 - power) and equation 4", () => {
  const { x, w } = inputs();
  const clean = Float64Array.from(x, (v, i) => v * w[i]);
  const base = moments(clean);
  const second = base.variance + base.mean ** 2;
  const xt = backend.tensor(x, [N]);
  for (const p of [0.1, 0.2, 0.4]) {
    for (const power of [1, 0.5, 0.75]) {
      const layer = new Jumpout({
        monotone: false,
        normalize: false,
        rate: p,
        rescalePower: power,
        seed: 3,
      });
      const dropped = backend.readSync!(layer.forward(xt, { training: true }));
      const m = moments(Float64Array.from(dropped, (v, i) => v * w[i]));
      const s = (1 - p) ** -power;
      const meanRatio = (1 - p) ** (1 - power);
      const varRatio =
        (s * s * (1 - p) * second - (s * (1 - p) * base.mean) ** 2) /
        base.variance;
      // Standard errors at N = 2^20 are about 0.2% (mean) and 0.4% (variance); allow ~5 of them.
      const label = `p ${p}, power ${power}`;
      ok(
        Math.abs(m.mean / base.mean / meanRatio - 1) < 0.012,
        `${label}: mean ratio ${m.mean / base.mean}, expected ${meanRatio}`,
      );
      ok(
        Math.abs(m.variance / base.variance / varRatio - 1) < 0.02,
        `${label}: variance ratio ${
          m.variance / base.variance
        }, expected ${varRatio}`,
      );
    }
  }
});

Deno.test("power 1 keeps the mean, and 0.75 sits between 1 and 0.5 for the variance", () => {
  const { x, w } = inputs();
  const base = moments(Float64Array.from(x, (v, i) => v * w[i]));
  const xt = backend.tensor(x, [N]);
  const ratios = [1, 0.75, 0.5].map((power) => {
    const layer = new Jumpout({
      monotone: false,
      normalize: false,
      rate: 0.2,
      rescalePower: power,
      seed: 8,
    });
    const y = backend.readSync!(layer.forward(xt, { training: true }));
    const m = moments(Float64Array.from(y, (v, i) => v * w[i]));
    return { mean: m.mean / base.mean, variance: m.variance / base.variance };
  });
  ok(Math.abs(ratios[0].mean - 1) < 0.012);
  ok(
    ratios[0].variance > ratios[1].variance &&
      ratios[1].variance > ratios[2].variance,
  );
  ok(ratios[0].mean > ratios[1].mean && ratios[1].mean > ratios[2].mean);
});
