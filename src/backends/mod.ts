/**
 * Backends: where tensors live and kernels run. `reference` (plain
 * TypeScript, the definition of every kernel), `wasm` (AssemblyScript SIMD)
 * and `webgpu` (WGSL), all built from one table of kernel contracts.
 *
 * @module
 */

export * from "./create_backend.ts";
export * from "./kernels.ts";
