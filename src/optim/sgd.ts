/**
 * Stochastic gradient descent with momentum, Nesterov momentum and L2 weight
 * decay.
 *
 * @module
 */

import type { Parameter } from "../layers/layer.ts";
import type { Tensor } from "../backend.ts";
import { Optimizer } from "./optimizer.ts";
import type { Schedule } from "./schedules.ts";

/** Options of {@linkcode SGD}. */
export interface SGDOptions {
  /** The learning rate, finite and > 0; leave it out when `schedule` gives the rate. */
  lr?: number;
  /** Momentum factor, in [0, 1). Default 0 (plain SGD). */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient: `grad + weightDecay · param`, finite and >= 0. Default 0. */
  weightDecay?: number;
  /** The rate per step, `schedule(stepCount)`, instead of a fixed `lr`. */
  schedule?: Schedule;
}

/**
 * SGD in PyTorch's convention: `g = grad + weightDecay · param`,
 * `velocity = momentum · velocity + g`, then
 * `param -= lr · (nesterov ? g + momentum · velocity : velocity)`. The
 * velocity starts at zero, so the first step is `param -= lr · g`.
 *
 * State per parameter, allocated at the first step on the parameter's
 * backend: `"<name>.velocity"`, with momentum > 0 only. Without momentum
 * there is no state ({@linkcode SGD.state} is empty) and the step is
 * `param = (1 - lr · weightDecay) · param - lr · grad`.
 *
 * @example Two momentum steps by hand
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { SGD } from "./sgd.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const value = backend.tensor(new Float32Array([1]), [1]);
 * const grad = backend.tensor(new Float32Array([1]), [1]);
 * const sgd = new SGD([{ name: "w", value, grad }], { lr: 0.5, momentum: 0.5 });
 * sgd.step(); // velocity 1, w = 1 - 0.5 · 1
 * sgd.step(); // velocity 1.5, w = 0.5 - 0.5 · 1.5
 * deepEqual([...(await backend.read(value))], [-0.25]);
 * deepEqual([...sgd.state().keys()], ["w.velocity"]);
 * ```
 */
export class SGD extends Optimizer {
  /** Momentum factor. */
  readonly momentum: number;
  /** Whether the momentum is Nesterov's. */
  readonly nesterov: boolean;
  /** L2 penalty factor. */
  readonly weightDecay: number;
  /** The state tensors of each parameter: the velocity, with momentum only. */
  protected readonly slotNames: readonly string[];

  /**
   * Makes an optimiser; it allocates nothing until the first step.
   *
   * @param parameters What to update: live float32 value/grad pairs, unique names.
   * @param options Rate (or schedule), momentum, Nesterov, weight decay.
   * @throws {RangeError | TypeError} When an option or a parameter is bad; the
   *   message names it.
   */
  constructor(parameters: readonly Parameter[], options: SGDOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot create SGD: options must be an object, got ${String(options)}`,
      );
    }
    const {
      lr,
      momentum = 0,
      nesterov = false,
      weightDecay = 0,
      schedule,
    } = options;
    super("SGD", parameters, lr, schedule);
    if (!(Number.isFinite(momentum) && momentum >= 0 && momentum < 1)) {
      throw new RangeError(
        `Cannot create SGD: momentum must be in [0, 1), got ${momentum}`,
      );
    }
    if (typeof nesterov !== "boolean") {
      throw new TypeError(
        `Cannot create SGD: nesterov must be a boolean, got ${nesterov}`,
      );
    }
    if (nesterov && momentum === 0) {
      throw new RangeError(
        `Cannot create SGD: nesterov needs momentum > 0, got momentum ${momentum}`,
      );
    }
    if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) {
      throw new RangeError(
        `Cannot create SGD: weightDecay must be a finite number >= 0, got ${weightDecay}`,
      );
    }
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
    this.slotNames = momentum > 0 ? ["velocity"] : [];
  }

  /**
   * Runs the update kernel for one parameter.
   *
   * @param p The parameter.
   * @param slots Its state tensors: the velocity, or none without momentum.
   * @param lr This step's rate.
   */
  protected update(
    p: Parameter,
    [velocity]: Tensor<"float32">[],
    lr: number,
  ): void {
    if (velocity === undefined) {
      // Without momentum, param -= lr · (grad + weightDecay · param) needs no
      // state: one axpby does it.
      p.value.backend.run("axpby", {
        x: p.grad,
        y: p.value,
        n: p.value.size,
        alpha: -lr,
        beta: 1 - lr * this.weightDecay,
      });
      return;
    }
    p.value.backend.run("sgd_update", {
      param: p.value,
      grad: p.grad,
      velocity,
      n: p.value.size,
      lr,
      momentum: this.momentum,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
    });
  }
}
