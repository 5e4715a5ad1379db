/**
 * Rows of the optimiser steps. Tolerances, relative to each new
 * value's Σ|terms| (the update's formula on absolute values): SGD rounds a few
 * float32 operations, so 1e-6; Adam's parameter step chains about ten (a
 * power, two divisions, a square root), so 2e-6 with float32-exact
 * hyperparameters, and 3e-5 with PyTorch's defaults, since 0.999 is not a
 * float32: taken as one, 1 - beta2 and beta2^1000 are off by 1.3e-5.
 */
import { assertWithin } from "../kernels.ts";
import { type KernelSpec, LENGTHS, values } from "./_spec.ts";

const SGD_OPTIONS = [
  { lr: 0.1, momentum: 0.9, weightDecay: 0, nesterov: false },
  { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, nesterov: true },
  { lr: 0.05, momentum: 0, weightDecay: 1e-2, nesterov: false },
  { lr: 0.2, momentum: 0.5, weightDecay: 0, nesterov: true },
];

export const sgd_update: KernelSpec = {
  rows: () =>
    LENGTHS.flatMap((n) =>
      SGD_OPTIONS.map((options) => ({
        what: `n=${n} ${JSON.stringify(options)}`,
        tensors: {
          param: values(n, 30),
          grad: values(n, 31),
          velocity: values(n, 32),
        },
        scalars: { n, ...options },
      }))
    ),
  check(c, actual, expected) {
    const { lr, momentum, weightDecay, nesterov } = c.scalars as Record<
      string,
      number
    >;
    const { param, grad, velocity } = c.tensors;
    const vBound = new Float64Array(param.length);
    const pBound = new Float64Array(param.length);
    for (let i = 0; i < param.length; i++) {
      const g = Math.abs(grad[i]) + weightDecay * Math.abs(param[i]);
      vBound[i] = momentum * Math.abs(velocity[i]) + g;
      pBound[i] = Math.abs(param[i]) +
        lr * (nesterov ? g + momentum * vBound[i] : vBound[i]);
    }
    assertWithin(
      actual.velocity,
      expected.velocity,
      vBound,
      1e-6,
      `${c.what}: velocity`,
    );
    assertWithin(
      actual.param,
      expected.param,
      pBound,
      1e-6,
      `${c.what}: param`,
    );
  },
};

/** Float32-exact hyperparameters, then PyTorch's defaults. */
const ADAM_OPTIONS = [
  {
    lr: 2 ** -10,
    beta1: 0.875,
    beta2: 1 - 2 ** -9,
    epsilon: 2 ** -20,
    tol: 2e-6,
  },
  { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, tol: 3e-5 },
];

export const adam_update: KernelSpec = {
  rows: () => [
    ...LENGTHS.flatMap((n) =>
      ADAM_OPTIONS.flatMap(({ tol, ...options }) =>
        [[1, 0], [1000, 1e-2]].map(([step, weightDecay]) => ({
          what: `n=${n} step=${step} weightDecay=${weightDecay} ` +
            JSON.stringify(options),
          tensors: {
            param: values(n, 33),
            grad: values(n, 34),
            // The first step starts from zero moments, as in training.
            m: step === 1
              ? new Float32Array(n)
              : values(n, 35).map((v) => v / 10),
            v: step === 1
              ? new Float32Array(n)
              : values(n, 36).map((v) => v * v / 100),
          },
          scalars: { n, step, weightDecay, ...options },
          tol,
        }))
      )
    ),
    // The bias corrections must come from float64: with beta2 = 0.9999 at
    // step 1, 1 - float32(beta2) is 1.66e-4 off 1e-4, which moves the update
    // by 8e-5 relative, against 4e-6 allowed here (the float32 steps of the
    // update, a few ulps each). With param 0 and no decay, param ends as
    // -lr · update exactly.
    ...[1, 3, 1000].map((step) => ({
      what: `float64 bias corrections step=${step}`,
      tensors: {
        param: new Float32Array(64),
        grad: values(64, 20).map((v) => v + 0.01),
        m: values(64, 21).map((v) => v / 10),
        v: values(64, 22).map((v) => v * v / 100),
      },
      scalars: {
        n: 64,
        lr: 0.001,
        beta1: 0.99,
        beta2: 0.9999,
        epsilon: 1e-8,
        weightDecay: 0,
        step,
      },
      tol: 4e-6,
    })),
  ],
  check(c, actual, expected) {
    const { lr, beta1, beta2, epsilon, weightDecay, step } = c
      .scalars as Record<
        string,
        number
      >;
    const tol = c.tol!;
    const { param, grad, m, v } = c.tensors;
    const n = param.length;
    const [mBound, vBound, pBound] = [0, 1, 2].map(() => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const g = Math.abs(grad[i]) + weightDecay * Math.abs(param[i]);
      mBound[i] = beta1 * Math.abs(m[i]) + (1 - beta1) * g;
      vBound[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const mHat = mBound[i] / (1 - beta1 ** step);
      const vHat = expected.v[i] / (1 - beta2 ** step);
      pBound[i] = Math.abs(param[i]) + lr * mHat / (Math.sqrt(vHat) + epsilon);
    }
    assertWithin(actual.m, expected.m, mBound, tol, `${c.what}: m`);
    assertWithin(actual.v, expected.v, vBound, tol, `${c.what}: v`);
    assertWithin(actual.param, expected.param, pBound, tol, `${c.what}: param`);
  },
};
