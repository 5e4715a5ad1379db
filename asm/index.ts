// The kernels, one family per file, under the names every backend uses.
// `deno task build` compiles them (asconfig.json, target "release") into
// build/kernels.wasm and src/backends/_wasm_bytes.ts.
export { count_active } from "./count_active";
export { jumpout_params } from "./jumpout_params";
export { mask_scale } from "./mask_scale";
export { matmul } from "./matmul";
export { matmul_im2col } from "./matmul_im2col";
export { axpby, bias_add, bias_grad, relu, relu_backward } from "./elementwise";
export { col2im, im2col, transpose } from "./conv";
export {
  batchnorm_backward,
  batchnorm_forward,
  channel_stats,
} from "./batchnorm";
export { maxpool_backward, maxpool_forward, row_broadcast } from "./pool";
export { avgpool_backward, avgpool_forward } from "./avgpool";
export { softmax_cross_entropy } from "./loss";
export { adam_update, sgd_update } from "./optim";
export { heap_base } from "./memory";
