/**
 * Jumpout: an improved dropout for ReLU networks, on three backends behind one
 * interface: plain TypeScript (`reference`), AssemblyScript SIMD compiled to
 * WebAssembly (`wasm`) and WGSL on WebGPU (`webgpu`).
 *
 * @example Jumpout forward and backward
 * ```ts
 * import { createBackend, Jumpout } from "./mod.ts";
 *
 * const backend = await createBackend("wasm");
 * const x = backend.tensor(new Float32Array([0.5, -1, 2, 0, 1.5, 3]), [2, 3]);
 * const layer = new Jumpout({ sigma: 0.1, seed: 7 });
 * const y = layer.forward(x, { training: true });
 * const dx = layer.backward(backend.tensor(new Float32Array(6).fill(1), [2, 3]));
 * console.log(await backend.read(y), await backend.read(dx), layer.lastStats);
 * ```
 *
 * @module
 */

export * from "./src/backend.ts";
export * from "./src/tensor.ts";
export * from "./src/create_backend.ts";
export * from "./src/jumpout.ts";
export * from "./src/dropout.ts";
