/**
 * Jumpout: an improved dropout for ReLU networks, on three backends behind one
 * interface: plain TypeScript (`reference`), AssemblyScript SIMD compiled to
 * WebAssembly (`wasm`) and WGSL on WebGPU (`webgpu`).
 *
 * @example Jumpout forward and backward
 * ```ts
 * import { createBackend, Jumpout } from "./mod.ts";
 * import { ok } from "node:assert/strict";
 *
 * const backend = await createBackend("wasm");
 * const x = backend.tensor(new Float32Array([0.5, -1, 2, 0, 1.5, 3]), [2, 3]);
 * const layer = new Jumpout({ sigma: 0.1, seed: 7 });
 * const y = layer.forward(x, { training: true });
 * const dx = layer.backward(backend.tensor(new Float32Array(6).fill(1), [2, 3]));
 * const [{ p, qPlus, rate, scale }] = layer.lastStats!;
 * ok(p >= 0.01 && p <= 0.6 && qPlus === 4 / 6 && rate >= p && scale >= 1);
 * const values = await backend.read(y);
 * const grads = await backend.read(dx);
 * ok(values.every((v, i) => (v === 0) === (grads[i] === 0) || v === 0));
 * ```
 *
 * @module
 */

export * from "./src/backend.ts";
export * from "./src/backends/mod.ts";
export * from "./src/layers/mod.ts";
export * from "./src/optim/mod.ts";
export * from "./src/io/mod.ts";
export * from "./src/parallel/mod.ts";
export * from "./src/data/mod.ts";
export * from "./src/models/mod.ts";
export * from "./src/export/mod.ts";
export * from "./src/training/mod.ts";
export * from "./src/torch/mod.ts";
