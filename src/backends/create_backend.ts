import type { Backend, BackendName } from "../backend.ts";
import { ReferenceBackend } from "./reference.ts";

/** What {@linkcode createBackend} accepts: a backend, or `auto` to pick one. */
export type BackendChoice = BackendName | "auto";

/**
 * Makes a backend.
 *
 * `auto` picks `webgpu` when the runtime offers a hardware GPU adapter (not a
 * software fallback such as llvmpipe or SwiftShader), else `wasm` when the
 * runtime has WebAssembly SIMD, else `reference`.
 *
 * @param choice Which backend: `reference`, `wasm`, `webgpu` or `auto`.
 * @returns The backend, ready to use.
 * @throws {TypeError} When `choice` is not one of the four.
 * @throws {Error} When `webgpu` is asked for and no adapter is found.
 *
 * @example Make the reference backend
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * deepEqual(backend.name, "reference");
 * ```
 */
export async function createBackend(
  choice: BackendChoice = "auto",
): Promise<Backend> {
  switch (choice) {
    case "reference":
      return new ReferenceBackend();
    case "wasm": {
      const { createWasmBackend } = await import("./wasm.ts");
      return await createWasmBackend();
    }
    case "webgpu": {
      const { createWebGpuBackend } = await import("./webgpu.ts");
      return await createWebGpuBackend();
    }
    case "auto":
      return await createBackend(await autoChoice());
    default:
      throw new TypeError(
        `Cannot create a backend: choice must be "reference", "wasm", "webgpu" or "auto", got ${
          String(choice)
        }`,
      );
  }
}

/**
 * The backend `auto` stands for in this runtime: `webgpu` on a hardware GPU
 * adapter, else `wasm` with WebAssembly SIMD, else `reference`.
 *
 * @returns The backend's name.
 *
 * @example Auto never picks a software GPU
 * ```ts
 * import { autoChoice } from "./create_backend.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(["webgpu", "wasm", "reference"].includes(await autoChoice()));
 * ```
 */
export async function autoChoice(): Promise<BackendName> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  if (adapter && !adapter.info.isFallbackAdapter) return "webgpu";
  return hasWasmSimd() ? "wasm" : "reference";
}

/** Whether WebAssembly with 128-bit SIMD is available. */
function hasWasmSimd(): boolean {
  // The smallest module whose one function returns a v128 constant.
  const probe = new Uint8Array([
    0,
    97,
    115,
    109,
    1,
    0,
    0,
    0,
    1,
    5,
    1,
    96,
    0,
    1,
    123,
    3,
    2,
    1,
    0,
    10,
    22,
    1,
    20,
    0,
    253,
    12,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    11,
  ]);
  return typeof WebAssembly === "object" && WebAssembly.validate(probe);
}
