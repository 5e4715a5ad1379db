/**
 * A training step keeps everything on the backend: the only value read back
 * is the loss result (two numbers), on every backend, with every kind of
 * layer in the model (convolution, batch norm, pooling, Jumpout, Dropout).
 * On webgpu the loss's read joins the step's submission instead of making
 * one of its own: a step here is three submissions, one up to each mask
 * layer (whose upload of the step's rate, a queue write, must follow the
 * kernels recorded before it) and the rest, read included.
 */
import { deepEqual, ok } from "node:assert/strict";
import {
  type Backend,
  type BackendName,
  BatchNorm,
  Conv2d,
  Dense,
  Dropout,
  Flatten,
  Jumpout,
  labelsTensor,
  MaxPool2d,
  ReLU,
  Sequential,
  SGD,
  SoftmaxCrossEntropy,
  type Tensor,
  trainStep,
} from "../mod.ts";
import { ignoreBackend, pattern, withBackend } from "./_helpers/backends.ts";

/**
 * Wraps the backend's reads, async and sync, so that the test sees each
 * one's size (a sync read made inside an async one counts once).
 */
function countReads(backend: Backend): number[] {
  const sizes: number[] = [];
  let inRead = false;
  const read = backend.read.bind(backend);
  backend.read = (<D extends "float32" | "uint32">(t: Tensor<D>) => {
    sizes.push(t.size);
    inRead = true;
    try {
      return read(t);
    } finally {
      inRead = false;
    }
  }) as Backend["read"];
  if (backend.readSync) {
    const readSync = backend.readSync.bind(backend);
    backend.readSync = (<D extends "float32" | "uint32">(t: Tensor<D>) => {
      if (!inRead) sizes.push(t.size);
      return readSync(t);
    }) as Backend["readSync"];
  }
  return sizes;
}

/**
 * Counts the webgpu device's queue submissions, one entry per training step
 * of the test (a read's completion closes a step's count).
 */
function countSubmissions(backend: Backend): number[] {
  const counts: number[] = [];
  const device = (backend as { device?: GPUDevice }).device;
  if (device === undefined) return counts;
  let open = 0;
  const submit = device.queue.submit.bind(device.queue);
  device.queue.submit = (buffers) => {
    open++;
    return submit(buffers);
  };
  const read = backend.read.bind(backend);
  backend.read = (async <D extends "float32" | "uint32">(t: Tensor<D>) => {
    const values = await read(t);
    counts.push(open);
    open = 0;
    return values;
  }) as Backend["read"];
  return counts;
}

for (const name of ["reference", "wasm", "webgpu"] as BackendName[]) {
  Deno.test({
    name: `a training step on ${name} reads back only the loss and accuracy`,
    ignore: await ignoreBackend(name),
    fn: () =>
      withBackend(name, async (backend) => {
        const model = new Sequential([
          new Conv2d(1, 4, 3, { padding: 1 }),
          new BatchNorm(4),
          new ReLU(),
          new Jumpout(),
          new MaxPool2d(2),
          new Flatten(),
          new Dense(4 * 4 * 4, 8),
          new ReLU(),
          new Dropout({ rate: 0.1 }),
          new Dense(8, 3),
        ]);
        model.build(backend, [1, 8, 8], { seed: 3 });
        const x = backend.tensor(pattern(6 * 64, 5), [6, 1, 8, 8]);
        const labels = labelsTensor(backend, [0, 1, 2, 0, 1, 2], 3);
        const loss = new SoftmaxCrossEntropy();
        const optimizer = new SGD(model.parameters(), {
          lr: 0.01,
          momentum: 0.9,
        });
        const reads = countReads(backend);
        const submissions = countSubmissions(backend);
        for (let step = 0; step < 3; step++) {
          const r = await trainStep({ model, loss, optimizer, x, labels });
          ok(Number.isFinite(r.loss) && r.loss > 0, `step ${step}: ${r.loss}`);
        }
        deepEqual(reads, [2, 2, 2]);
        if (name === "webgpu") deepEqual(submissions, [3, 3, 3]);
        model.dispose();
        loss.dispose();
        optimizer.dispose();
      }),
  });
}
