/**
 * The kernel conformance suite: every training kernel on every accelerated
 * backend against the reference, on the same seeded inputs. Each kernel's
 * cases and tolerance (stated in a comment there) live in
 * `_helpers/conformance/<family>.ts`: bit-identical for kernels that only
 * select or move values, within 1e-6 of Σ|terms| for element-wise arithmetic,
 * and within 1e-5 of Σ|terms| for reductions and matrix products. Then, on
 * every backend: tensors that share storage (inputs with each other, outputs
 * in place where their kernel allows, the rest refused) and labels out of
 * range.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { assertSameBits } from "./_helpers/assert.ts";
import {
  ACCELERATED,
  ignoreBackend,
  withBackend,
} from "./_helpers/backends.ts";
import { type HostData, reference, runKernel } from "./_helpers/kernels.ts";
import { type KernelSpec, values } from "./_helpers/conformance/_spec.ts";
import * as batchnorm from "./_helpers/conformance/batchnorm.ts";
import * as conv from "./_helpers/conformance/conv.ts";
import * as elementwise from "./_helpers/conformance/elementwise.ts";
import * as loss from "./_helpers/conformance/loss.ts";
import * as matmul from "./_helpers/conformance/matmul.ts";
import * as optim from "./_helpers/conformance/optim.ts";
import * as pool from "./_helpers/conformance/pool.ts";
import * as sharing from "./_helpers/conformance/sharing.ts";
import type { Backend, BackendName, KernelName, Tensor } from "../mod.ts";

/** The kernels added after the Jumpout ones: each has conformance cases. */
const TRAINING_KERNELS: readonly KernelName[] = [
  "matmul",
  "bias_add",
  "bias_grad",
  "relu",
  "relu_backward",
  "im2col",
  "col2im",
  "transpose",
  "channel_stats",
  "batchnorm_forward",
  "batchnorm_backward",
  "axpby",
  "maxpool_forward",
  "maxpool_backward",
  "row_broadcast",
  "softmax_cross_entropy",
  "sgd_update",
  "adam_update",
];

const SPECS: Partial<Record<KernelName, KernelSpec>> = {
  ...elementwise,
  ...matmul,
  ...conv,
  ...batchnorm,
  ...pool,
  ...loss,
  ...optim,
};

Deno.test("conformance: every kernel of the reference backend has cases", () => {
  const table = (reference as unknown as { kernels: Record<string, unknown> })
    .kernels;
  const jumpoutKernels = ["count_active", "jumpout_params", "mask_scale"];
  deepEqual(
    Object.keys(table).sort(),
    [...jumpoutKernels, ...TRAINING_KERNELS].sort(),
  );
  deepEqual(Object.keys(SPECS).sort(), [...TRAINING_KERNELS].sort());
});

for (const name of ACCELERATED) {
  const ignore = await ignoreBackend(name);
  for (const kernel of TRAINING_KERNELS) {
    Deno.test(
      { name: `conformance: ${kernel} on ${name}`, ignore },
      async () => {
        const spec = SPECS[kernel];
        if (spec === undefined) {
          throw new Error(`No conformance cases for ${kernel}`);
        }
        await withBackend(name, async (backend) => {
          for (const c of spec.cases()) {
            const expected = await runKernel(reference, kernel, c);
            const actual = await runKernel(backend, kernel, c);
            await spec.check(c, actual, expected);
          }
        });
      },
    );
  }
}

/** Every backend, the reference included: sharing rules and bad labels hold on each. */
const ALL: BackendName[] = ["reference", ...ACCELERATED];

for (const name of ALL) {
  const ignore = await ignoreBackend(name);
  Deno.test(
    { name: `sharing: inputs passed as one tensor on ${name}`, ignore },
    async () => {
      await withBackend(name, async (backend) => {
        for (const s of sharing.sharedInputs()) await checkShared(backend, s);
      });
    },
  );
  Deno.test(
    {
      name: `sharing: outputs written in place where allowed on ${name}`,
      ignore,
    },
    async () => {
      await withBackend(name, async (backend) => {
        for (const s of sharing.inPlace()) await checkShared(backend, s);
      });
    },
  );
  Deno.test(
    {
      name:
        `sharing: other shared outputs are refused before running on ${name}`,
      ignore,
    },
    async () => {
      await withBackend(name, async (backend) => {
        for (const c of sharing.refused()) await checkRefused(backend, c);
      });
    },
  );
  Deno.test(
    { name: `softmax_cross_entropy: labels >= cols on ${name}`, ignore },
    async () => {
      await withBackend(name, (backend) => checkUnknownLabels(backend));
    },
  );
}

/**
 * Runs a call with two arguments on one tensor and compares every tensor with
 * the reference run on separate tensors.
 */
async function checkShared(
  backend: Backend,
  s: sharing.SharedCase,
): Promise<void> {
  const separate = await runKernel(reference, s.kernel, s.separate);
  const call = sharing.sharedCall(s);
  const actual = await runKernel(backend, s.kernel, call);
  const expected = sharing.sharedExpected(s, separate);
  await sharing.CHECKS[s.kernel]!(
    { ...s.separate, what: `${backend.name}: ${call.what}` },
    actual,
    expected,
  );
}

