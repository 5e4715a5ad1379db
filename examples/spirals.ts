/**
 * Trains a small ReLU network with Jumpout on three interleaved spirals, then
 * saves its weights as safetensors, loads them into a fresh model and checks
 * that it predicts the same. `deno task demo` runs it on every backend.
 *
 * @module
 */

import {
  type Backend,
  cosineSchedule,
  Dense,
  evaluateStep,
  Jumpout,
  labelsTensor,
  loadWeights,
  ReLU,
  saveWeights,
  Sequential,
  SGD,
  SoftmaxCrossEntropy,
  trainStep,
} from "../mod.ts";

const CLASSES = 3;

/** Three spirals of `perClass` noisy points each, from a seeded generator. */
export function spirals(
  perClass: number,
  seed: number,
): { x: Float32Array; labels: number[] } {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  const x = new Float32Array(perClass * CLASSES * 2);
  const labels: number[] = [];
  for (let i = 0; i < perClass; i++) {
    for (let c = 0; c < CLASSES; c++) {
      const r = (i + 1) / perClass;
      const noise = Math.sqrt(-2 * Math.log(uniform())) *
        Math.cos(2 * Math.PI * uniform());
      const t = 2 * Math.PI * c / CLASSES + 5 * r + 0.2 * noise;
      x[2 * labels.length] = r * Math.cos(t);
      x[2 * labels.length + 1] = r * Math.sin(t);
      labels.push(c);
    }
  }
  return { x, labels };
}

/** A 2-64-64-3 perceptron with Jumpout after each hidden layer. */
function mlp(): Sequential {
  return new Sequential([
    new Dense(2, 64),
    new ReLU(),
    new Jumpout(),
    new Dense(64, 64),
    new ReLU(),
    new Jumpout(),
    new Dense(64, CLASSES),
  ]);
}

/**
 * Trains full-batch for `steps` steps (SGD with Nesterov momentum, cosine
 * schedule), printing the loss now and then.
 *
 * @param backend Where to train.
 * @param steps Number of steps.
 * @returns The evaluation-mode loss and accuracy, before and after a
 *   save/load round trip.
 */
export async function trainSpirals(backend: Backend, steps: number) {
  const data = spirals(100, 2024);
  const n = data.labels.length;
  const x = backend.tensor(data.x, [n, 2]);
  const labels = labelsTensor(backend, data.labels, CLASSES);
  const model = mlp();
  model.build(backend, [2], { seed: 1 });
  const loss = new SoftmaxCrossEntropy();
  const optimizer = new SGD(model.parameters(), {
    momentum: 0.9,
    nesterov: true,
    schedule: cosineSchedule({ lr: 0.2, totalSteps: steps, warmupSteps: 10 }),
  });
  for (let step = 0; step < steps; step++) {
    const r = await trainStep({ model, loss, optimizer, x, labels });
    if (step % Math.max(1, Math.floor(steps / 5)) === 0) {
      console.log(
        `  step ${step}: loss ${r.loss.toFixed(4)}, accuracy ${
          (100 * r.accuracy).toFixed(1)
        }%`,
      );
    }
  }
  const trained = await evaluateStep({ model, loss, x, labels });
  const bytes = await saveWeights(model.state());
  const copy = mlp();
  copy.build(backend, [2], { seed: 2 });
  loadWeights(copy.state(), bytes);
  const reloaded = await evaluateStep({ model: copy, loss, x, labels });
  for (const t of [x, labels]) backend.release(t);
  model.dispose();
  copy.dispose();
  loss.dispose();
  optimizer.dispose();
  return { trained, reloaded, bytes: bytes.length };
}
