// The Jumpout kernels, one family per file, under the names every backend
// uses. `deno task build` compiles them (asconfig.json, target "release") into
// build/kernels.wasm and src/backends/_wasm_bytes.ts.
export { count_active } from "./count_active";
export { jumpout_params } from "./jumpout_params";
export { mask_scale } from "./mask_scale";
export { matmul } from "./matmul";
export { heap_base } from "./memory";
