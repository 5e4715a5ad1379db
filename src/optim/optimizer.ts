/**
 * What every optimiser offers a training loop, and the bookkeeping they share.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import type { Parameter } from "../layers/layer.ts";
import { checkTensor, describe, sameShape, showShape } from "../_checks.ts";
import { release } from "../_release.ts";
import type { Schedule } from "./schedules.ts";

/**
 * Updates a model's parameters from their gradients, one kernel per parameter
 * per step, on the parameters' own backend. What `SGD` and
 * `Adam` share: parameter checks, the learning rate and its
 * schedule, the step counter, and per-parameter state tensors ("slots")
 * allocated (zero-filled) on first use on the parameter's backend.
 *
 * @example Any optimiser drives a training loop the same way
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import type { Optimizer } from "./optimizer.ts";
 * import { SGD } from "./sgd.ts";
 * import { equal } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const value = backend.tensor(new Float32Array([1, 2]), [2]);
 * const grad = backend.tensor(new Float32Array([0.5, -0.5]), [2]);
 * const optimizer: Optimizer = new SGD([{ name: "w", value, grad }], { lr: 0.1 });
 * optimizer.step();
 * equal(optimizer.stepCount, 1);
 * ```
 */
export abstract class Optimizer {
  /** The parameters this optimiser updates, in order. */
  readonly parameters: readonly Parameter[];
  /** `SGD` or `Adam`, for messages. */
  readonly #kind: string;
  readonly #lr: number | undefined;
  readonly #schedule: Schedule | undefined;
  /** Each parameter's backend and shape when the optimiser was made, in order. */
  readonly #layouts: readonly Layout[];
  #stepCount = 0;
  #slots = new Map<Parameter, Tensor<"float32">[]>();

  /** Names of each parameter's state tensors, in the order `update` gets them. */
  protected abstract readonly slotNames: readonly string[];

  /**
   * Checks the parameters and the rate; allocates nothing.
   *
   * @param kind The optimiser's name for messages.
   * @param parameters What to update.
   * @param lr The fixed rate, or undefined with a schedule.
   * @param schedule The rate per step, or undefined.
   */
  constructor(
    kind: string,
    parameters: readonly Parameter[],
    lr: number | undefined,
    schedule: Schedule | undefined,
  ) {
    this.#kind = kind;
    this.parameters = Object.freeze(checkParameters(parameters, kind));
    this.#layouts = this.parameters.map((p) => ({
      backend: p.value.backend,
      shape: [...p.value.shape],
    }));
    if (schedule !== undefined) {
      if (typeof schedule !== "function") {
        throw new TypeError(
          `Cannot create ${kind}: schedule must be a function of the step, got ${typeof schedule}`,
        );
      }
      if (lr !== undefined) {
        throw new TypeError(
          `Cannot create ${kind}: lr must be left out when a schedule gives the rate, got lr ${lr} and a schedule`,
        );
      }
    } else if (!(Number.isFinite(lr) && (lr as number) > 0)) {
      throw new RangeError(
        `Cannot create ${kind}: lr must be a finite number > 0, got ${lr}`,
      );
    }
    this.#lr = lr;
    this.#schedule = schedule;
  }

  /**
   * Updates already made; the first step sees 0. Set it when resuming from a
   * checkpoint: it drives the schedule and Adam's bias correction.
   */
  get stepCount(): number {
    return this.#stepCount;
  }

  set stepCount(value: number) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot set ${this.#kind} stepCount: stepCount must be an integer >= 0, got ${value}`,
      );
    }
    this.#stepCount = value;
  }

  /** The rate the next step uses: `schedule(stepCount)`, or the fixed `lr`. */
  get lr(): number {
    return this.#schedule ? this.#schedule(this.#stepCount) : this.#lr!;
  }

  /**
   * Applies one update to every parameter from its current gradient. Every
   * parameter (and its state) is checked before any is updated, so a step
   * that throws has changed nothing, `stepCount` included.
   *
   * @throws {RangeError} When the schedule gives a rate that is not a finite
   *   number >= 0, or a parameter's value or grad no longer has the shape or
   *   backend it had when the optimiser was made.
   * @throws {TypeError} When a parameter's value or grad is no longer a live
   *   float32 tensor, or a state tensor was released; the message names it.
   */
  step(): void {
    const what = `run ${this.#kind} step`;
    const lr = this.lr;
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new RangeError(
        `Cannot ${what}: schedule(${this.#stepCount}) must return a finite number >= 0, got ${lr}`,
      );
    }
    this.parameters.forEach((p, i) => {
      for (const key of ["value", "grad"] as const) {
        const name = `parameter "${p.name}" ${key}`;
        checkTensor(p[key], what, name);
        checkLayout(p[key], this.#layouts[i], name, what, this.#kind);
      }
      this.#slots.get(p)?.forEach((t, j) => {
        checkTensor(t, what, `state "${p.name}.${this.slotNames[j]}"`);
      });
    });
    const slots = this.parameters.map((p, i) => this.#slotsOf(p, i));
    this.parameters.forEach((p, i) => {
      this.update(p, slots[i], lr, this.#stepCount + 1);
    });
    this.#stepCount++;
  }

  /**
   * The optimiser's tensors by name (`"<parameter>.<slot>"`), allocated
   * (zero-filled) if no step has made them yet, so a checkpoint can be loaded
   * into a fresh optimiser.
   *
   * @returns A new map of live tensors owned by the optimiser.
   */
  state(): Map<string, Tensor<"float32">> {
    const state = new Map<string, Tensor<"float32">>();
    this.parameters.forEach((p, i) => {
      const slots = this.#slotsOf(p, i);
      this.slotNames.forEach((slot, j) =>
        state.set(`${p.name}.${slot}`, slots[j])
      );
    });
    return state;
  }

  /** Frees every state tensor; a later step starts again from zeros. */
  dispose(): void {
    for (const slots of this.#slots.values()) release(...slots);
    this.#slots.clear();
  }

  /**
   * Runs one parameter's update kernel.
   *
   * @param p The parameter.
   * @param slots Its state tensors, in `slotNames` order.
   * @param lr This step's rate.
   * @param step This step's number, counting from 1.
   */
  protected abstract update(
    p: Parameter,
    slots: Tensor<"float32">[],
    lr: number,
    step: number,
  ): void;

  /** The state tensors of parameter `i`, allocated on its backend when first asked for. */
  #slotsOf(p: Parameter, i: number): Tensor<"float32">[] {
    let slots = this.#slots.get(p);
    if (slots === undefined) {
      const { backend, shape } = this.#layouts[i];
      // Made on the first step, often inside a scope, which must not free it.
      slots = this.slotNames.map(() => backend.keep(backend.allocate(shape)));
      this.#slots.set(p, slots);
    }
    return slots;
  }
}

