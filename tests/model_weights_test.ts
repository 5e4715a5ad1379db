/**
 * A whole model's weights round trip: train a convolutional model with batch
 * norm for a step (so running statistics move), save its state as
 * safetensors, load it into a model built with another seed, and the two
 * give bit-identical evaluation outputs on every backend.
 */
import { deepEqual, notDeepEqual } from "node:assert/strict";
import {
  type Backend,
  type BackendName,
  BatchNorm,
  Conv2d,
  Dense,
  Flatten,
  Jumpout,
  labelsTensor,
  loadWeights,
  MaxPool2d,
  ReLU,
  saveWeights,
  Sequential,
  SGD,
  SoftmaxCrossEntropy,
  trainStep,
} from "../mod.ts";
import { ignoreBackend, pattern, withBackend } from "./_helpers/backends.ts";

function model(): Sequential {
  return new Sequential([
    new Conv2d(2, 3, 3, { padding: 1 }),
    new BatchNorm(3),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Dense(3 * 3 * 3, 5),
    new ReLU(),
    new Jumpout(),
    new Dense(5, 4),
  ]);
}

async function evaluation(
  backend: Backend,
  m: Sequential,
  x: Float32Array,
): Promise<Float32Array> {
  const input = backend.tensor(x, [4, 2, 6, 6]);
  const y = m.forward(input, { training: false });
  const values = await backend.read(y);
  backend.release(y);
  backend.release(input);
  return values;
}

for (const name of ["reference", "wasm", "webgpu"] as BackendName[]) {
  Deno.test({
    name: `a trained model's weights load into a fresh model on ${name}`,
    ignore: await ignoreBackend(name),
    fn: () =>
      withBackend(name, async (backend) => {
        const data = pattern(4 * 2 * 36, 8);
        const trained = model();
        trained.build(backend, [2, 6, 6], { seed: 1 });
        const x = backend.tensor(data, [4, 2, 6, 6]);
        const labels = labelsTensor(backend, [0, 1, 2, 3], 4);
        const loss = new SoftmaxCrossEntropy();
        const optimizer = new SGD(trained.parameters(), { lr: 0.1 });
        await trainStep({ model: trained, loss, optimizer, x, labels });
        const bytes = await saveWeights(trained.state());
        deepEqual(
          [...trained.state().keys()],
          [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "5.weight",
            "5.bias",
            "8.weight",
            "8.bias",
          ],
        );

        const fresh = model();
        fresh.build(backend, [2, 6, 6], { seed: 2 });
        const expected = await evaluation(backend, trained, data);
        notDeepEqual(await evaluation(backend, fresh, data), expected);
        loadWeights(fresh.state(), bytes);
        deepEqual(await evaluation(backend, fresh, data), expected);
        for (const [key, t] of fresh.state()) {
          deepEqual(
            await backend.read(t),
            await backend.read(trained.state().get(key)!),
            key,
          );
        }
        for (const t of [x, labels]) backend.release(t);
        for (const d of [trained, fresh, loss, optimizer]) d.dispose();
      }),
  });
}
