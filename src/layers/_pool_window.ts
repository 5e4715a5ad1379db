/**
 * The window of a 2-D pooling layer: its checks, its name, its output shape.
 *
 * @module
 */

import { checkInteger } from "../_checks.ts";
import { outputSize } from "../backends/kernels.ts";
import { checkShape } from "./_layer_checks.ts";
import { InputShapeError } from "./_shape.ts";

/** A square pooling window. */
export interface PoolWindow {
  /** Side of the window. */
  readonly kernelSize: number;
  /** Step between windows. */
  readonly stride: number;
  /** Cells added on each side. */
  readonly padding: number;
}

/**
 * A checked window: `stride` defaults to `kernelSize`, `padding` to 0, and
 * padding above half the kernel (windows of padding only) is refused.
 *
 * @param what Who is asking, e.g. `"create MaxPool2d"`.
 * @param kernelSize Side of the window (>= 1).
 * @param options `{ stride, padding }`.
 * @returns The window.
 */
export function checkPoolWindow(
  what: string,
  kernelSize: number,
  options: { stride?: number; padding?: number },
): PoolWindow {
  const k = checkInteger(kernelSize, 1, what, "kernelSize");
  const stride = checkInteger(options.stride ?? k, 1, what, "stride");
  const padding = checkInteger(options.padding ?? 0, 0, what, "padding");
  if (padding > Math.floor(k / 2)) {
    throw new RangeError(
      `Cannot ${what}: padding must be at most half the kernel size (${
        Math.floor(k / 2)
      }), got ${padding}`,
    );
  }
  return { kernelSize: k, stride, padding };
}

/**
 * A pooling layer's name, e.g. `"MaxPool2d(3×3, stride 2, padding 1)"`.
 *
 * @param kind The layer's class name.
 * @param w Its window.
 * @returns The name; stride and padding only when not the defaults.
 */
export function poolName(kind: string, w: PoolWindow): string {
  const k = w.kernelSize;
  const extra = [
    w.stride === k ? "" : `, stride ${w.stride}`,
    w.padding === 0 ? "" : `, padding ${w.padding}`,
  ].join("");
  return `${kind}(${k}×${k}${extra})`;
}

/**
 * A pooling layer's output shape for `[N, C, H, W]` inputs at least one
 * window in size once padded.
 *
 * @param name The layer's name, for errors.
 * @param w Its window.
 * @param batchShape The input's shape, batch first.
 * @returns `[N, C, outH, outW]`.
 * @throws {RangeError} When the input shape does not fit.
 */
export function poolOutputShape(
  name: string,
  w: PoolWindow,
  batchShape: readonly number[],
): number[] {
  const shape = checkShape(`build ${name}`, batchShape);
  const { kernelSize: k, stride: s, padding: p } = w;
  const min = Math.max(1, k - 2 * p);
  if (shape.length !== 4 || shape[2] < min || shape[3] < min) {
    throw new InputShapeError(name, `[N, C, H, W] with H, W >= ${min}`, shape);
  }
  return [
    shape[0],
    shape[1],
    outputSize(shape[2], k, s, p),
    outputSize(shape[3], k, s, p),
  ];
}
