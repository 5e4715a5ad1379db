/**
 * The TensorFlow.js side of a Jumpout training call: counting the active
 * inputs, the mask and the factor as tensors (worked out on the host, or on
 * TensorFlow.js's backend from the per-element thresholds), and the masking
 * itself with its gradient.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { RATE_ONE } from "../backends/kernels.ts";
import type { ResolvedJumpoutOptions } from "../layers/_jumpout_options.ts";
import type { JumpoutPlan } from "./_jumpout_plan.ts";

/** What a training call applies: kept or not per element, and the factor. */
export interface MaskScale {
  /** A bool tensor of the input's shape. */
  mask: tf.Tensor;
  /** The factor: a scalar, or one per row shaped to broadcast over the input. */
  scale: tf.Tensor;
}

/**
 * Per scope unit, the inputs > 0 (NaN is not), as an int32 tensor `[rows]`.
 *
 * @param x The input.
 * @param rows Scope units.
 * @param cols Elements per scope unit.
 * @returns The counts.
 *
 * @example Two rows
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { countActive } from "./_mask_scale.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const x = tf.tensor2d([[1, -1, NaN], [2, 3, 0]]);
 * deepEqual([...countActive(x, 2, 3).dataSync()], [1, 2]);
 * ```
 */
export function countActive(
  x: tf.Tensor,
  rows: number,
  cols: number,
): tf.Tensor {
  return tf.sum(tf.reshape(tf.greater(x, 0), [rows, cols]), 1);
}

/**
 * Per-row values shaped to broadcast over an input of `shape`: a scalar for
 * one row, else `[rows, 1, …, 1]`.
 */
function perRow(values: tf.Tensor | Float32Array, shape: number[]): tf.Tensor {
  const rows = values instanceof Float32Array ? values.length : values.size;
  const rowShape = rows === 1 ? [] : [rows, ...shape.slice(1).map(() => 1)];
  return values instanceof Float32Array
    ? tf.tensor(values, rowShape)
    : tf.reshape(values, rowShape);
}

/**
 * The mask and factor of a step worked out on the host.
 *
 * @param plan The step ({@linkcode planJumpoutStep}).
 * @param shape The input's shape.
 * @returns The tensors.
 */
export function hostMaskScale(plan: JumpoutPlan, shape: number[]): MaskScale {
  return {
    mask: tf.tensor(plan.mask, shape, "bool"),
    scale: perRow(plan.scale, shape),
  };
}

/**
 * The mask and factor of a step with `normalize`, made on TensorFlow.js's
 * backend from the counts of active inputs there, so that nothing is read
 * back. The mask is the library's exactly: an element is kept when its scope
 * unit's count reaches its threshold ({@linkcode activeThresholds}), or the
 * count is 0. The factor (1 - p')^-rescalePower is worked out in float32
 * from p' = min(p·cols / count, pMax), so it may differ from the library's
 * in the last bits.
 *
 * @param counts Per scope unit, the inputs > 0 ({@linkcode countActive}).
 * @param thresholds Per element, the least count that keeps it.
 * @param rates Per scope unit, p in units of 2^-24.
 * @param cols Elements per scope unit.
 * @param options The layer's checked options.
 * @param shape The input's shape.
 * @returns The tensors.
 */
export function deviceMaskScale(
  counts: tf.Tensor,
  thresholds: Float32Array,
  rates: Uint32Array,
  cols: number,
  options: Readonly<ResolvedJumpoutOptions>,
  shape: number[],
): MaskScale {
  const count = tf.cast(perRow(counts, shape), "float32");
  const none = tf.equal(count, 0);
  const mask = tf.logicalOr(
    tf.greaterEqual(count, tf.tensor(thresholds, shape)),
    none,
  );
  const total = perRow(Float32Array.from(rates, (r) => r * cols), shape);
  const maxDrop = Math.round(options.pMax * RATE_ONE);
  const quotient = tf.minimum(tf.floor(tf.div(total, count)), maxDrop);
  const drop = tf.where(none, tf.zerosLike(quotient), quotient);
  const keep = tf.sub(RATE_ONE, drop);
  const factor = tf.pow(tf.div(keep, RATE_ONE), -options.rescalePower);
  const scale = tf.where(tf.equal(keep, 0), tf.zerosLike(factor), factor);
  return { mask, scale };
}

/**
 * `where(mask, x · scale, 0)`, whose gradient is `where(mask, dy · scale, 0)`
 * with the mask and the factor held constant.
 *
 * @param x The input.
 * @param tensors The mask and the factor.
 * @returns The output, of x's shape.
 *
 * @example Keep the first two of three, doubled
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { applyMaskScale } from "./_mask_scale.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const mask = tf.tensor([1, 1, 0], [3], "bool");
 * const scale = tf.scalar(2);
 * const f = (x: tf.Tensor) => applyMaskScale(x, { mask, scale });
 * deepEqual([...f(tf.tensor([1, -2, 3])).dataSync()], [2, -4, 0]);
 * deepEqual([...tf.grad(f)(tf.ones([3])).dataSync()], [2, 2, 0]);
 * ```
 */
export function applyMaskScale(x: tf.Tensor, tensors: MaskScale): tf.Tensor {
  const { mask, scale } = tensors;
  const masked = (t: tf.Tensor, m: tf.Tensor, s: tf.Tensor) =>
    tf.where(m, tf.mul(t, s), tf.zerosLike(t));
  return tf.customGrad((input, save) => {
    (save as tf.GradSaveFunc)([mask, scale]);
    return {
      value: masked(input as tf.Tensor, mask, scale),
      gradFunc: (dy, [m, s]) => masked(dy, m, s),
    };
  })(x);
}
