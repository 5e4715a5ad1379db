/**
 * Shapes as layers report them: the batch dimension shown as `N`, and the
 * error a layer throws when it is built for inputs it cannot take.
 *
 * @module
 */

import { showShape } from "../_checks.ts";

/**
 * A shape with its batch dimension written `N`, as layers describe inputs.
 *
 * @param shape Dimensions, batch first.
 * @returns E.g. `"[N, 512]"`.
 */
export function showBatchShape(shape: readonly number[]): string {
  return showShape(["N", ...shape.slice(1)]);
}

/** Whether two shapes are equal past the batch dimension. */
export function sameSample(
  a: readonly number[],
  b: readonly number[],
): boolean {
  return a.length === b.length && a.every((d, i) => i === 0 || d === b[i]);
}

/**
 * The error of a layer built for inputs it cannot take. It keeps what the
 * layer needs and what it got, so a model can name the layer's position.
 */
export class InputShapeError extends RangeError {
  /** The layer's name, e.g. `"Dense(512 → 10)"`. */
  readonly layer: string;
  /** What the layer takes, e.g. `"[N, 512]"`. */
  readonly expected: string;
  /** The shape it was given. */
  readonly got: readonly number[];

  /**
   * @param layer The layer's name.
   * @param expected What the layer takes, batch written `N`.
   * @param got The shape it was given.
   */
  constructor(layer: string, expected: string, got: readonly number[]) {
    super(
      `Cannot build ${layer}: needs inputs ${expected}, got ${
        showBatchShape(got)
      }`,
    );
    this.name = "RangeError";
    this.layer = layer;
    this.expected = expected;
    this.got = [...got];
  }
}
