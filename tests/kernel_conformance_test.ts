/**
 * The kernel conformance suite: every training kernel on every accelerated
 * backend against the reference, on the same seeded inputs. Each kernel's
 * cases and tolerance (stated in a comment there) live in
 * `_helpers/conformance/<family>.ts`: bit-identical for kernels that only
 * select or move values, within 1e-6 of Σ|terms| for element-wise arithmetic,
 * and within 1e-5 of Σ|terms| for reductions and matrix products.
 */
import { deepEqual } from "node:assert/strict";
import {
  ACCELERATED,
  ignoreBackend,
  withBackend,
} from "./_helpers/backends.ts";
import { reference, runKernel } from "./_helpers/kernels.ts";
import type { KernelSpec } from "./_helpers/conformance/_spec.ts";
import * as batchnorm from "./_helpers/conformance/batchnorm.ts";
import * as conv from "./_helpers/conformance/conv.ts";
import * as elementwise from "./_helpers/conformance/elementwise.ts";
import * as loss from "./_helpers/conformance/loss.ts";
import * as matmul from "./_helpers/conformance/matmul.ts";
import * as optim from "./_helpers/conformance/optim.ts";
import * as pool from "./_helpers/conformance/pool.ts";
import { TRAINING_KERNELS } from "../src/backends/_base.ts";
import type { KernelName } from "../mod.ts";

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
