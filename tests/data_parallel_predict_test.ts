import { equal, ok, rejects } from "node:assert/strict";
import {
  createBackend,
  DataParallel,
  modelFromSpec,
  optimizerFromSpec,
  restoreCheckpoint,
} from "../mod.ts";
import {
  batches,
  CLASSES,
  FEATURES,
  LAYERS,
  OPTIMIZER,
} from "./_helpers/data_parallel.ts";

/** The softmax of each row, in float64, as the definition to compare with. */
function softmax(logits: Float32Array, classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length; r += classes) {
    const row = [...logits.subarray(r, r + classes)];
    const max = Math.max(...row);
    const e = row.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / sum));
  }
  return out;
}

Deno.test("DataParallel.predict: 2 workers give the softmax of the same weights in one model, row by row", async () => {
  const [train, held] = batches(2, 33, 5);
  const make = (workers: number) =>
    DataParallel.create({
      model: LAYERS,
      inputShape: [FEATURES],
      optimizer: OPTIMIZER,
      backend: "reference",
      workers,
      seed: 3,
    });
  const parallel = await make(2);
  try {
    await parallel.trainStep(train.x, train.labels);
    const p = await parallel.predict(held.x);
    equal(p.length, 33 * CLASSES);

    // The definition: the same weights in a plain model, softmax in float64.
    const backend = await createBackend("reference");
    const model = modelFromSpec(LAYERS);
    model.build(backend, [FEATURES], { seed: 3 });
    restoreCheckpoint(
      model,
      optimizerFromSpec(OPTIMIZER, model.parameters()),
      await parallel.checkpoint(),
    );
    const logits = await backend.read(
      model.forward(backend.tensor(held.x, [33, FEATURES]), {
        training: false,
      }),
    );
    const want = softmax(logits, CLASSES);
    // Rows are independent in evaluation mode: the split over two workers
    // gives the whole batch's logits.
    // float32 rounding of a float64 softmax: within 1e-6 absolute.
    ok(want.every((v, i) => Math.abs(v - p[i]) <= 1e-6), "softmax differs");

    // The most probable class is what evaluate counts as correct.
    const predicted = Array.from(
      { length: 33 },
      (_, r) => {
        const row = [...p.subarray(r * CLASSES, (r + 1) * CLASSES)];
        return row.indexOf(Math.max(...row));
      },
    );
    const correct = predicted.filter((c, r) => c === held.labels[r]).length;
    const { accuracy } = await parallel.evaluate(held.x, held.labels);
    equal(accuracy, correct / 33);
  } finally {
    await parallel.dispose();
  }
});

Deno.test("DataParallel.predict: no rows give no probabilities; bad x is refused by name", async () => {
  const trainer = await DataParallel.create({
    model: LAYERS,
    inputShape: [FEATURES],
    optimizer: OPTIMIZER,
    backend: "reference",
    workers: 0,
  });
  try {
    equal((await trainer.predict(new Float32Array(0))).length, 0);
    await rejects(
      trainer.predict(new Float32Array(FEATURES + 1)),
      /Cannot predict with DataParallel: x must hold a whole number of rows of 20 values, got 21/,
    );
    await rejects(
      trainer.predict([1, 2] as unknown as Float32Array),
      /Cannot predict with DataParallel: x must be a Float32Array, got/,
    );
  } finally {
    await trainer.dispose();
  }
});
