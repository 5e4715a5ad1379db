/**
 * Memory that frees itself: `Backend.scope` releases what a block of work
 * allocated except what it returns, `Backend.keep` takes a tensor out,
 * tensors release themselves at the end of a `using` block, and
 * `Backend.memoryUsage` counts what is live. What the library keeps for
 * itself (parameters, optimiser state, workspaces, a loss's result) outlives
 * every scope, even when first allocated inside one; a thousand training
 * steps, one scope each, leave memory where the first left it.
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  Adam,
  type Backend,
  type BackendName,
  BatchNorm,
  Conv2d,
  createBackend,
  Dense,
  Flatten,
  Jumpout,
  labelsTensor,
  MaxPool2d,
  ReLU,
  Sequential,
  SoftmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";
import { workspace } from "../src/layers/_workspace.ts";

for (const name of ["reference", "wasm"] as BackendName[]) {
  Deno.test(`${name}: a scope releases what it allocated, except what it returns`, async () => {
    const backend = await createBackend(name);
    const before = backend.memoryUsage();
    const outside = backend.allocate([4]);
    const made: Tensor[] = [];
    const got = backend.scope(() => {
      const a = backend.allocate([2]);
      const b = backend.tensor(new Float32Array([1, 2, 3]), [3]);
      const c = backend.allocate([5], "uint32");
      const released = backend.allocate([6]);
      backend.release(released);
      made.push(a, b, c, backend.reshape(outside, [2, 2]));
      return { b, list: [c, backend.view(outside, [1])] };
    });
    ok(made[0].released, "not returned: released");
    ok(!made[1].released && !made[2].released, "returned: live");
    ok(!outside.released && !made[3].released, "outside's storage is not its");
    equal(got.b, made[1]);
    deepEqual([...(await backend.read(got.b))], [1, 2, 3]);
    deepEqual(backend.memoryUsage(), {
      tensors: before.tensors + 3,
      bytes: before.bytes + 4 * (4 + 3 + 5),
    });
    backend.release(got.b);
    backend.release(got.list[0]);
    backend.release(outside);
    deepEqual(backend.memoryUsage(), before);
    backend.dispose();
  });
}

Deno.test("a returned view keeps its base; returned tensors pass to the enclosing scope", async () => {
  const backend = await createBackend("reference");
  const before = backend.memoryUsage();
  let base: Tensor | undefined;
  let innerResult: Tensor | undefined;
  const outer = backend.scope(() => {
    const view = backend.scope(() => {
      base = backend.tensor(new Float32Array([1, 2, 3, 4]), [4]);
      return backend.view(base, [2]);
    });
    ok(!base!.released, "kept by the returned view");
    deepEqual([...backend.readSync!(view)], [1, 2]);
    innerResult = backend.scope(() => backend.allocate([3]));
    return view;
  });
  ok(!base!.released && !outer.released, "returned again: still live");
  ok(innerResult!.released, "the outer scope released the inner one's result");
  backend.release(base!);
  ok(outer.released, "a view of a released tensor");
  deepEqual(backend.memoryUsage(), before);
});

Deno.test("a scope releases when fn throws, refuses an async fn, and keep() lets a tensor out", async () => {
  const backend = await createBackend("wasm");
  const before = backend.memoryUsage();
  let inside: Tensor | undefined;
  throws(() =>
    backend.scope(() => {
      inside = backend.allocate([8]);
      throw new RangeError("boom");
    }), /boom/);
  ok(inside!.released);
  await rejects(async () => {
    await backend.scope(async () => {
      inside = backend.allocate([8]);
      await Promise.resolve();
    });
  }, /Cannot run a scope: fn must return synchronously, got a promise/);
  ok(inside!.released);
  throws(
    () => backend.scope(42 as never),
    /Cannot run a scope: fn must be a function, got number/,
  );
  let kept: Tensor | undefined;
  backend.scope(() => {
    backend.scope(() => {
      kept = backend.keep(backend.view(backend.allocate([4]), [2]));
    });
  });
  ok(!kept!.released && !kept!.base!.released, "kept from every scope");
  backend.release(kept!.base!);
  throws(
    () => backend.keep(kept!),
    /Cannot keep a tensor: tensor was released/,
  );
  deepEqual(backend.memoryUsage(), before);
  backend.dispose();
});

Deno.test("using: a tensor releases itself at the end of its block, once; a view frees nothing", async () => {
  const backend = await createBackend("wasm");
  const before = backend.memoryUsage();
  const x = backend.allocate([4, 4]);
  let view: Tensor | undefined;
  {
    using y = backend.allocate([16]);
    using v = backend.reshape(x, [16]);
    view = v;
    deepEqual(backend.memoryUsage().tensors, before.tensors + 2);
    y[Symbol.dispose]();
    ok(y.released);
  }
  ok(view!.released && !x.released, "the view went, its base stays");
  deepEqual(backend.memoryUsage().tensors, before.tensors + 1);
  x[Symbol.dispose]();
  x[Symbol.dispose]();
  throws(() => backend.release(x), /tensor was released/);
  deepEqual(backend.memoryUsage(), before);
  const left = backend.allocate([8]);
  backend.dispose();
  deepEqual(backend.memoryUsage(), { tensors: 0, bytes: 0 });
  ok(left.storage !== undefined);
});

/**
 * A small CNN with everything that keeps state: conv workspaces, BatchNorm
 * running and batch statistics, max pooling's argmax, Jumpout's per-row
 * tensors, Adam's two slots, the loss's result.
 */
