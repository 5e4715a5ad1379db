/**
 * SGD and Adam against updates written out in float64 on the host, over
 * several steps with changing gradients; schedules at chosen steps; option
 * and parameter checks.
 *
 * Tolerance: the kernels keep parameters and state in float32, so each step
 * adds a rounding of ~6e-8 relative; after 6 steps the parameters stay within
 * 1e-6 relative (+ 1e-7 absolute near zero) of the float64 values.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { createBackend, type Tensor } from "../mod.ts";
import type { Parameter } from "../src/layers/layer.ts";
import { Adam, type AdamOptions } from "../src/optim/adam.ts";
import {
  constantSchedule,
  cosineSchedule,
  stepSchedule,
} from "../src/optim/schedules.ts";
import { SGD, type SGDOptions } from "../src/optim/sgd.ts";
import { pattern } from "./_helpers/backends.ts";

const backend = await createBackend("reference");
const STEPS = 6;
const N = 37;

function parameter(name: string, values: Float32Array): Parameter {
  return {
    name,
    value: backend.tensor(values, [values.length]),
    grad: backend.allocate([values.length]),
  };
}

/** The gradient of step `t`: a different pattern each step, with zeros and signs. */
function gradient(t: number): Float32Array {
  return pattern(N, 100 + t);
}

