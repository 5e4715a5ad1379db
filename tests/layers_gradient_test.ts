/**
 * Finite-difference gradient checks of every layer and of a whole model on
 * the reference backend: dx and every parameter gradient against central
 * differences of the random projection loss L = Σ y·r.
 *
 * Tolerance, single layers: each entry within 2e-3 of the analytic value
 * relative to the larger of the two, plus 1e-4 of the tensor's largest
 * analytic entry (for entries near 0, where a relative bound means nothing);
 * the worst entry measured uses under 0.1 of that, and a gradient off by a
 * constant factor of 0.2% fails. The whole model: 2e-2 and 1e-3 (its smaller
 * step rounds more). The forward runs in
 * float32 but L is summed in float64, so with h = 1e-2 the rounding error of
 * a difference quotient is about 1e-5 of the gradient's scale; piecewise
 * linear layers have no truncation error as long as no input crosses a kink,
 * which the data below rule out (ReLU inputs at least 0.1 from 0, max-pool
 * inputs 0.05 apart).
 */
import { ok } from "node:assert/strict";
import { createBackend, Dropout, Jumpout, type Tensor } from "../mod.ts";
import type { Layer, Parameter } from "../src/layers/layer.ts";
import { BatchNorm } from "../src/layers/batch_norm.ts";
import { Conv2d } from "../src/layers/conv2d.ts";
import { Dense } from "../src/layers/dense.ts";
import { Flatten } from "../src/layers/flatten.ts";
import { GlobalAvgPool } from "../src/layers/global_avg_pool.ts";
import { MaxPool2d } from "../src/layers/max_pool2d.ts";
import { AvgPool2d } from "../src/layers/avg_pool2d.ts";
import { ReLU } from "../src/layers/relu.ts";
import { Residual } from "../src/layers/residual.ts";
import { Sequential } from "../src/layers/sequential.ts";

const backend = await createBackend("reference");
const read = (t: Tensor) => backend.readSync!(t) as Float32Array;

/** Uniform values in [lo, hi) from a fixed linear congruential stream. */
function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return out;
}

/** Values in ±[0.1, 1]: at least 0.1 from ReLU's and Jumpout's kink at 0. */
function awayFromZero(n: number, seed: number): Float32Array {
  const u = uniform(n, seed);
  return u.map((v) => Math.sign(v || 1) * (0.1 + 0.9 * Math.abs(v)));
}

/** Distinct values 0.05 apart in shuffled order: no max-pool ties. */
function distinct(n: number, seed: number): Float32Array {
  const order = [...uniform(n, seed)].map((v, i) => [v, i]).sort((a, b) =>
    a[0] - b[0]
  );
  const out = new Float32Array(n);
  order.forEach(([, i], rank) => (out[i] = (rank - n / 2) * 0.05));
  return out;
}

/** What the check needs of a layer or a model, in a fixed state. */
interface Model {
  forward(x: Tensor): Tensor<"float32">;
  backward(dy: Tensor): Tensor<"float32">;
  parameters(): Parameter[];
  dispose(): void;
}

/** A layer built for `shape`, run in training mode. */
function built(layer: Layer, shape: number[], seed = 3): Model {
  layer.build(backend, shape, seed, "");
  return {
    forward: (x) => layer.forward(x, { training: true }),
    backward: (dy) => layer.backward(dy),
    parameters: () => layer.parameters(),
    dispose: () => layer.dispose(),
  };
}

/** L = Σ y·r in float64. */
function projection(y: Float32Array, r: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i] * r[i];
  return sum;
}

/** Largest |analytic - numeric| over the allowed error, per tensor. */
interface Report {
  what: string;
  worst: number;
}

/**
 * Checks dx and every parameter gradient of `make()`'s model at `x`.
 * `make` must give a model in the same state each call (same parameters,
 * same masks): each numerical evaluation runs on a fresh one.
 */
function gradientCheck(
  make: () => Model,
  shape: number[],
  x: Float32Array,
  h = 1e-2,
  relative = 2e-3,
): Report[] {
  const model = make();
  const input = backend.tensor(x, shape);
  const y = model.forward(input);
  const r = uniform(y.size, 99);
  const dx = model.backward(backend.tensor(r, y.shape));
  const analytic = [read(dx), ...model.parameters().map((p) => read(p.grad))];
  const names = ["dx", ...model.parameters().map((p, i) => p.name || `${i}`)];
  model.dispose();

  const lossAt = (slot: number, data: Float32Array): number => {
    const m = make();
    const xt = backend.tensor(slot === 0 ? data : x, shape);
    if (slot > 0) backend.upload(m.parameters()[slot - 1].value, data);
    const loss = projection(read(m.forward(xt)), r);
    m.dispose();
    return loss;
  };
  const probe = make();
  const values = [x, ...probe.parameters().map((p) => read(p.value))];
  probe.dispose();
  return analytic.map((grad, slot) => {
    const base = values[slot];
    const scale = grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < base.length; i++) {
      const plus = base.slice(), minus = base.slice();
      plus[i] += h;
      minus[i] -= h;
      // The perturbation actually applied, after rounding to float32.
      const step = plus[i] - minus[i];
      const numeric = (lossAt(slot, plus) - lossAt(slot, minus)) / step;
      const allowed =
        relative * Math.max(Math.abs(numeric), Math.abs(grad[i])) +
        relative / 20 * scale + 1e-7;
      const err = Math.abs(numeric - grad[i]) / allowed;
      worst = Math.max(worst, err);
      ok(
        err <= 1,
        `${names[slot]}[${i}]: analytic ${grad[i]}, numeric ${numeric}`,
      );
    }
    ok(scale > 0, `${names[slot]} is all zeros: nothing was checked`);
    return { what: names[slot], worst };
  });
}

