/**
 * trainStep and evaluateStep: the mode each passes to the model, the order of
 * the calls, what they release (everything they made, never the caller's
 * tensors) and what they return.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createBackend, type Tensor } from "../mod.ts";
import { labelsTensor, SoftmaxCrossEntropy } from "../src/layers/loss.ts";
import { evaluateStep, trainStep } from "../src/optim/train_step.ts";

const backend = await createBackend("reference");

/** A model whose logits are `2·x`, recording what happens to it. */
function recordingModel() {
  const calls: string[] = [];
  const made: Tensor[] = [];
  const model = {
    forward(x: Tensor, { training }: { training: boolean }) {
      calls.push(`forward training=${training}`);
      const y = backend.allocate(x.shape);
      backend.run("axpby", {
        x: x as Tensor<"float32">,
        y,
        n: x.size,
        alpha: 2,
        beta: 0,
      });
      made.push(y);
      return y;
    },
    backward(dy: Tensor) {
      calls.push("backward");
      made.push(dy);
      const dx = backend.allocate(dy.shape);
      made.push(dx);
      return dx;
    },
  };
  return { model, calls, made };
}

Deno.test("trainStep runs forward, loss, backward, step and releases what it made", async () => {
  const { model, calls, made } = recordingModel();
  const x = backend.tensor(new Float32Array([1, 0, 0, 1, 2, 0]), [3, 2]);
  const labels = labelsTensor(backend, [0, 1, 1], 2);
  const loss = new SoftmaxCrossEntropy();
  const optimizer = { step: () => calls.push("step") };
  const result = await trainStep({ model, loss, optimizer, x, labels });
  deepEqual(calls, ["forward training=true", "backward", "step"]);
  // Logits 2x: rows [2, 0], [0, 2], [4, 0]; labels 0, 1, 1.
  const exact = (2 * Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(4))) / 3;
  ok(Math.abs(result.loss - exact) < 1e-6, `loss ${result.loss} vs ${exact}`);
  equal(result.accuracy, 2 / 3);
  equal(made.length, 3); // logits, the loss's gradient, dx
  ok(made.every((t) => t.released), "a tensor the step made is still live");
  ok(!x.released && !labels.released, "the caller's tensors were released");
});

Deno.test("evaluateStep runs in evaluation mode and releases what it made", async () => {
  const { model, calls, made } = recordingModel();
  const x = backend.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]);
  const labels = labelsTensor(backend, [1, 1], 2);
  const result = await evaluateStep({
    model,
    loss: new SoftmaxCrossEntropy(),
    x,
    labels,
  });
  deepEqual(calls, ["forward training=false"]);
  equal(result.accuracy, 0.5);
  ok(made.every((t) => t.released) && !x.released && !labels.released);
});

Deno.test("an identity model's logits are the caller's x and stay live", async () => {
  const identity = { forward: (x: Tensor) => x, backward: (dy: Tensor) => dy };
  const x = backend.tensor(new Float32Array([3, 1]), [1, 2]);
  const labels = labelsTensor(backend, [0], 2);
  const loss = new SoftmaxCrossEntropy();
  await trainStep({
    model: identity,
    loss,
    optimizer: { step() {} },
    x,
    labels,
  });
  await evaluateStep({ model: identity, loss, x, labels });
  ok(!x.released);
});

Deno.test("a failing step still releases what it made", async () => {
  const { model, made } = recordingModel();
  const x = backend.tensor(new Float32Array([1, 2]), [1, 2]);
  const labels = labelsTensor(backend, [0, 0], 2); // 2 labels for 1 row
  await rejects(
    trainStep({
      model,
      loss: new SoftmaxCrossEntropy(),
      optimizer: { step() {} },
      x,
      labels,
    }),
    /labels must be \[N\] with N = 1 rows of logits/,
  );
  equal(made.length, 1);
  ok(made[0].released && !x.released);
});

Deno.test("a label the logits have no column for still runs the step and reports a NaN loss", async () => {
  const { model, calls, made } = recordingModel();
  const x = backend.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  const labels = labelsTensor(backend, [0, 5], 10); // fine for 10 classes, not for 2
  const optimizer = { step: () => calls.push("step") };
  const result = await trainStep({
    model,
    loss: new SoftmaxCrossEntropy(),
    optimizer,
    x,
    labels,
  });
  ok(Number.isNaN(result.loss), `loss ${result.loss}, not NaN`);
  deepEqual(calls, ["forward training=true", "backward", "step"]);
  equal(made.length, 3); // logits, the loss's gradient, dx
  ok(made.every((t) => t.released) && !x.released && !labels.released);
});
