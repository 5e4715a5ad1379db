/**
 * The kernel conformance suite: one table of rows, every kernel on every
 * backend against the reference (the definition), on the same seeded inputs.
 *
 * The table is `SPECS`: for each kernel of `KERNELS`, a `KernelSpec` from its
 * family's file, `_helpers/conformance/<family>.ts` (jumpout, elementwise,
 * matmul, conv, batchnorm, pool, loss, optim). Its `rows()` are the calls to
 * make; its `check` is the kernel's tolerance, stated at the top of the file:
 * bit-identical for kernels that only select or move values (masks included),
 * within 1e-6 of Σ|terms| for element-wise arithmetic, within 1e-5 of
 * Σ|terms| for reductions and matrix products.
 *
 * A row (`Row` in `_spec.ts`) is one call: `what` it stresses, every tensor's
 * values (outputs prefilled with NaN or stale values, so that an element a
 * kernel skips shows), the other arguments, and optionally `same` (arguments
 * passed as another's tensor, e.g. `{ y: "x" }` in place), `tol` (its own
 * tolerance), `expect` (outputs worked out by hand, bit for bit) and `skip`
 * (a backend whose contract excludes the row, with the reason).
 *
 * Each row runs on wasm and webgpu and is compared with the reference run on
 * separate tensors; its inputs must come back unchanged (in rows of up to
 * 2^22 elements: reading back more takes seconds on llvmpipe). The reference
 * runs the rows where that is not comparing it with itself: in place or with
 * shared inputs (against itself on separate tensors), and worked by hand.
 * Backend edge cases (wasm SIMD tails and blocks, webgpu 2-D dispatch grids
 * and tile edges, sizes past 2^32, ...) are rows like any other, run on every
 * backend whose contract takes them.
 *
 * To add a row: push it onto its kernel's `rows()` in the family's file, its
 * `what` naming the edge it stresses. To add a kernel: its `KernelSpec` in a
 * family's file; `SPECS` must cover `KERNELS` (checked below).
 *
 * Then, on every backend: the sharing rows of `_helpers/conformance/sharing.ts`
 * (inputs passed as one tensor, outputs in place, refused pairs) and labels
 * out of range.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { assertSameBits } from "./_helpers/assert.ts";
import {
  ACCELERATED,
  ignoreBackend,
  withBackend,
} from "./_helpers/backends.ts";
import {
  type HostData,
  type Outputs,
  reference,
  runKernel,
} from "./_helpers/kernels.ts";
import {
  type KernelSpec,
  type Row,
  values,
} from "./_helpers/conformance/_spec.ts";
import * as batchnorm from "./_helpers/conformance/batchnorm.ts";
import * as conv from "./_helpers/conformance/conv.ts";
import * as elementwise from "./_helpers/conformance/elementwise.ts";
import * as jumpout from "./_helpers/conformance/jumpout.ts";
import * as loss from "./_helpers/conformance/loss.ts";
import * as matmul from "./_helpers/conformance/matmul.ts";
import * as optim from "./_helpers/conformance/optim.ts";
import * as pool from "./_helpers/conformance/pool.ts";
import * as sharing from "./_helpers/conformance/sharing.ts";
import {
  type Backend,
  type BackendName,
  type KernelName,
  KERNELS,
  type Tensor,
} from "../mod.ts";
import { contractOf } from "../src/backends/_contracts.ts";

/** The table: every kernel's rows and check. */
const SPECS: Record<KernelName, KernelSpec> = {
  ...jumpout,
  ...elementwise,
  ...matmul,
  ...conv,
  ...batchnorm,
  ...pool,
  ...loss,
  ...optim,
};

/** Every backend, the reference first. */
const ALL: BackendName[] = ["reference", ...ACCELERATED];

Deno.test("kernel conformance: the table covers every kernel of KERNELS", () => {
  deepEqual(Object.keys(SPECS).sort(), Object.keys(KERNELS).sort());
});

/** A row, its call on separate tensors, and the reference's results there. */
interface Prepared {
  row: Row;
  separate: Row;
  expected?: Promise<Outputs>;
}

/** Whether `backend` runs `row`: the reference only where it is not compared with itself. */
function runsOn(row: Row, backend: BackendName): boolean {
  if (row.skip?.[backend] !== undefined) return false;
  return backend !== "reference" || row.same !== undefined ||
    row.expect !== undefined;
}

const ignored = new Map<BackendName, boolean>();
for (const name of ALL) ignored.set(name, await ignoreBackend(name));

