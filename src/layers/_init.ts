/**
 * Initial values of parameters: He-normal weights drawn from the
 * counter-based stream of `random.ts`, so a seed gives the same network on
 * every backend and every run.
 *
 * @module
 */

import type { Backend } from "../backend.ts";
import type { Parameter } from "./layer.ts";
import { normal } from "../random.ts";
import { release } from "../_release.ts";

/**
 * He-normal values, N(0, 2 / fanIn): the variance that keeps ReLU
 * activations at a steady scale from layer to layer.
 *
 * @param seed The layer's seed.
 * @param size How many values.
 * @param fanIn Inputs feeding each output unit.
 * @returns Value `i` is `normal(seed, 0, i) · sqrt(2 / fanIn)`.
 */
export function heNormal(
  seed: number,
  size: number,
  fanIn: number,
): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = normal(seed, 0, i) * std;
  return out;
}

/**
 * A parameter holding `values`, with a zero gradient of the same shape.
 *
 * @param backend Where it lives.
 * @param name Its name in weights files.
 * @param shape Its dimensions.
 * @param values Its initial values (`undefined` for zeros).
 * @returns The parameter.
 */
export function makeParameter(
  backend: Backend,
  name: string,
  shape: readonly number[],
  values?: Float32Array,
): Parameter {
  // A layer holds its parameters across calls: no scope releases them.
  const value = backend.keep(
    values === undefined
      ? backend.allocate(shape)
      : backend.tensor(values, shape),
  );
  return { name, value, grad: backend.keep(backend.allocate(shape)) };
}

/**
 * Frees a layer's parameters.
 *
 * @param parameters Values and gradients to free; released ones are skipped.
 */
export function releaseParameters(parameters: readonly Parameter[]): void {
  release(...parameters.flatMap((p) => [p.value, p.grad]));
}