/** The call throws its TypeError and leaves every tensor as it was. */
async function checkRefused(
  backend: Backend,
  c: sharing.RefusedCase,
): Promise<void> {
  const made: Record<string, Tensor> = {};
  for (const [name, data] of Object.entries(c.tensors)) {
    if (name === c.alias) continue;
    made[name] = hostTensor(backend, data);
  }
  const target = made[c.target];
  made[c.alias] = c.view ? backend.reshape(target, [target.size]) : target;
  throws(
    () => backend.run(c.kernel, { ...c.scalars, ...made } as never),
    { name: "TypeError", message: c.message },
  );
  for (const [name, data] of Object.entries(c.tensors)) {
    if (name === c.alias) continue;
    assertSameBits(
      await backend.read(made[name]),
      data,
      `${backend.name} ${c.kernel}: ${name} after the refusal`,
    );
  }
  // The view before its base, whose release would end it.
  if (c.view) backend.release(made[c.alias]);
  for (const [name, t] of Object.entries(made)) {
    if (name !== c.alias) backend.release(t);
  }
}

/** A new tensor on `backend` holding `data`. */
function hostTensor(backend: Backend, data: HostData): Tensor {
  const dtype = data instanceof Float32Array ? "float32" : "uint32";
  const t = backend.allocate([data.length], dtype);
  backend.upload(t, data as never);
  return t;
}

/**
 * Rows whose label is `cols`, 2^31 or 2^32 - 1 (and, on wasm, one aimed at
 * the tensor allocated after dlogits) next to rows with valid labels: the
 * mean loss is NaN, only valid rows count as correct, a bad row's dlogits are
 * softmax / rows and a valid row's (softmax - onehot) / rows, and the tensor
 * after dlogits keeps its values. A first call has one bad label only, `cols`
 * in a middle row, where reading x[label] would read the next row's first
 * logit. dlogits within 1e-5 of (softmax + onehot) / rows, from float64 here;
 * the count of correct rows exact.
 */
async function checkUnknownLabels(backend: Backend): Promise<void> {
  const rows = 6, cols = 5;
  const x = values(rows * cols, 60);
  const logits = backend.tensor(x, [rows, cols]);
  const labels = backend.allocate([rows], "uint32");
  const dlogits = backend.allocate([rows, cols]);
  const guardValues = values(64, 61);
  const guard = backend.tensor(guardValues, [64]);
  const result = backend.allocate([2]);
  // Row 5 on wasm: the label whose element would be the guard's 3rd value,
  // were the kernel to index past the row.
  const aimed = typeof guard.storage === "number"
    ? ((guard.storage as number) - (dlogits.storage as number)) / 4 + 2 -
      5 * cols
    : cols + 1;
  ok(aimed >= cols, `aimed label ${aimed}`);
  const valid = (r: number, shift: number) =>
    (firstMax(x, r, cols) + shift) % cols;
  const cases = [
    [valid(0, 0), valid(1, 0), cols, valid(3, 1), valid(4, 0), valid(5, 2)],
    [valid(0, 0), cols, 2 ** 31, valid(3, 1), 2 ** 32 - 1, aimed],
  ];
  for (const host of cases.map((c) => new Uint32Array(c))) {
    const what = `${backend.name} labels ${host.join(", ")}`;
    backend.upload(labels, host);
    backend.run("softmax_cross_entropy", {
      logits,
      labels,
      dlogits,
      result,
      rows,
      cols,
    });
    const d = await backend.read(dlogits);
    const [loss, correct] = await backend.read(result);
    ok(Number.isNaN(loss), `${what}: mean loss ${loss}, expected NaN`);
    const right = host.filter((l, r) => l === firstMax(x, r, cols)).length;
    equal(correct, right, `${what}: correct rows`);
    for (let r = 0; r < rows; r++) {
      const row = [...x.subarray(r * cols, (r + 1) * cols)];
      const max = Math.max(...row);
      const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
      for (let j = 0; j < cols; j++) {
        const p = Math.exp(row[j] - max) / sum;
        const onehot = host[r] === j ? 1 : 0;
        const want = (p - onehot) / rows, got = d[r * cols + j];
        ok(
          Math.abs(got - want) <= 1e-5 * (p + onehot) / rows,
          `${what}: dlogits[${r}, ${j}]: got ${got}, expected ${want}`,
        );
      }
    }
    assertSameBits(await backend.read(guard), guardValues, `${what}: guard`);
  }
  for (const t of [logits, labels, dlogits, guard, result]) backend.release(t);
}

/** The column of row `r`'s first maximum. */
function firstMax(x: Float32Array, r: number, cols: number): number {
  const row = [...x.subarray(r * cols, (r + 1) * cols)];
  return row.indexOf(Math.max(...row));
}
