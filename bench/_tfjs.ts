/**
 * TensorFlow.js's `tf.dropout` on its WebAssembly backend, single-threaded, as
 * a point of comparison for the dropout kernels. The `.wasm` binaries are
 * loaded from the npm package itself (resolved to a `file:` URL in Deno's
 * cache), so a fresh machine needs only Deno and the npm registry.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { KernelCase } from "./_kernels.ts";

let ready: Promise<void> | undefined;

/**
 * Makes TensorFlow.js use its single-threaded SIMD wasm backend (once).
 *
 * @returns Resolves when the backend is active.
 * @throws {Error} When the wasm backend cannot start.
 *
 * @example Switch TensorFlow.js to wasm
 * ```ts ignore
 * import { initTfjsWasm } from "./_tfjs.ts";
 *
 * await initTfjsWasm();
 * ```
 */
export function initTfjsWasm(): Promise<void> {
  ready ??= (async () => {
    const binary = "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm";
    // Fetch the binaries by URL with Deno's fetch, which reads file: URLs.
    setWasmPaths(new URL(".", import.meta.resolve(binary)).href, true);
    // One thread, like the kernels it is compared with.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    if (!(await tf.setBackend("wasm"))) {
      throw new Error(
        "Cannot start TensorFlow.js: the wasm backend failed to initialise, got false from setBackend",
      );
    }
  })();
  return ready;
}

/**
 * Prepares `tf.dropout(x, rate)` on the wasm backend; wasm ops run eagerly, so
 * `sync` has nothing to wait for.
 *
 * @param data The input values.
 * @param rate The dropout rate.
 * @returns The case; call `dispose` when done.
 *
 * @example Run one TensorFlow.js dropout
 * ```ts ignore
 * import { prepareTfjsDropout } from "./_tfjs.ts";
 *
 * const c = await prepareTfjsDropout(new Float32Array(1024).fill(1), 0.2);
 * c.run();
 * c.dispose();
 * ```
 */
export async function prepareTfjsDropout(
  data: Float32Array,
  rate: number,
): Promise<KernelCase> {
  await initTfjsWasm();
  const x = tf.tensor1d(data);
  return {
    run: () => tf.dropout(x, rate).dispose(),
    sync: () => Promise.resolve(),
    dispose: () => x.dispose(),
  };
}