/** Where a parameter lives and its shape. */
interface Layout {
  backend: Backend;
  shape: readonly number[];
}

/** Throws unless the tensor `t` still has the backend and shape of `layout`. */
function checkLayout(
  t: Tensor,
  layout: Layout,
  name: string,
  what: string,
  kind: string,
): void {
  if (t.backend !== layout.backend || !sameShape(t.shape, layout.shape)) {
    throw new RangeError(
      `Cannot ${what}: ${name} must keep the shape ${
        showShape(layout.shape)
      } and the ${layout.backend.name} backend it had when ${kind} was made, got ${
        showShape(t.shape)
      } on the ${t.backend.name} backend`,
    );
  }
}

/** Checks the parameter list: live float32 pairs of one shape, unique names. */
function checkParameters(
  parameters: readonly Parameter[],
  kind: string,
): Parameter[] {
  const what = `create ${kind}`;
  if (!Array.isArray(parameters)) {
    throw new TypeError(
      `Cannot ${what}: parameters must be an array of Parameter, got ${
        describe(parameters)
      }`,
    );
  }
  const names = new Set<string>();
  parameters.forEach((p, i) => {
    if (p === null || typeof p !== "object") {
      throw new TypeError(
        `Cannot ${what}: parameters[${i}] must be a Parameter, got ${
          describe(p)
        }`,
      );
    }
    if (typeof p.name !== "string" || p.name === "") {
      throw new TypeError(
        `Cannot ${what}: parameters[${i}].name must be a non-empty string, got ${
          JSON.stringify(p.name)
        }`,
      );
    }
    if (names.has(p.name)) {
      throw new RangeError(
        `Cannot ${what}: parameter names must be unique, got "${p.name}" twice`,
      );
    }
    names.add(p.name);
    for (const key of ["value", "grad"] as const) {
      checkTensor(p[key], what, `parameter "${p.name}" ${key}`);
    }
    const { value, grad } = p;
    if (grad.backend !== value.backend || !sameShape(grad.shape, value.shape)) {
      throw new RangeError(
        `Cannot ${what}: parameter "${p.name}" grad must match its value, got value ${
          showShape(value.shape)
        } on ${value.backend.name} and grad ${
          showShape(grad.shape)
        } on ${grad.backend.name}`,
      );
    }
  });
  return [...parameters];
}