Deno.test("Dense: dx, weight and bias gradients", () => {
  gradientCheck(
    () => built(new Dense(5, 4), [3, 5]),
    [3, 5],
    uniform(15, 1),
  );
  gradientCheck(
    () => built(new Dense(3, 2, { bias: false }), [4, 3]),
    [4, 3],
    uniform(12, 2),
  );
});

for (const [stride, padding] of [[1, 0], [1, 1], [2, 0], [2, 1]]) {
  Deno.test(`Conv2d stride ${stride} padding ${padding}: dx, weight and bias gradients`, () => {
    const shape = [2, 2, 5, 5];
    gradientCheck(
      () => built(new Conv2d(2, 3, 3, { stride, padding }), shape),
      shape,
      uniform(100, 3 + stride + padding),
    );
  });
}

Deno.test("BatchNorm on [N, C] and [N, C, H, W]: dx, gamma and beta gradients", () => {
  for (const shape of [[4, 3], [2, 3, 2, 2]]) {
    const size = shape.reduce((a, b) => a * b, 1);
    // Non-trivial gamma and beta, so dx depends on gamma.
    const make = () => {
      const m = built(new BatchNorm(3), shape);
      const [gamma, beta] = m.parameters();
      backend.upload(gamma.value, new Float32Array([1.5, -0.5, 2]));
      backend.upload(beta.value, new Float32Array([0.1, 0.2, -0.3]));
      return m;
    };
    gradientCheck(make, shape, uniform(size, 5 + size, -2, 2));
  }
});

Deno.test("ReLU away from its kink", () => {
  gradientCheck(() => built(new ReLU(), [3, 8]), [3, 8], awayFromZero(24, 6));
});

Deno.test("MaxPool2d without ties, with and without padding and overlap", () => {
  const shape = [2, 2, 5, 5];
  for (const [k, stride, padding] of [[2, 2, 0], [3, 2, 1], [2, 1, 1]]) {
    gradientCheck(
      () => built(new MaxPool2d(k, { stride, padding }), shape),
      shape,
      distinct(100, 7 + k),
    );
  }
});

Deno.test("AvgPool2d with and without padding and overlap, and a stride past the kernel", () => {
  const shape = [2, 2, 5, 5];
  const geometries = [[2, 2, 0], [3, 2, 1], [3, 1, 1], [2, 3, 1]];
  for (const [k, stride, padding] of geometries) {
    gradientCheck(
      () => built(new AvgPool2d(k, { stride, padding }), shape),
      shape,
      uniform(100, 14 + k + stride),
    );
  }
});

Deno.test("GlobalAvgPool and Flatten", () => {
  gradientCheck(
    () => built(new GlobalAvgPool(), [2, 3, 3, 2]),
    [2, 3, 3, 2],
    uniform(36, 8),
  );
  gradientCheck(
    () => built(new Flatten(), [2, 3, 2, 2]),
    [2, 3, 2, 2],
    uniform(24, 9),
  );
});

Deno.test("Jumpout and Dropout with a fixed mask: fresh layers of one seed share step 0", () => {
  const shape = [4, 25];
  const makers: (() => Layer)[] = [
    () => new Jumpout({ seed: 12, sigma: 0.3 }),
    () => new Jumpout({ seed: 12, sigma: 0.3, scope: "sample" }),
    () => new Dropout({ rate: 0.4, seed: 13 }),
  ];
  for (const make of makers) {
    // Inputs stay 0.1 from 0, so q+ (and with it p') does not move.
    gradientCheck(() => built(make(), shape), shape, awayFromZero(100, 10));
  }
});

Deno.test("a whole Sequential: conv, batch norm, ReLU, pooling, dense, Jumpout", () => {
  const shape = [3, 2, 6, 6];
  const make = (): Model => {
    const model = new Sequential([
      // No bias before BatchNorm: its gradient would be 0 up to rounding.
      new Conv2d(2, 3, 3, { stride: 1, padding: 1, bias: false }),
      new BatchNorm(3),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Dense(27, 6),
      new ReLU(),
      new Jumpout({ sigma: 0.3 }),
      new Dense(6, 4),
    ]);
    model.build(backend, shape.slice(1), { seed: 21 });
    return {
      forward: (x) => model.forward(x, { training: true }),
      backward: (dy) => model.backward(dy),
      parameters: () => model.parameters(),
      dispose: () => model.dispose(),
    };
  };
  // A smaller step: a perturbation moves every downstream activation, and at
  // 1e-3 none of them crosses a ReLU kink or swaps a pooling maximum (at
  // 3e-3 some do). Rounding then uses up to about 0.3 of the (wider)
  // tolerance.
  const reports = gradientCheck(make, shape, uniform(216, 11), 1e-3, 2e-2);
  ok(reports.length === 1 + 1 + 2 + 2 + 2); // dx, conv, norm, 2 dense
});

Deno.test("Residual: identity and strided 1×1 shortcuts, dx and every branch's gradients", () => {
  const shape = [2, 2, 5, 5];
  const blocks: (() => Layer)[] = [
    () =>
      new Residual([
        new Conv2d(2, 2, 3, { padding: 1 }),
        new Conv2d(2, 2, 3, { padding: 1 }),
      ]),
    () =>
      new Residual(
        [new Conv2d(2, 3, 3, { stride: 2, padding: 1 })],
        [new Conv2d(2, 3, 1, { stride: 2, bias: false })],
      ),
  ];
  for (const make of blocks) {
    const reports = gradientCheck(
      () => built(make(), shape),
      shape,
      uniform(100, 12),
    );
    ok(reports.length >= 4, "dx and the branches' parameters were checked");
  }
});
