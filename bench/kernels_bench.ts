/**
 * `deno bench bench/kernels_bench.ts`: the four kernels on `reference` and
 * `wasm` at 2^20 elements, one group per kernel with wasm as the baseline.
 * When the wasm backend cannot be made, its cases are ignored (the reason
 * goes to stderr).
 *
 * @module
 */

import { type Backend, createBackend } from "../mod.ts";
import { KERNELS, prepareKernel } from "./_kernels.ts";

const N = 2 ** 20;

const backends: [string, Backend | undefined][] = [
  ["reference", await createBackend("reference")],
  [
    "wasm",
    await createBackend("wasm").catch((e: Error) => {
      console.error(`wasm: ignored, ${e.message}`);
      return undefined;
    }),
  ],
];

for (const kernel of KERNELS) {
  for (const [name, backend] of backends) {
    const c = backend && prepareKernel(backend, kernel, N);
    Deno.bench({
      name: `${kernel} ${name} n=2^20`,
      group: kernel,
      baseline: name === "wasm",
      ignore: c === undefined,
      // Both backends run kernels synchronously: no sync point to await.
      fn: () => c!.run(),
    });
  }
}
