/**
 * Reading and writing models: safetensors weights, checkpoints, model specs
 * as plain data, loading a trained model, and atomic file writes.
 *
 * @module
 */

export * from "./safetensors.ts";
export * from "./model_spec.ts";
export * from "./checkpoint.ts";
export * from "./load_model.ts";
export * from "./write_file_atomic.ts";
