/**
 * The checks of the layer protocol that every layer shares: build before
 * forward, a training forward before backward, inputs of the built shape.
 * They are made of the library-wide checks in `../_checks.ts`.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import {
  checkSeed,
  checkTensor,
  describe,
  sameShape,
  showShape,
} from "../_checks.ts";
import { sameSample, showBatchShape } from "./_shape.ts";

/** What a built layer remembers of its build. */
export interface Built {
  /** Where its tensors live. */
  backend: Backend;
  /** The input shape it was built for; the batch may differ at run time. */
  input: readonly number[];
}

/** What fixes a layer's backend, as {@linkcode checkTensor} says it. */
const LAYER_BACKEND = "the layer was built for";

/**
 * Throws unless the layer is built and `x` fits the built input shape (any
 * batch).
 *
 * @returns `x`, typed.
 */
export function checkForward(
  layer: string,
  built: Built | undefined,
  x: unknown,
): Tensor<"float32"> {
  const what = `run ${layer} forward`;
  if (built === undefined) {
    throw new TypeError(
      `Cannot ${what}: the layer must be built first, got forward before build`,
    );
  }
  const t = checkTensor(x, what, "x", {
    backend: built.backend,
    where: LAYER_BACKEND,
  });
  if (!sameSample(t.shape, built.input)) {
    throw new RangeError(
      `Cannot ${what}: x must have shape ${
        showBatchShape(built.input)
      } as built, got ${showShape(t.shape)}`,
    );
  }
  return t;
}

/**
 * Throws unless a training forward is pending and `dy` has its output's
 * shape.
 *
 * @param output The output shape of the last training forward, or undefined
 *   when there is none to differentiate.
 * @param where What fixed the backend, as {@linkcode checkTensor} says it;
 *   by default the layer's build.
 * @returns `dy`, typed.
 */
export function checkBackward(
  layer: string,
  built: Built | undefined,
  output: readonly number[] | undefined,
  dy: unknown,
  where: string = LAYER_BACKEND,
): Tensor<"float32"> {
  const what = `run ${layer} backward`;
  if (built === undefined || output === undefined) {
    throw new TypeError(
      `Cannot ${what}: dy needs a training forward first, got backward without a pending forward with training: true`,
    );
  }
  const t = checkTensor(dy, what, "dy", { backend: built.backend, where });
  if (!sameShape(t.shape, output)) {
    throw new RangeError(
      `Cannot ${what}: dy must have the forward's output shape ${
        showShape(output)
      }, got ${showShape(t.shape)}`,
    );
  }
  return t;
}

/**
 * Throws unless the input a training forward kept for backward is still
 * live: the caller must not release it before backward has run.
 *
 * @param layer The layer's name.
 * @param x The kept input.
 */
export function checkSaved(layer: string, x: Tensor): void {
  if (x.released) {
    throw new TypeError(
      `Cannot run ${layer} backward: x must stay live until backward, got a released tensor of shape ${
        showShape(x.shape)
      }`,
    );
  }
}

/**
 * Throws unless `batchShape` is a shape, batch first.
 *
 * @param what Who is asking, e.g. `"build Dense(4 → 2)"`.
 * @returns The shape, copied.
 */
export function checkShape(what: string, batchShape: unknown): number[] {
  if (!Array.isArray(batchShape)) {
    throw new TypeError(
      `Cannot ${what}: batchShape must be an array of integers, got ${
        String(batchShape)
      }`,
    );
  }
  if (
    batchShape.length === 0 ||
    !batchShape.every((d) => Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new RangeError(
      `Cannot ${what}: batchShape must hold non-negative integers, batch first, got ${
        showShape(batchShape)
      }`,
    );
  }
  return [...batchShape];
}

/**
 * Throws unless `inputShape` is one sample's shape, without the batch: a
 * model's input shape, as `Sequential.build` and `summary` take it. `[]`
 * is one number per sample.
 *
 * @param what Who is asking, e.g. `"build Sequential"`.
 * @returns The shape, copied.
 */
export function checkSampleShape(what: string, inputShape: unknown): number[] {
  if (!Array.isArray(inputShape)) {
    throw new TypeError(
      `Cannot ${what}: inputShape must be an array of integers (one sample's shape, without the batch), got ${
        describe(inputShape)
      }`,
    );
  }
  if (!inputShape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(
      `Cannot ${what}: inputShape must hold non-negative integers (one sample's shape, without the batch), got ${
        showShape(inputShape)
      }`,
    );
  }
  return [...inputShape];
}

/**
 * Checks the arguments of a layer's `build`.
 *
 * @param what Who is asking, e.g. `"build Dense(4 → 2)"`.
 * @returns The input shape, copied.
 */
export function checkBuild(
  what: string,
  batchShape: unknown,
  seed: unknown,
  prefix: unknown,
): number[] {
  const shape = checkShape(what, batchShape);
  checkSeed(what, seed);
  if (typeof prefix !== "string") {
    throw new TypeError(
      `Cannot ${what}: prefix must be a string, got ${typeof prefix}`,
    );
  }
  return shape;
}
