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
export * from "./src/tensor.ts";
export * from "./src/create_backend.ts";
export * from "./src/jumpout.ts";
export * from "./src/dropout.ts";
export * from "./src/layer.ts";
export * from "./src/layers/dense.ts";
export * from "./src/layers/conv2d.ts";
export * from "./src/layers/batch_norm.ts";
export * from "./src/layers/relu.ts";
export * from "./src/layers/max_pool2d.ts";
export * from "./src/layers/global_avg_pool.ts";
export * from "./src/layers/flatten.ts";
export * from "./src/sequential.ts";
export * from "./src/loss.ts";
export * from "./src/optim/optimizer.ts";
export * from "./src/optim/sgd.ts";
export * from "./src/optim/adam.ts";
export * from "./src/optim/schedules.ts";
export * from "./src/train_step.ts";
export * from "./src/safetensors.ts";
export * from "./src/model_spec.ts";
export * from "./src/optim/optimizer_spec.ts";
export * from "./src/checkpoint.ts";
export * from "./src/load_model.ts";
export * from "./src/parallel/data_parallel.ts";
export * from "./src/parallel/data_parallel_error.ts";
export * from "./src/write_file_atomic.ts";
export * from "./src/data/idx.ts";
export * from "./src/data/fashion_mnist.ts";
