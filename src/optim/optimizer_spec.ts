/**
 * Optimisers as plain data: a spec that survives a structured clone (so it
 * can be posted to a Web Worker) and makes the same optimiser on the other
 * side.
 *
 * @module
 */

import type { Parameter } from "../layers/layer.ts";
import { checkKnownFields, checkRecord, keysOf } from "../io/_spec_fields.ts";
import { showValue } from "../_checks.ts";
import { Adam, type AdamOptions } from "./adam.ts";
import type { Optimizer } from "./optimizer.ts";
import type { Schedule } from "./schedules.ts";
import { SGD, type SGDOptions } from "./sgd.ts";

/**
 * An optimiser as plain data: its class as `type` and its options, less the
 * schedule, a function, which cannot be cloned; pass a schedule to
 * {@linkcode optimizerFromSpec} on the side that makes the optimiser.
 *
 * @example Specs for both optimisers survive a structured clone
 * ```ts
 * import type { OptimizerSpec } from "./optimizer_spec.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const specs: OptimizerSpec[] = [
 *   { type: "sgd", lr: 0.1, momentum: 0.9, nesterov: true },
 *   { type: "adam", lr: 3e-4, weightDecay: 1e-4 },
 * ];
 * deepEqual(structuredClone(specs), specs);
 * ```
 */
export type OptimizerSpec =
  | ({ type: "sgd" } & Omit<SGDOptions, "schedule">)
  | ({ type: "adam" } & Omit<AdamOptions, "schedule">);

/** The fields each type of spec may have, `type` included. */
const FIELDS = {
  sgd: keysOf<Extract<OptimizerSpec, { type: "sgd" }>>({
    type: true,
    lr: true,
    momentum: true,
    nesterov: true,
    weightDecay: true,
  }),
  adam: keysOf<Extract<OptimizerSpec, { type: "adam" }>>({
    type: true,
    lr: true,
    beta1: true,
    beta2: true,
    epsilon: true,
    weightDecay: true,
  }),
};

/**
 * Makes the optimiser a spec describes, for `parameters`. Every field is
 * checked to be known, so a misspelt one fails rather than leaving an option
 * at its default; the values are checked by the optimiser's constructor,
 * whose errors pass through unchanged.
 *
 * @param spec The optimiser's description.
 * @param parameters What it updates: live float32 value/grad pairs with
 *   unique names.
 * @param schedule The rate per step; when given it replaces the spec's
 *   `lr`, which is then ignored.
 * @returns A new optimiser; it allocates nothing until its first step.
 * @throws {TypeError} When `spec` is not an object, its `type` is not
 *   `"sgd"` or `"adam"`, or it has a field that type does not take (a
 *   `schedule` included); the message names the field.
 * @throws {RangeError | TypeError} The constructor's error for a bad value
 *   or parameter.
 *
 * @example The same SGD from a spec as from its constructor
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { optimizerFromSpec } from "./optimizer_spec.ts";
 * import { SGD } from "./sgd.ts";
 * import { ok, throws } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const value = backend.tensor(new Float32Array([1]), [1]);
 * const grad = backend.tensor(new Float32Array([1]), [1]);
 * const sgd = optimizerFromSpec({ type: "sgd", lr: 0.5, momentum: 0.9 }, [{ name: "w", value, grad }]);
 * ok(sgd instanceof SGD && sgd.momentum === 0.9 && sgd.lr === 0.5);
 * const scheduled = optimizerFromSpec({ type: "sgd", lr: 0.5 }, [{ name: "w", value, grad }], (step) => 0.1 / (step + 1));
 * ok(scheduled.lr === 0.1);
 * throws(
 *   () => optimizerFromSpec({ type: "sgd", lr: 0.5, momemtum: 0.9 } as never, []),
 *   /spec has an unknown field "momemtum"/,
 * );
 * ```
 */
export function optimizerFromSpec(
  spec: OptimizerSpec,
  parameters: readonly Parameter[],
  schedule?: Schedule,
): Optimizer {
  const what = "create an optimizer from a spec";
  const record = checkRecord(spec, what, "spec");
  const type = record.type;
  if (type !== "sgd" && type !== "adam") {
    throw new TypeError(
      `Cannot ${what}: spec.type must be "sgd" or "adam", got ${
        showValue(type)
      }`,
    );
  }
  if (Object.hasOwn(record, "schedule")) {
    throw new TypeError(
      `Cannot ${what}: spec must not have a schedule field (a function does not survive a structured clone), got one; pass the schedule as the third argument`,
    );
  }
  checkKnownFields(record, FIELDS[type], what, "spec", `"${type}" specs`);
  const { type: _, ...fields } = record;
  const options = schedule === undefined
    ? fields
    : { ...fields, lr: undefined, schedule };
  return type === "sgd"
    ? new SGD(parameters, options as SGDOptions)
    : new Adam(parameters, options as AdamOptions);
}
