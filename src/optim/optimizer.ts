/**
 * What every optimiser offers a training loop, and the bookkeeping they share.
 *
 * @module
 */

import type { Parameter } from "../layer.ts";
import { Tensor } from "../tensor.ts";
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
   * Applies one update to every parameter from its current gradient.
   *
   * @throws {RangeError} When the schedule gives a rate that is not a finite
   *   number >= 0.
   */
  step(): void {
    const lr = this.lr;
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new RangeError(
        `Cannot run ${this.#kind} step: schedule(${this.#stepCount}) must return a finite number >= 0, got ${lr}`,
      );
    }
    for (const p of this.parameters) {
      this.update(p, this.#slotsOf(p), lr, this.#stepCount + 1);
    }
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
    for (const p of this.parameters) {
      const slots = this.#slotsOf(p);
      this.slotNames.forEach((slot, i) => {
        if (this.savesSlot(slot)) state.set(`${p.name}.${slot}`, slots[i]);
      });
    }
    return state;
  }

  /** Frees every state tensor; a later step starts again from zeros. */
  dispose(): void {
    for (const slots of this.#slots.values()) {
      for (const t of slots) if (!t.released) t.backend.release(t);
    }
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

  /**
   * Whether a slot belongs in checkpoints (not when it is only scratch).
   *
   * @param _slot The slot's name.
   * @returns True unless a subclass says otherwise.
   */
  protected savesSlot(_slot: string): boolean {
    return true;
  }

  #slotsOf(p: Parameter): Tensor<"float32">[] {
    let slots = this.#slots.get(p);
    if (slots === undefined) {
      const backend = p.value.backend;
      slots = this.slotNames.map(() => backend.allocate(p.value.shape));
      this.#slots.set(p, slots);
    }
    return slots;
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
        parameters === null ? "null" : typeof parameters
      }`,
    );
  }
  const names = new Set<string>();
  parameters.forEach((p, i) => {
    if (p === null || typeof p !== "object") {
      throw new TypeError(
        `Cannot ${what}: parameters[${i}] must be a Parameter, got ${
          p === null ? "null" : typeof p
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
      const t = p[key];
      if (!(t instanceof Tensor) || t.dtype !== "float32" || t.released) {
        throw new TypeError(
          `Cannot ${what}: parameter "${p.name}" ${key} must be a live float32 Tensor, got ${
            t instanceof Tensor
              ? (t.released ? "a released tensor" : `a ${t.dtype} tensor`)
              : typeof t
          }`,
        );
      }
    }
    const { value, grad } = p;
    if (
      grad.backend !== value.backend ||
      grad.shape.length !== value.shape.length ||
      grad.shape.some((d: number, j: number) => d !== value.shape[j])
    ) {
      throw new RangeError(
        `Cannot ${what}: parameter "${p.name}" grad must match its value, got value [${
          value.shape.join(", ")
        }] on ${value.backend.name} and grad [${
          grad.shape.join(", ")
        }] on ${grad.backend.name}`,
      );
    }
  });
  return [...parameters];
}