for (const kernel of Object.keys(SPECS) as KernelName[]) {
  Deno.test(`kernel conformance: ${kernel}`, async (t) => {
    const rows = SPECS[kernel].rows().map(prepare);
    for (const name of ACCELERATED) {
      ok(
        rows.some((p) => runsOn(p.row, name)),
        `${kernel} has no row that runs on ${name}`,
      );
    }
    for (const name of ALL) {
      const mine = rows.filter((p) => runsOn(p.row, name));
      if (mine.length === 0) continue;
      await t.step({
        name: `on ${name} (${mine.length} rows)`,
        ignore: ignored.get(name),
        fn: () =>
          withBackend(name, (backend) => checkRows(backend, kernel, mine)),
      });
    }
  });
}

/**
 * Runs rows a few at a time, up to 2^22 elements together, so that their
 * reads overlap (on webgpu, each waits about 12 ms for the device).
 */
async function checkRows(
  backend: Backend,
  kernel: KernelName,
  rows: Prepared[],
): Promise<void> {
  let running: Promise<void>[] = [], elements = 0;
  for (const p of rows) {
    running.push(checkRow(backend, kernel, p));
    elements += elementsOf(p.row);
    if (running.length === 32 || elements >= 2 ** 22) {
      await settle(running);
      running = [];
      elements = 0;
    }
  }
  await settle(running);
}

/**
 * The tensors to read back after a row's call: all of them, or only those it
 * writes in rows of more than 2^22 elements, where reading back the inputs
 * (to check they are unchanged) would take seconds on llvmpipe.
 */
function readsOf(kernel: KernelName, row: Row): string[] | undefined {
  return elementsOf(row) <= 2 ** 22 ? undefined : [...written(kernel, row)];
}

/** Elements over all of a row's tensors. */
function elementsOf(row: Row): number {
  let n = 0;
  for (const data of Object.values(row.tensors)) n += data.length;
  return n;
}

/** Waits for every promise, then throws the first failure. */
async function settle(promises: Promise<void>[]): Promise<void> {
  for (const result of await Promise.allSettled(promises)) {
    if (result.status === "rejected") throw result.reason;
  }
}

/** The row with the call on separate tensors next to it. */
function prepare(row: Row): Prepared {
  if (row.same === undefined) return { row, separate: row };
  const tensors = { ...row.tensors };
  for (const [alias, target] of Object.entries(row.same)) {
    tensors[alias] = row.tensors[target].slice();
  }
  const { same: _, ...rest } = row;
  return { row, separate: { ...rest, tensors } };
}

/**
 * The tensors a call writes: the kernel's outputs, and the arguments that
 * share a tensor with one of them.
 */
function written(kernel: KernelName, row: Row): Set<string> {
  const out = new Set(Object.keys(contractOf(kernel).outputs));
  for (const [alias, target] of Object.entries(row.same ?? {})) {
    if (out.has(alias) || out.has(target)) out.add(alias).add(target);
  }
  return out;
}

/**
 * The reference's results on separate tensors, as the row's call must leave
 * them: two arguments on one tensor both hold the written one's values.
 */
async function expectedOf(kernel: KernelName, p: Prepared): Promise<Outputs> {
  const reads = readsOf(kernel, p.row);
  const separate = await runKernel(reference, kernel, p.separate, reads);
  const outputs = contractOf(kernel).outputs;
  for (const [alias, target] of Object.entries(p.row.same ?? {})) {
    const source = alias in outputs ? alias : target;
    separate[alias] = separate[target] = separate[source];
  }
  return separate;
}

/**
 * Runs one row on `backend`: its outputs under the kernel's check against
 * the reference, its inputs unchanged, and its hand-worked outputs bit for
 * bit.
 */
async function checkRow(
  backend: Backend,
  kernel: KernelName,
  p: Prepared,
): Promise<void> {
  p.expected ??= expectedOf(kernel, p);
  const expected = await p.expected;
  const reads = readsOf(kernel, p.row);
  const actual = await runKernel(backend, kernel, p.row, reads);
  const what = `${backend.name} ${kernel} ${p.row.what}`;
  await SPECS[kernel].check(
    { ...p.separate, what },
    actual,
    expected,
    backend.name,
  );
  const writes = written(kernel, p.row);
  for (const [name, data] of Object.entries(p.separate.tensors)) {
    if (reads !== undefined || writes.has(name)) continue;
    assertSameBits(actual[name], data, `${what}: input ${name} changed`);
  }
  for (const [name, data] of Object.entries(p.row.expect ?? {})) {
    assertSameBits(actual[name], data, `${what}: ${name} by hand`);
  }
}

for (const name of ALL) {
  const ignore = await ignoreBackend(name);
  Deno.test(
    { name: `sharing: inputs passed as one tensor on ${name}`, ignore },
    async () => {
      await withBackend(name, async (backend) => {
        for (const s of sharing.sharedInputs()) {
          await checkRow(backend, s.kernel, prepare(sharing.sharedCall(s)));
        }
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
        for (const s of sharing.inPlace()) {
          await checkRow(backend, s.kernel, prepare(sharing.sharedCall(s)));
        }
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