function close(actual: Float32Array, expected: Float64Array, what: string) {
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-6 * Math.abs(expected[i]) + 1e-7;
    ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`,
    );
  }
}

/** SGD in float64, PyTorch's convention, written out independently of the kernel. */
function sgd64(start: Float32Array, o: Required<Omit<SGDOptions, "schedule">>) {
  const w = Float64Array.from(start);
  const velocity = new Float64Array(N);
  for (let t = 0; t < STEPS; t++) {
    const grad = gradient(t);
    for (let i = 0; i < N; i++) {
      const g = grad[i] + o.weightDecay * w[i];
      velocity[i] = t === 0 ? g : o.momentum * velocity[i] + g;
      const direction = o.nesterov ? g + o.momentum * velocity[i] : velocity[i];
      w[i] -= o.lr * direction;
    }
  }
  return { w, velocity };
}

async function runSgd(options: Required<Omit<SGDOptions, "schedule">>) {
  const start = pattern(N, 7);
  const p = parameter("0.weight", start);
  const sgd = new SGD([p], options);
  for (let t = 0; t < STEPS; t++) {
    backend.upload(p.grad, gradient(t));
    sgd.step();
  }
  equal(sgd.stepCount, STEPS);
  const expected = sgd64(start, options);
  close(await backend.read(p.value), expected.w, "param");
  return { sgd, expected };
}

Deno.test("SGD without momentum", async () => {
  const { sgd } = await runSgd({
    lr: 0.1,
    momentum: 0,
    nesterov: false,
    weightDecay: 0,
  });
  // Without momentum there is no state.
  deepEqual([...sgd.state().keys()], []);
});

Deno.test("SGD without momentum, with weight decay", async () => {
  await runSgd({ lr: 0.1, momentum: 0, nesterov: false, weightDecay: 0.05 });
});

Deno.test("SGD without momentum allocates nothing", async () => {
  for (const name of ["reference", "wasm"] as const) {
    const b = await createBackend(name);
    let allocations = 0;
    const allocate = b.allocate.bind(b);
    b.allocate = ((...args: Parameters<typeof b.allocate>) => {
      allocations++;
      return allocate(...args);
    }) as typeof b.allocate;
    const value = b.tensor(new Float32Array([1, -2]), [2]);
    const grad = b.tensor(new Float32Array([0.5, 4]), [2]);
    allocations = 0;
    const sgd = new SGD([{ name: "w", value, grad }], {
      lr: 0.5,
      weightDecay: 0.5,
    });
    sgd.step();
    equal(sgd.state().size, 0);
    equal(allocations, 0, `allocations on ${name}`);
    // w - 0.5 · (g + 0.5 · w): every number exact in float32.
    deepEqual([...(await b.read(value))], [0.5, -3.5]);
    b.dispose();
  }
});

Deno.test("SGD with momentum and weight decay", async () => {
  const { sgd, expected } = await runSgd({
    lr: 0.05,
    momentum: 0.9,
    nesterov: false,
    weightDecay: 0.01,
  });
  const state = sgd.state();
  deepEqual([...state.keys()], ["0.weight.velocity"]);
  close(
    await backend.read(state.get("0.weight.velocity")!),
    expected.velocity,
    "velocity",
  );
});

Deno.test("SGD with Nesterov momentum", async () => {
  await runSgd({ lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 1e-3 });
});

Deno.test("SGD takes each step's rate from the schedule", async () => {
  const p = parameter("w", new Float32Array([1]));
  backend.upload(p.grad, new Float32Array([1]));
  const schedule = (step: number) => [0.5, 0.25, 0][step] ?? 0.125;
  const sgd = new SGD([p], { schedule });
  const rates: number[] = [];
  for (let t = 0; t < 4; t++) {
    rates.push(sgd.lr);
    sgd.step();
  }
  deepEqual(rates, [0.5, 0.25, 0, 0.125]);
  // w = 1 - 0.5 - 0.25 - 0 - 0.125, all exact in float32.
  deepEqual([...(await backend.read(p.value))], [0.125]);
  sgd.stepCount = 10;
  equal(sgd.lr, 0.125);
});

/** Adam in float64, written out independently of the kernel. */
function adam64(
  start: Float32Array,
  o: Required<Omit<AdamOptions, "schedule">>,
) {
  const w = Float64Array.from(start);
  const m = new Float64Array(N);
  const v = new Float64Array(N);
  for (let t = 1; t <= STEPS; t++) {
    const grad = gradient(t - 1);
    for (let i = 0; i < N; i++) {
      const g = grad[i] + o.weightDecay * w[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const mHat = m[i] / (1 - o.beta1 ** t);
      const vHat = v[i] / (1 - o.beta2 ** t);
      w[i] -= o.lr * mHat / (Math.sqrt(vHat) + o.epsilon);
    }
  }
  return { w, m, v };
}

for (
  const options of [
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
    { lr: 0.01, beta1: 0.5, beta2: 0.9, epsilon: 1e-3, weightDecay: 0.1 },
  ]
) {
  Deno.test(`Adam ${JSON.stringify(options)}`, async () => {
    const start = pattern(N, 9);
    const p = parameter("1.bias", start);
    const adam = new Adam([p], options);
    for (let t = 0; t < STEPS; t++) {
      backend.upload(p.grad, gradient(t));
      adam.step();
    }
    const expected = adam64(start, options);
    close(await backend.read(p.value), expected.w, "param");
    const state = adam.state();
    deepEqual([...state.keys()], ["1.bias.adam_m", "1.bias.adam_v"]);
    close(await backend.read(state.get("1.bias.adam_m")!), expected.m, "m");
    close(await backend.read(state.get("1.bias.adam_v")!), expected.v, "v");
  });
}

Deno.test("Adam defaults are PyTorch's", () => {
  const adam = new Adam([]);
  deepEqual(
    [adam.lr, adam.beta1, adam.beta2, adam.epsilon, adam.weightDecay],
    [1e-3, 0.9, 0.999, 1e-8, 0],
  );
});

Deno.test("every parameter is updated, each with its own state", async () => {
  const a = parameter("a", new Float32Array([1, 1]));
  const b = parameter("b", new Float32Array([2]));
  backend.upload(a.grad, new Float32Array([1, -1]));
  backend.upload(b.grad, new Float32Array([4]));
  const sgd = new SGD([a, b], { lr: 0.25, momentum: 0.5 });
  sgd.step();
  sgd.step();
  // velocity = g, then 1.5 g; w -= 0.25 · 2.5 g.
  deepEqual([...(await backend.read(a.value))], [0.375, 1.625]);
  deepEqual([...(await backend.read(b.value))], [-0.5]);
  deepEqual([...sgd.state().keys()], ["a.velocity", "b.velocity"]);
});

Deno.test("state() before any step is zeros, ready for a checkpoint", async () => {
  const p = parameter("w", new Float32Array([1, 2, 3]));
  const adam = new Adam([p]);
  const state = adam.state();
  for (const t of state.values()) {
    deepEqual([...(await backend.read(t))], [0, 0, 0]);
  }
  // The step uses the same tensors that state() returned.
  backend.upload(state.get("w.adam_m")!, new Float32Array([1, 1, 1]));
  backend.upload(p.grad, new Float32Array([0, 0, 0]));
  adam.step();
  deepEqual(
    [...(await backend.read(state.get("w.adam_m")!))].map((x) =>
      Math.fround(x)
    ),
    [0.9, 0.9, 0.9].map(Math.fround),
  );
});

Deno.test("dispose frees the state; a later step starts from zeros", async () => {
  const p = parameter("w", new Float32Array([0]));
  const sgd = new SGD([p], { lr: 1, momentum: 0.5 });
  backend.upload(p.grad, new Float32Array([1]));
  sgd.step();
  const [velocity] = sgd.state().values();
  sgd.dispose();
  ok(velocity.released);
  sgd.step(); // velocity 1 again, not 1.5
  deepEqual([...(await backend.read(p.value))], [-2]);
});

Deno.test("schedules give their values at chosen steps", () => {
  const c = constantSchedule(0.3);
  deepEqual([0, 1, 1e6].map(c), [0.3, 0.3, 0.3]);

  const s = stepSchedule({ lr: 0.8, stepSize: 10, gamma: 0.5 });
  deepEqual([0, 9, 10, 19, 20, 35].map(s), [0.8, 0.8, 0.4, 0.4, 0.2, 0.1]);
  const s10 = stepSchedule({ lr: 1, stepSize: 3 });
  equal(s10(6), 0.1 ** 2);

  const cos = cosineSchedule({
    lr: 1,
    totalSteps: 14,
    minLr: 0.2,
    warmupSteps: 4,
  });
  // Warmup: (s + 1) / 4; then 0.2 + 0.8 (1 + cos(π (s - 4) / 10)) / 2.
  const expected = [
    [0, 0.25],
    [3, 1],
    [4, 1],
    [9, 0.6],
    [14, 0.2],
    [100, 0.2],
    [6, 0.2 + 0.4 * (1 + Math.cos(Math.PI / 5))],
  ];
  for (const [step, lr] of expected) {
    ok(Math.abs(cos(step) - lr) < 1e-15, `cosine(${step}) = ${cos(step)}`);
  }
  const plain = cosineSchedule({ lr: 0.1, totalSteps: 2 });
  deepEqual([0, 1, 2].map(plain), [0.1, 0.05, 0]);
  // Strictly decreasing after warmup.
  for (let t = 4; t < 14; t++) ok(cos(t + 1) < cos(t), `cosine at ${t}`);
  throws(() => s(-1), /step must be an integer >= 0, got -1/);
  throws(() => cos(1.5), /step must be an integer >= 0, got 1\.5/);
});

Deno.test("schedule options are checked", () => {
  throws(
    () => constantSchedule(0),
    /^RangeError: Cannot create constantSchedule: lr must be a finite number > 0, got 0$/,
  );
  throws(
    () => stepSchedule({ lr: 1, stepSize: 0 }),
    /stepSize must be an integer >= 1, got 0/,
  );
  throws(
    () => stepSchedule({ lr: 1, stepSize: 2, gamma: 1.5 }),
    /gamma must be in \(0, 1\], got 1\.5/,
  );
  throws(
    () => cosineSchedule({ lr: 1, totalSteps: 10, minLr: 2 }),
    /minLr must be in \[0, lr\] = \[0, 1\], got 2/,
  );
  throws(
    () => cosineSchedule({ lr: 1, totalSteps: 10, warmupSteps: 11 }),
    /warmupSteps must be an integer in \[0, totalSteps\] = \[0, 10\], got 11/,
  );
  throws(
    () => cosineSchedule({ lr: 1, totalSteps: 0 }),
    /totalSteps must be an integer >= 1, got 0/,
  );
});

Deno.test("optimiser options are checked", () => {
  const p = [parameter("w", new Float32Array(2))];
  throws(
    () => new SGD(p, { lr: -1 }),
    /^RangeError: Cannot create SGD: lr must be a finite number > 0, got -1$/,
  );
  throws(
    () => new SGD(p, {}),
    /Cannot create SGD: lr must be a finite number > 0, got undefined/,
  );
  throws(
    () => new SGD(p, { lr: 0.1, nesterov: true }),
    /^RangeError: Cannot create SGD: nesterov needs momentum > 0, got momentum 0$/,
  );
  throws(
    () => new SGD(p, { lr: 0.1, momentum: 1 }),
    /momentum must be in \[0, 1\), got 1/,
  );
  throws(
    () => new SGD(p, { lr: 0.1, weightDecay: NaN }),
    /weightDecay must be a finite number >= 0, got NaN/,
  );
  throws(
    () => new SGD(p, { lr: 0.1, schedule: constantSchedule(0.1) }),
    /lr must be left out when a schedule gives the rate/,
  );
  throws(
    () => new Adam(p, { lr: Infinity }),
    /^RangeError: Cannot create Adam: lr must be a finite number > 0, got Infinity$/,
  );
  throws(
    () => new Adam(p, { beta1: 1 }),
    /Cannot create Adam: beta1 must be in \[0, 1\), got 1/,
  );
  throws(
    () => new Adam(p, { beta2: -0.1 }),
    /beta2 must be in \[0, 1\), got -0\.1/,
  );
  throws(
    () => new Adam(p, { epsilon: 0 }),
    /epsilon must be a finite number > 0, got 0/,
  );
  const bad = new SGD(p, { schedule: () => NaN });
  throws(
    () => bad.step(),
    /^RangeError: Cannot run SGD step: schedule\(0\) must return a finite number >= 0, got NaN$/,
  );
  throws(
    () => (bad.stepCount = -1),
    /Cannot set SGD stepCount: stepCount must be an integer >= 0, got -1/,
  );
});

Deno.test("parameters are checked", () => {
  const w = parameter("w", new Float32Array(2));
  throws(
    () => new SGD([w, w], { lr: 1 }),
    /parameter names must be unique, got "w" twice/,
  );
  throws(
    () =>
      new SGD([{ name: "x", value: w.value, grad: backend.allocate([3]) }], {
        lr: 1,
      }),
    /parameter "x" grad must match its value, got value \[2\] on reference and grad \[3\] on reference/,
  );
  const released = backend.allocate([2]);
  backend.release(released);
  throws(
    () => new Adam([{ name: "r", value: released, grad: w.grad }]),
    /^TypeError: Cannot create Adam: parameter "r" value was released, got a released tensor of shape \[2\]$/,
  );
  throws(
    () =>
      new Adam([{
        name: "u",
        value: backend.allocate([2], "uint32") as unknown as Tensor<"float32">,
        grad: w.grad,
      }]),
    /^TypeError: Cannot create Adam: parameter "u" value must be a float32 tensor, got uint32$/,
  );
  throws(
    () => new Adam("w" as unknown as Parameter[]),
    /parameters must be an array of Parameter, got string/,
  );
});

/** Steps that must throw and change nothing: values, state and stepCount. */
async function refusedStep(
  optimizer: SGD | Adam,
  values: Tensor<"float32">[],
  message: RegExp,
) {
  const before = await Promise.all(values.map((v) => backend.read(v)));
  const state = [...optimizer.state()];
  const stateBefore = await Promise.all(
    state.map(([, t]) => t.released ? undefined : backend.read(t)),
  );
  const steps = optimizer.stepCount;
  throws(() => optimizer.step(), message);
  equal(optimizer.stepCount, steps);
  for (let i = 0; i < values.length; i++) {
    deepEqual(await backend.read(values[i]), before[i], `value ${i}`);
  }
  deepEqual([...optimizer.state().keys()], state.map(([name]) => name));
  for (let i = 0; i < state.length; i++) {
    if (state[i][1].released) continue;
    deepEqual(await backend.read(state[i][1]), stateBefore[i], state[i][0]);
  }
}

Deno.test("a step checks every parameter before it updates any", async () => {
  for (
    const make of [
      (ps: Parameter[]) => new SGD(ps, { lr: 0.5 }),
      (ps: Parameter[]) => new SGD(ps, { lr: 0.5, momentum: 0.5 }),
      (ps: Parameter[]) => new Adam(ps, { lr: 0.5 }),
    ]
  ) {
    const a = parameter("a", new Float32Array([1, 2]));
    const b = parameter("b", new Float32Array([3]));
    backend.upload(a.grad, new Float32Array([1, 1]));
    backend.upload(b.grad, new Float32Array([1]));
    const optimizer = make([a, b]);
    optimizer.step(); // state now holds numbers that a failed step must keep
    const kind = optimizer instanceof SGD ? "SGD" : "Adam";

    // A released grad of the last parameter.
    const mutable = b as { value: Tensor<"float32">; grad: Tensor<"float32"> };
    const grad = b.grad;
    backend.release(grad);
    await refusedStep(
      optimizer,
      [a.value, b.value],
      new RegExp(
        `^TypeError: Cannot run ${kind} step: parameter "b" grad was released, got a released tensor of shape \\[1\\]$`,
      ),
    );
    // A replaced value of another shape, then of another dtype.
    mutable.grad = backend.tensor(new Float32Array([1]), [1]);
    const value = b.value;
    mutable.value = backend.allocate([2]);
    await refusedStep(
      optimizer,
      [a.value, value],
      new RegExp(
        `^RangeError: Cannot run ${kind} step: parameter "b" value must keep the shape \\[1\\] and the reference backend it had when ${kind} was made, got \\[2\\] on the reference backend$`,
      ),
    );
    mutable.value = backend.allocate([1], "uint32") as unknown as Tensor<
      "float32"
    >;
    await refusedStep(
      optimizer,
      [a.value, value],
      new RegExp(
        `^TypeError: Cannot run ${kind} step: parameter "b" value must be a float32 tensor, got uint32$`,
      ),
    );
    // A value on another backend.
    const other = await createBackend("reference");
    mutable.value = other.tensor(new Float32Array([3]), [1]);
    await refusedStep(
      optimizer,
      [a.value, value],
      /parameter "b" value must keep the shape \[1\] and the reference backend it had when .* was made, got \[1\] on the reference backend/,
    );
    // Restored, the step runs.
    mutable.value = value;
    optimizer.step();
    equal(optimizer.stepCount, 2);
  }
});

Deno.test("a step refuses released state and updates nothing", async () => {
  const a = parameter("a", new Float32Array([1]));
  const b = parameter("b", new Float32Array([2]));
  const sgd = new SGD([a, b], { lr: 1, momentum: 0.5 });
  const velocity = sgd.state().get("b.velocity")!;
  backend.release(velocity);
  await refusedStep(
    sgd,
    [a.value, b.value],
    /^TypeError: Cannot run SGD step: state "b.velocity" was released, got a released tensor of shape \[1\]$/,
  );
});
