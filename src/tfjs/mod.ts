/**
 * Jumpout for TensorFlow.js: {@linkcode jumpout} makes a `tf.layers.Layer`
 * with the options, semantics and masks of this library's `Jumpout`.
 *
 * @module
 */

export * from "./jumpout.ts";
export * from "./jumpout_layer.ts";
