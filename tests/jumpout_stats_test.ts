/**
 * Statistical properties of the masks and rates, with fixed seeds and stated
 * tolerances (each bound is wide enough that a correct implementation fails
 * with probability below about 1e-4, and narrow enough to catch a wrong law).
 */
import { deepEqual, notDeepEqual, ok } from "node:assert/strict";
import { createBackend, Jumpout, RATE_ONE } from "../mod.ts";
import { pattern } from "./_helpers/backends.ts";
import { erf, ksDistance } from "./_helpers/stats.ts";

const backend = await createBackend("reference");

Deno.test("the drawn p follows the truncated half-normal (Kolmogorov–Smirnov)", () => {
  // sigma 0.3 puts about 5% of the mass at the pMax atom, so truncation is exercised.
  for (const scope of ["batch", "sample"] as const) {
    const sigma = 0.3, pMin = 0.01, pMax = 0.6;
    const layer = new Jumpout({ sigma, pMin, pMax, seed: 1234, scope });
    const x = backend.tensor(pattern(40), [4, 10]);
    const ps: number[] = [];
    for (let step = 0; step < 1500; step++) {
      layer.forward(x, { training: true });
      for (const s of layer.lastStats!) ps.push(s.p);
    }
    const cdf = (p: number) =>
      p < pMin ? 0 : erf((p - pMin) / (sigma * Math.SQRT2));
    const d = ksDistance(ps, cdf, pMax);
    // Critical value at alpha = 0.001 is 1.95 / sqrt(n).
    ok(
      d < 1.95 / Math.sqrt(ps.length),
      `${scope}: KS distance ${d} for n = ${ps.length}`,
    );
    // Rates are quantised to 2^-24, monotonically, so the bounds are too.
    const q = (p: number) => Math.round(p * RATE_ONE) / RATE_ONE;
    ok(ps.every((p) => p >= q(pMin) && p <= q(pMax)));
    // The atom at pMax: P(pMin + |z| >= pMax) with a binomial 5-sd bound.
    const tail = 1 - erf((pMax - pMin) / (sigma * Math.SQRT2));
    const atAtom = ps.filter((p) => p === q(pMax)).length;
    const sd = Math.sqrt(ps.length * tail * (1 - tail));
    ok(
      Math.abs(atAtom - ps.length * tail) < 5 * sd,
      `${atAtom} draws at pMax, expected ${ps.length * tail}`,
    );
  }
});

Deno.test("the share of dropped units matches p' within a binomial bound", () => {
  for (const scope of ["batch", "sample"] as const) {
    const rows = 8, cols = 2048;
    const data = pattern(rows * cols, 77);
    const x = backend.tensor(data, [rows, cols]);
    const ones = backend.tensor(new Float32Array(rows * cols).fill(1), [
      rows,
      cols,
    ]);
    const layer = new Jumpout({ sigma: 0.2, seed: 99, scope });
    let zSum = 0, units = 0;
    for (let step = 0; step < 50; step++) {
      layer.forward(x, { training: true });
      const kept = backend.readSync!(layer.backward(ones));
      const stats = layer.lastStats!;
      const perUnit = scope === "batch" ? rows * cols : cols;
      stats.forEach((s, u) => {
        let dropped = 0;
        for (let i = u * perUnit; i < (u + 1) * perUnit; i++) {
          if (kept[i] === 0) dropped++;
        }
        const sd = Math.sqrt(perUnit * s.rate * (1 - s.rate));
        const z = sd === 0 ? 0 : (dropped - perUnit * s.rate) / sd;
        ok(
          Math.abs(z) < 5,
          `${scope} step ${step} unit ${u}: ${dropped} dropped of ${perUnit}, p' = ${s.rate}`,
        );
        zSum += z;
        units++;
      });
    }
    // The standardised counts summed over all steps and units are N(0, units).
    ok(
      Math.abs(zSum / Math.sqrt(units)) < 4,
      `${scope}: aggregate z ${zSum / Math.sqrt(units)}`,
    );
  }
});

Deno.test("masks differ between steps and are independent of each other", () => {
  const n = 1 << 16;
  const x = backend.tensor(new Float32Array(n).fill(1), [n]);
  const ones = backend.tensor(new Float32Array(n).fill(1), [n]);
  const layer = new Jumpout({
    monotone: false,
    rate: 0.5,
    normalize: false,
    seed: 5,
  });
  const masks: Float32Array[] = [];
  for (let step = 0; step < 4; step++) {
    layer.forward(x, { training: true });
    masks.push(backend.readSync!(layer.backward(ones)));
  }
  for (let a = 0; a < 4; a++) {
    for (let b = a + 1; b < 4; b++) {
      notDeepEqual(masks[a], masks[b]);
      // Both dropped: Binomial(n, 1/4) if the masks are independent.
      let both = 0;
      for (let i = 0; i < n; i++) {
        if (masks[a][i] === 0 && masks[b][i] === 0) both++;
      }
      const sd = Math.sqrt(n * 0.25 * 0.75);
      ok(
        Math.abs(both - n / 4) < 5 * sd,
        `steps ${a}, ${b}: ${both} dropped in both`,
      );
    }
  }
});

Deno.test("the same seed gives the same sequence of rates and masks", () => {
  const x = backend.tensor(pattern(3000, 3), [30, 100]);
  const run = () => {
    const layer = new Jumpout({ seed: 2024, scope: "sample" });
    return Array.from({ length: 5 }, () => ({
      y: backend.readSync!(layer.forward(x, { training: true })),
      stats: layer.lastStats,
    }));
  };
  deepEqual(run(), run());
});
