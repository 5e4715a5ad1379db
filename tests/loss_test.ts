/**
 * Softmax cross-entropy against float64 on the host: the loss value, the
 * gradient (against central finite differences of the float64 loss), extreme
 * logits, the accuracy count, label checks, and what each forward's output
 * reads back (its own values, even after later forwards; a failed read).
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { type BackendName, createBackend, type Tensor } from "../mod.ts";
import { ReferenceBackend } from "../src/backends/reference.ts";
import { labelsTensor, SoftmaxCrossEntropy } from "../src/layers/loss.ts";
import { ignoreBackend, pattern, withBackend } from "./_helpers/backends.ts";

const backend = await createBackend("reference");

/** Mean cross-entropy of float64 logits `[rows, cols]`, stable around each row's max. */
function loss64(x: Float64Array, labels: number[], cols: number): number {
  const rows = labels.length;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    total += Math.log(sum) + max - row[labels[r]];
  }
  return total / rows;
}

async function run(data: Float32Array, labels: number[], cols: number) {
  const logits = backend.tensor(data, [labels.length, cols]);
  const output = new SoftmaxCrossEntropy().forward(
    logits,
    labelsTensor(backend, labels, cols),
  );
  return {
    loss: await output.loss,
    accuracy: await output.accuracy,
    grad: await backend.read(output.grad),
  };
}

Deno.test("loss and gradient match float64 and its finite differences", async () => {
  const rows = 6, cols = 5;
  const data = pattern(rows * cols, 3).map((v) => v * 2);
  const labels = [0, 4, 2, 2, 1, 3];
  const { loss, grad } = await run(data, labels, cols);
  const x = Float64Array.from(data);
  // float32 result of a float64 sum of ~1: 1e-6 relative.
  const exact = loss64(x, labels, cols);
  ok(Math.abs(loss - exact) <= 1e-6 * exact, `loss ${loss} vs ${exact}`);
  // Central differences in float64: truncation error ~h² ≈ 1e-10; the kernel's
  // float32 gradient entries (|g| < 1/rows) are good to ~1e-8. Allow 1e-7.
  const h = 1e-5;
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = loss64(x, labels, cols);
    x[i] = saved - h;
    const down = loss64(x, labels, cols);
    x[i] = saved;
    const numeric = (up - down) / (2 * h);
    ok(
      Math.abs(grad[i] - numeric) <= 1e-7,
      `dlogits[${i}]: ${grad[i]} vs finite difference ${numeric}`,
    );
  }
  // Each row of (softmax - onehot) sums to 0.
  for (let r = 0; r < rows; r++) {
    const s = grad.subarray(r * cols, (r + 1) * cols).reduce((a, b) => a + b);
    ok(Math.abs(s) <= 1e-7, `row ${r} of dlogits sums to ${s}`);
  }
});

Deno.test("logits of ±1e4 give finite, exact losses and gradients", async () => {
  const data = new Float32Array([
    1e4,
    -1e4,
    0, // label 0: loss 0
    -1e4,
    1e4,
    0, // label 0: loss 2e4
    1e4,
    1e4,
    -1e4, // label 1: loss ln 2, but the first maximum is column 0
  ]);
  const { loss, accuracy, grad } = await run(data, [0, 0, 1], 3);
  const exact = (0 + 2e4 + Math.LN2) / 3;
  // float32 keeps 24 bits: 1e-6 relative of 6667.
  ok(Math.abs(loss - exact) <= 1e-6 * exact, `loss ${loss} vs ${exact}`);
  equal(accuracy, 1 / 3);
  ok(grad.every(Number.isFinite), `dlogits finite: ${grad}`);
  // (softmax - onehot) / 3, softmax being 0, 1 or 1/2 here up to e^-1e4.
  const expected = [0, 0, 0, -1 / 3, 1 / 3, 0, 1 / 6, -1 / 6, 0];
  expected.forEach((e, i) =>
    ok(Math.abs(grad[i] - e) <= 1e-7, `dlogits[${i}] ${grad[i]} vs ${e}`)
  );
});