function smallCnn(): Sequential {
  return new Sequential([
    new Conv2d(1, 4, 3, { padding: 1 }),
    new BatchNorm(4),
    new ReLU(),
    new MaxPool2d(2),
    new Jumpout({ seed: 3 }),
    new Flatten(),
    new Dense(4 * 2 * 2, 3),
  ]);
}

/** A batch of `n` 4×4 images whose class is the brightest quadrant of three. */
function batch(backend: Backend, n: number, seed: number) {
  const images = new Float32Array(n * 16);
  const classes: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = (i * 7 + seed) % 3;
    classes.push(c);
    for (let p = 0; p < 16; p++) {
      const quadrant = (p >> 3) * 2 + ((p & 3) >> 1);
      images[i * 16 + p] = (quadrant === c ? 1 : 0) +
        0.1 * Math.sin(seed * 31 + i * 17 + p);
    }
  }
  return {
    x: backend.tensor(images, [n, 1, 4, 4]),
    labels: labelsTensor(backend, classes, 3),
  };
}

Deno.test("wasm: 1,000 training steps, one scope each, keep memory flat and learn", async () => {
  const backend = await createBackend("wasm");
  const model = smallCnn();
  const loss = new SoftmaxCrossEntropy();
  const start = backend.memoryUsage();
  // Built inside a scope: the parameters and running statistics outlive it.
  backend.scope(() => model.build(backend, [1, 4, 4], { seed: 1 }));
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  // The loss comes out in an object: a scope's fn must not return a promise.
  const step = (i: number) =>
    backend.scope(() => {
      const { x, labels } = batch(backend, 8, i);
      const logits = model.forward(x, { training: true });
      const { loss: value, grad } = loss.forward(logits, labels);
      model.backward(grad);
      optimizer.step();
      return { value };
    });
  const first = await step(0).value;
  const afterFirst = backend.memoryUsage();
  ok(afterFirst.tensors > start.tensors, "parameters and state are live");
  const usage: string[] = [];
  let lastValue = Promise.resolve(first);
  for (let i = 1; i < 1000; i++) {
    lastValue = step(i).value;
    if (i % 250 === 0) usage.push(JSON.stringify(backend.memoryUsage()));
  }
  deepEqual(backend.memoryUsage(), afterFirst);
  deepEqual(usage, Array(3).fill(JSON.stringify(afterFirst)));
  const last = await lastValue;
  ok(last < first / 2, `loss ${first} → ${last}`);
  // Evaluation in a scope: the logits come out, the rest is released.
  const logits = backend.scope(() => {
    const { x } = batch(backend, 8, 5);
    return model.forward(x, { training: false });
  });
  deepEqual(backend.memoryUsage().tensors, afterFirst.tensors + 1);
  backend.release(logits);
  for (const t of [...model.state().values(), ...optimizer.state().values()]) {
    ok(!t.released);
  }
  model.dispose();
  optimizer.dispose();
  loss.dispose();
  deepEqual(backend.memoryUsage(), start);
  backend.dispose();
});

Deno.test("reference: what a layer keeps for backward outlives the scope of its forward", async () => {
  const backend = await createBackend("reference");
  const layers = [
    new BatchNorm(2),
    new MaxPool2d(2),
    new Jumpout({ seed: 1 }),
    new Conv2d(2, 2, 3, { padding: 1 }),
  ];
  const shape = [2, 2, 4, 4];
  const x = backend.tensor(
    Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
    shape,
  );
  for (const [i, layer] of layers.entries()) {
    const out = layer.build(backend, shape, i, `${i}.`);
    const y = backend.scope(() => layer.forward(x, { training: true }));
    const dy = backend.tensor(new Float32Array(y.size).fill(1), out);
    const dx = layer.backward(dy);
    deepEqual(dx.shape, shape, layer.name);
    layer.dispose();
  }
});

Deno.test("reference: a workspace first taken inside a scope outlives it", async () => {
  const backend = await createBackend("reference");
  const conv = new Conv2d(1, 2, 3);
  conv.build(backend, [1, 1, 4, 4], 1, "0.");
  let cols: Tensor | undefined;
  backend.scope(() => {
    conv.forward(backend.allocate([1, 1, 4, 4]));
    cols = workspace(backend, "conv.cols", [1]).base;
  });
  ok(cols !== undefined && !cols.released);
  conv.dispose();
  ok(cols.released, "the last claim's end frees it");
});
