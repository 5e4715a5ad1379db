/**
 * Adam, with L2 weight decay added to the gradient.
 *
 * @module
 */

import type { Parameter } from "../layers/layer.ts";
import type { Tensor } from "../backend.ts";
import { Optimizer } from "./optimizer.ts";
import type { Schedule } from "./schedules.ts";

/** Options of {@linkcode Adam}. */
export interface AdamOptions {
  /** The learning rate, finite and > 0. Default 1e-3; leave it out when `schedule` gives the rate. */
  lr?: number;
  /** Decay of the first-moment average, in [0, 1). Default 0.9. */
  beta1?: number;
  /** Decay of the second-moment average, in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to the denominator, finite and > 0. Default 1e-8. */
  epsilon?: number;
  /** L2 penalty added to the gradient: `grad + weightDecay · param`, finite and >= 0. Default 0. */
  weightDecay?: number;
  /** The rate per step, `schedule(stepCount)`, instead of a fixed `lr`. */
  schedule?: Schedule;
}

/**
 * Adam (Kingma & Ba) with bias correction: `g = grad + weightDecay · param`,
 * `m = beta1 · m + (1 - beta1) · g`, `v = beta2 · v + (1 - beta2) · g²`,
 * `param -= lr · m̂ / (sqrt(v̂) + epsilon)` with `m̂ = m / (1 - beta1^t)`,
 * `v̂ = v / (1 - beta2^t)` and `t = stepCount + 1`. Weight decay is the L2
 * kind (as PyTorch's `Adam`), not AdamW's decoupled decay.
 *
 * State per parameter, allocated at the first step on the parameter's
 * backend: `"<name>.adam_m"` and `"<name>.adam_v"`. When resuming from a
 * checkpoint, load them and set {@linkcode Adam.stepCount} too: the bias
 * correction depends on it.
 *
 * @example The first Adam step moves each weight by about lr
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { Adam } from "./adam.ts";
 * import { ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const value = backend.tensor(new Float32Array([1, 1]), [2]);
 * const grad = backend.tensor(new Float32Array([10, -0.01]), [2]);
 * const adam = new Adam([{ name: "w", value, grad }], { lr: 0.01 });
 * adam.step();
 * const [a, b] = await backend.read(value);
 * ok(Math.abs(a - 0.99) < 1e-6 && Math.abs(b - 1.01) < 1e-6);
 * ```
 */
export class Adam extends Optimizer {
  /** Decay of the first-moment average. */
  readonly beta1: number;
  /** Decay of the second-moment average. */
  readonly beta2: number;
  /** Added to the denominator. */
  readonly epsilon: number;
  /** L2 penalty factor. */
  readonly weightDecay: number;
  /** The state tensors of each parameter. */
  protected readonly slotNames = ["adam_m", "adam_v"] as const;

  /**
   * Makes an optimiser; it allocates nothing until the first step.
   *
   * @param parameters What to update: live float32 value/grad pairs, unique names.
   * @param options Rate (or schedule), betas, epsilon, weight decay.
   * @throws {RangeError | TypeError} When an option or a parameter is bad; the
   *   message names it.
   */
  constructor(parameters: readonly Parameter[], options: AdamOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot create Adam: options must be an object, got ${String(options)}`,
      );
    }
    const {
      beta1 = 0.9,
      beta2 = 0.999,
      epsilon = 1e-8,
      weightDecay = 0,
      schedule,
    } = options;
    const lr = options.lr ?? (schedule === undefined ? 1e-3 : undefined);
    super("Adam", parameters, lr, schedule);
    for (const [name, beta] of [["beta1", beta1], ["beta2", beta2]] as const) {
      if (!(Number.isFinite(beta) && beta >= 0 && beta < 1)) {
        throw new RangeError(
          `Cannot create Adam: ${name} must be in [0, 1), got ${beta}`,
        );
      }
    }
    if (!(Number.isFinite(epsilon) && epsilon > 0)) {
      throw new RangeError(
        `Cannot create Adam: epsilon must be a finite number > 0, got ${epsilon}`,
      );
    }
    if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) {
      throw new RangeError(
        `Cannot create Adam: weightDecay must be a finite number >= 0, got ${weightDecay}`,
      );
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.weightDecay = weightDecay;
  }

  /**
   * Runs the update kernel for one parameter.
   *
   * @param p The parameter.
   * @param slots Its state tensors.
   * @param lr This step's rate.
   * @param step This step's number, counting from 1.
   */
  protected update(
    p: Parameter,
    [m, v]: Tensor<"float32">[],
    lr: number,
    step: number,
  ): void {
    p.value.backend.run("adam_update", {
      param: p.value,
      grad: p.grad,
      m,
      v,
      n: p.value.size,
      lr,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      weightDecay: this.weightDecay,
      step,
    });
  }
}
