/**
 * Optimiser specs: an optimiser made from a spec (cloned, as a worker gets
 * it) steps bit for bit as the one made by its constructor (reference
 * backend, several steps with changing gradients); a schedule replaces the
 * spec's rate; bad specs fail naming the field.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { createBackend, type Tensor } from "../mod.ts";
import type { Parameter } from "../src/layers/layer.ts";
import { Adam } from "../src/optim/adam.ts";
import type { Optimizer } from "../src/optim/optimizer.ts";
import {
  optimizerFromSpec,
  type OptimizerSpec,
} from "../src/optim/optimizer_spec.ts";
import { cosineSchedule } from "../src/optim/schedules.ts";
import { SGD } from "../src/optim/sgd.ts";
import { pattern } from "./_helpers/backends.ts";

const backend = await createBackend("reference");
const read = (t: Tensor) => Float32Array.from(backend.readSync!(t));
const STEPS = 5;

/** Two parameters of different shapes with fixed starting values. */
function parameters(): Parameter[] {
  return [[3, 5], [7]].map((shape, i) => {
    const size = shape.reduce((a, b) => a * b);
    return {
      name: `p${i}`,
      value: backend.tensor(pattern(size, 10 + i), shape),
      grad: backend.allocate(shape),
    };
  });
}

/**
 * Every parameter's values after each of `STEPS` steps with changing
 * gradients, then the optimiser's state.
 */
function trajectory(
  make: (ps: Parameter[]) => Optimizer,
): Float32Array[] {
  const ps = parameters();
  const optimizer = make(ps);
  const seen: Float32Array[] = [];
  for (let t = 0; t < STEPS; t++) {
    ps.forEach((p, i) => {
      backend.upload(p.grad, pattern(p.grad.size, 100 + 10 * t + i));
    });
    optimizer.step();
    seen.push(...ps.map((p) => read(p.value)));
  }
  seen.push(...[...optimizer.state().values()].map(read));
  optimizer.dispose();
  return seen;
}

const CASES: [OptimizerSpec, (ps: Parameter[]) => Optimizer][] = [
  [{ type: "sgd", lr: 0.1 }, (ps) => new SGD(ps, { lr: 0.1 })],
  [
    { type: "sgd", lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
    (ps) =>
      new SGD(ps, {
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 1e-3,
      }),
  ],
  [{ type: "adam" }, (ps) => new Adam(ps)],
  [
    {
      type: "adam",
      lr: 0.02,
      beta1: 0.8,
      beta2: 0.99,
      epsilon: 1e-6,
      weightDecay: 0.01,
    },
    (ps) =>
      new Adam(ps, {
        lr: 0.02,
        beta1: 0.8,
        beta2: 0.99,
        epsilon: 1e-6,
        weightDecay: 0.01,
      }),
  ],
];

for (const [spec, direct] of CASES) {
  Deno.test(`an optimiser from a spec steps as one made directly: ${JSON.stringify(spec)}`, () => {
    const expected = trajectory(direct);
    // Float32Array deepEqual compares every element exactly.
    deepEqual(
      trajectory((ps) => optimizerFromSpec(structuredClone(spec), ps)),
      expected,
    );
    // The comparison sees the options: the defaults alone step otherwise.
    const plain: OptimizerSpec = spec.type === "sgd"
      ? { type: "sgd", lr: 0.3 }
      : { type: "adam", lr: 0.3 };
    const other = trajectory((ps) => optimizerFromSpec(plain, ps));
    ok(other.some((v, i) => !v.every((x, j) => x === expected[i][j])));
  });
}

Deno.test("a schedule replaces the spec's lr", () => {
  const schedule = cosineSchedule({ lr: 0.1, totalSteps: STEPS });
  for (
    const [spec, withSchedule] of [
      [
        { type: "sgd", lr: 0.5, momentum: 0.5 },
        (ps: Parameter[]) => new SGD(ps, { momentum: 0.5, schedule }),
      ],
      [
        { type: "adam", lr: 0.5, beta1: 0.7 },
        (ps: Parameter[]) => new Adam(ps, { beta1: 0.7, schedule }),
      ],
    ] as const
  ) {
    deepEqual(
      trajectory((ps) => optimizerFromSpec(spec, ps, schedule)),
      trajectory(withSchedule),
    );
    const optimizer = optimizerFromSpec(spec, parameters(), schedule);
    optimizer.stepCount = 2;
    equal(optimizer.lr, schedule(2));
  }
  // Without lr in the spec too.
  equal(optimizerFromSpec({ type: "sgd" }, [], () => 0.25).lr, 0.25);
});

Deno.test("the spec's options reach the optimiser", () => {
  const sgd = optimizerFromSpec(
    { type: "sgd", lr: 0.2, momentum: 0.3, nesterov: true, weightDecay: 0.4 },
    [],
  );
  ok(sgd instanceof SGD);
  deepEqual(
    [sgd.lr, sgd.momentum, sgd.nesterov, sgd.weightDecay],
    [0.2, 0.3, true, 0.4],
  );
  const adam = optimizerFromSpec({ type: "adam", beta2: 0.9 }, []);
  ok(adam instanceof Adam);
  deepEqual(
    [adam.lr, adam.beta1, adam.beta2, adam.epsilon, adam.weightDecay],
    [1e-3, 0.9, 0.9, 1e-8, 0],
  );
});

Deno.test("optimizerFromSpec names the bad field", () => {
  const what = "Cannot create an optimizer from a spec";
  const bad = (spec: unknown, schedule?: unknown) => () =>
    optimizerFromSpec(spec as OptimizerSpec, [], schedule as never);
  throws(bad({ type: "sdg", lr: 0.1 }), {
    name: "TypeError",
    message: `${what}: spec.type must be "sgd" or "adam", got "sdg"`,
  });
  throws(bad({ lr: 0.1 }), {
    name: "TypeError",
    message: `${what}: spec.type must be "sgd" or "adam", got undefined`,
  });
  throws(bad({ type: "sgd", lr: 0.1, weight_decay: 0.1 }), {
    name: "TypeError",
    message:
      `${what}: spec has an unknown field "weight_decay" (known fields of "sgd" specs: type, lr, momentum, nesterov, weightDecay)`,
  });
  // An Adam option is unknown to SGD.
  throws(
    bad({ type: "sgd", lr: 0.1, beta1: 0.9 }),
    /spec has an unknown field "beta1"/,
  );
  throws(
    bad({ type: "adam", nesterov: true }),
    /spec has an unknown field "nesterov" \(known fields of "adam" specs: type, lr, beta1, beta2, epsilon, weightDecay\)/,
  );
  throws(
    bad({ type: "adam", schedule: () => 0.1 }),
    /^TypeError: Cannot create an optimizer from a spec: spec must not have a schedule field .*pass the schedule as the third argument$/,
  );
  throws(bad(null), {
    name: "TypeError",
    message: `${what}: spec must be an object, got null`,
  });
  throws(bad("sgd"), /spec must be an object, got "sgd"/);
  // The constructors' own errors pass through unchanged.
  throws(bad({ type: "sgd", lr: 0.1, momentum: 1.5 }), {
    name: "RangeError",
    message: "Cannot create SGD: momentum must be in [0, 1), got 1.5",
  });
  throws(bad({ type: "sgd" }), {
    name: "RangeError",
    message: "Cannot create SGD: lr must be a finite number > 0, got undefined",
  });
  throws(bad({ type: "adam", epsilon: 0 }), /Cannot create Adam: epsilon/);
  throws(
    bad({ type: "adam" }, 0.1),
    /Cannot create Adam: schedule must be a function of the step, got number/,
  );
});
