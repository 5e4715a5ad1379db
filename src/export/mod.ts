/**
 * Export: a trained model as a file other runtimes serve, an ONNX model
 * for ONNX Runtime (Web or Node) and the like.
 *
 * @module
 */

export * from "./onnx.ts";