Deno.test("accuracy counts rows whose label is the first maximum", async () => {
  const data = new Float32Array([
    ...[3, 1, 2], // argmax 0
    ...[0, 5, 5], // tie: first maximum is 1
    ...[0, 5, 5], // tie, label 2 is not the first maximum
    ...[-1, -2, -0.5], // argmax 2
    ...[7, 7, 7], // all tied: 0
  ]);
  const { accuracy } = await run(data, [0, 1, 2, 2, 0], 3);
  equal(accuracy, 4 / 5);
  const wrong = await run(data, [1, 0, 0, 0, 2], 3);
  equal(wrong.accuracy, 0);
});

Deno.test("an empty batch gives loss 0 and accuracy 0", async () => {
  const { loss, accuracy } = await run(new Float32Array(0), [], 4);
  equal(loss, 0);
  equal(accuracy, 0);
});

for (const name of ["reference", "wasm", "webgpu"] as BackendName[]) {
  Deno.test({
    name:
      `${name}: each forward's loss and accuracy stay its own after a later forward`,
    ignore: await ignoreBackend(name),
    fn: () =>
      withBackend(name, async (b) => {
        const loss = new SoftmaxCrossEntropy();
        const a = b.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]);
        const c = b.tensor(new Float32Array([1, 0, 0, 1, 1, 0]), [3, 2]);
        // Both forwards write the same result tensor before either is read.
        const first = loss.forward(a, labelsTensor(b, [0, 1], 2));
        const second = loss.forward(c, labelsTensor(b, [0, 0, 1], 2));
        // Every row is [a, a ± 1]: its loss is softplus(∓1).
        const [right, wrong] = [Math.log1p(1 / Math.E), Math.log1p(Math.E)];
        const values = await Promise.all([
          first.loss,
          first.accuracy,
          second.loss,
          second.accuracy,
        ]);
        const expected = [right, 1, (right + 2 * wrong) / 3, 1 / 3];
        values.forEach((v, i) =>
          ok(
            Math.abs(v - expected[i]) <= 1e-6,
            `${name}: value ${i} is ${v}, expected ${expected[i]}`,
          )
        );
        b.release(first.grad);
        b.release(second.grad);
        loss.dispose();
        // The loss can run again after dispose.
        const again = loss.forward(a, labelsTensor(b, [1, 1], 2));
        equal(await again.accuracy, 0.5, name);
        b.release(again.grad);
        loss.dispose();
      }),
  });
}

Deno.test("a failed read rejects both values and leaves no unhandled rejection", async () => {
  const b = new ReferenceBackend();
  b.read =
    (() => Promise.reject(new Error("the device is lost"))) as typeof b.read;
  const logits = b.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]);
  const labels = labelsTensor(b, [0, 1], 2);
  const unhandled: unknown[] = [];
  const record = (event: PromiseRejectionEvent) => {
    unhandled.push(event.reason);
    event.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", record);
  try {
    const loss = new SoftmaxCrossEntropy();
    // One output awaits only its loss, the other only its accuracy.
    const first = loss.forward(logits, labels);
    const second = loss.forward(logits, labels);
    b.release(first.grad);
    b.release(second.grad);
    await rejects(first.loss, /the device is lost/);
    await rejects(second.accuracy, /the device is lost/);
    // Unhandled rejections are reported once the pending jobs have run.
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    globalThis.removeEventListener("unhandledrejection", record);
  }
  deepEqual(unhandled, []);
});

Deno.test("shape mismatches name both shapes", () => {
  const loss = new SoftmaxCrossEntropy();
  const logits = backend.allocate([4, 3]);
  throws(
    () => loss.forward(logits, labelsTensor(backend, [0, 1, 2], 3)),
    /^RangeError: Cannot run SoftmaxCrossEntropy forward: labels must be \[N\] with N = 4 rows of logits, got logits \[4, 3\] and labels \[3\]$/,
  );
  throws(
    () =>
      loss.forward(backend.allocate([4, 3, 1]), labelsTensor(backend, [0], 3)),
    /logits must be \[N, C\] with C >= 1, got logits \[4, 3, 1\] and labels \[1\]/,
  );
  throws(
    () =>
      loss.forward(
        backend.allocate([2, 0]),
        backend.allocate([2], "uint32"),
      ),
    /logits must be \[N, C\] with C >= 1, got logits \[2, 0\]/,
  );
  throws(
    () =>
      loss.forward(
        backend.allocate([4], "uint32") as unknown as Tensor,
        labelsTensor(backend, [0], 3),
      ),
    /TypeError: .*logits must be a float32 tensor, got uint32/,
  );
  throws(
    () =>
      loss.forward(
        logits,
        backend.allocate([4]) as unknown as Tensor<"uint32">,
      ),
    /TypeError: .*labels must be a uint32 tensor, got float32/,
  );
});

