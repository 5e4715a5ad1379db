/**
 * `deno task demo`: runs a Jumpout layer for a few training steps on each
 * backend this runtime offers, printing p, q+, p' and s per step and the
 * throughput of forward + backward; then trains a small network with Jumpout
 * on three spirals on each backend and round-trips its weights.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BackendName, createBackend, Jumpout } from "../mod.ts";
import { trainSpirals } from "./spirals.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "5" },
    n: { type: "string", default: String(1 << 20) },
    sigma: { type: "string", default: "0.1" },
    "train-steps": { type: "string", default: "200" },
  },
});
const steps = Number(values.steps);
const n = Number(values.n);
const sigma = Number(values.sigma);

// ReLU-like activations: about 40% of units active, as after a ReLU layer.
const data = new Float32Array(n);
for (let i = 0; i < n; i++) {
  data[i] = Math.max(0, Math.sin(i * 12.9898) * 43758.5453 % 1 - 0.2);
}
const shape = [n / 1024, 1024];

for (const name of ["reference", "wasm", "webgpu"] as BackendName[]) {
  let backend;
  try {
    backend = await createBackend(name);
  } catch (error) {
    console.log(`${name}: unavailable (${(error as Error).message})`);
    continue;
  }
  console.log(`\n${name}: Jumpout({ sigma: ${sigma}, seed: 7 }) on [${shape}]`);
  const layer = new Jumpout({ sigma, seed: 7 });
  const x = backend.tensor(data, shape);
  const dy = backend.tensor(data, shape);
  const start = performance.now();
  for (let step = 0; step < steps; step++) {
    const y = layer.forward(x, { training: true });
    const dx = layer.backward(dy);
    const [s] = (await layer.readStats())!;
    console.log(
      `  step ${step}: p ${s.p.toFixed(4)}  q+ ${s.qPlus.toFixed(4)}  p' ${
        s.rate.toFixed(4)
      }  s ${s.scale.toFixed(4)}`,
    );
    backend.release(y);
    backend.release(dx);
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `  ${
      ((steps * n) / seconds / 1e6).toFixed(1)
    } M elements/s forward + backward (${steps} steps, stats read each step)`,
  );
  layer.dispose();

  console.log(
    `  training a 2-64-64-3 ReLU + Jumpout network on three spirals:`,
  );
  const start2 = performance.now();
  const result = await trainSpirals(backend, Number(values["train-steps"]));
  console.log(
    `  evaluation: loss ${result.trained.loss.toFixed(4)}, accuracy ${
      (100 * result.trained.accuracy).toFixed(1)
    }%; after a save/load of ${result.bytes} bytes of safetensors: loss ${
      result.reloaded.loss.toFixed(4)
    } (${((performance.now() - start2) / 1000).toFixed(1)} s)`,
  );
  backend.dispose();
}
