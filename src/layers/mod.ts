/**
 * Layers: Jumpout and Dropout, the layers of ReLU networks around them, the
 * `Sequential` model that chains them, and the loss.
 *
 * @module
 */

export * from "./layer.ts";
export * from "./jumpout.ts";
export * from "./dropout.ts";
export * from "./dense.ts";
export * from "./conv2d.ts";
export * from "./batch_norm.ts";
export * from "./relu.ts";
export * from "./max_pool2d.ts";
export * from "./avg_pool2d.ts";
export * from "./global_avg_pool.ts";
export * from "./flatten.ts";
export * from "./sequential.ts";
export * from "./loss.ts";
export * from "./residual.ts";