Deno.test("labels on another backend are refused", async () => {
  const other = await createBackend("reference");
  throws(
    () =>
      new SoftmaxCrossEntropy().forward(
        backend.allocate([1, 2]),
        labelsTensor(other, [0], 2),
      ),
    /labels must be on the reference backend of logits/,
  );
});

Deno.test("labelsTensor checks every label on the host", async () => {
  const ok3 = labelsTensor(backend, new Uint32Array([2, 0, 1]), 3);
  equal(ok3.dtype, "uint32");
  equal([...(await backend.read(ok3))].join(), "2,0,1");
  throws(
    () => labelsTensor(backend, [0, 1, 3], 3),
    /^RangeError: Cannot create labels: labels\[2\] must be an integer in \[0, 3\), got 3$/,
  );
  throws(
    () => labelsTensor(backend, new Uint32Array([5]), 3),
    /labels\[0\] must be an integer in \[0, 3\), got 5/,
  );
  // A data set's labels as they come (Uint8Array), and other typed arrays.
  const bytes = labelsTensor(backend, new Uint8Array([1, 2]), 3);
  equal([...(await backend.read(bytes))].join(), "1,2");
  throws(
    () => labelsTensor(backend, new Int32Array([-1]), 3),
    /labels\[0\] .*got -1/,
  );
  throws(
    () => labelsTensor(backend, new DataView(new ArrayBuffer(4)) as never, 3),
    /labels must be an array or a typed array of numbers, got/,
  );
  throws(() => labelsTensor(backend, [-1], 3), /labels\[0\] .*got -1/);
  throws(() => labelsTensor(backend, [0.5], 3), /labels\[0\] .*got 0\.5/);
  throws(() => labelsTensor(backend, [NaN], 3), /labels\[0\] .*got NaN/);
  throws(
    () => labelsTensor(backend, [0], 0),
    /classes must be an integer >= 1, got 0/,
  );
});

Deno.test("a label the logits have no column for gives a NaN loss; re-uploaded labels are read afresh", async () => {
  for (const name of ["reference", "wasm"] as const) {
    const b = await createBackend(name);
    // Rows [1, 2] and [3, 4]: every row is [a, a + 1].
    const logits = b.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    const loss = new SoftmaxCrossEntropy();
    // Made for 100 classes: label 40 names no column of these logits.
    const labels = labelsTensor(b, [0, 40], 100);
    const wide = loss.forward(logits, labels);
    const refused = await wide.loss;
    ok(Number.isNaN(refused), `${name}: loss ${refused}, not NaN`);
    // Row 0's label 0 is not its largest logit, row 1 counts as wrong.
    equal(await wide.accuracy, 0, name);
    // The same tensor, re-uploaded with labels that fit: no stale verdict.
    b.upload(labels, new Uint32Array([0, 1]));
    const fits = loss.forward(logits, labels);
    const value = await fits.loss;
    // softplus(1) for label 0, softplus(-1) for label 1, in float32 (1e-6).
    const expected = (Math.log1p(Math.E) + Math.log1p(1 / Math.E)) / 2;
    ok(
      Math.abs(value - expected) <= 1e-6,
      `${name}: loss ${value} vs ${expected}`,
    );
    equal(await fits.accuracy, 0.5, name);
    b.release(wide.grad);
    b.release(fits.grad);
    b.dispose();
  }
});

Deno.test("a failing kernel releases the gradient that forward made", () => {
  const b = new ReferenceBackend();
  const made: Tensor[] = [];
  const allocate = b.allocate.bind(b);
  b.allocate = ((...args: Parameters<typeof b.allocate>) => {
    const t = allocate(...args);
    made.push(t);
    return t;
  }) as typeof b.allocate;
  b.run = () => {
    throw new Error("the device is gone");
  };
  const logits = b.tensor(new Float32Array(6), [2, 3]);
  const labels = labelsTensor(b, [0, 2], 3);
  made.length = 0;
  throws(
    () => new SoftmaxCrossEntropy().forward(logits, labels),
    /the device is gone/,
  );
  const grad = made.filter((t) => t.shape.join() === "2,3");
  equal(grad.length, 1, "forward allocates one gradient");
  ok(grad[0].released, "the gradient is released");
});
