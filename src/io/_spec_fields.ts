/**
 * The checks that model and optimiser specs share: a spec is a plain object
 * whose every field is known, so a misspelt field fails instead of quietly
 * leaving an option at its default.
 *
 * @module
 */

import { showValue } from "../_checks.ts";

/**
 * The keys of `T`, listed in an object literal that the compiler checks
 * against `T`: adding an option to an options interface without adding it
 * here fails to compile, so specs never silently drop a new option.
 *
 * @param keys Every key of `T`, each mapped to `true`.
 * @returns The keys.
 */
export function keysOf<T>(keys: Record<keyof Required<T>, true>): string[] {
  return Object.keys(keys);
}

/**
 * Throws unless `value` is an object that is not an array.
 *
 * @param value What was given.
 * @param what What failed, e.g. `"build a model from specs"`.
 * @param path How the message names the value, e.g. `"specs[2]"`.
 * @returns `value`, typed.
 */
export function checkRecord(
  value: unknown,
  what: string,
  path: string,
): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `Cannot ${what}: ${path} must be an object, got ${showValue(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * Throws on the first own field of `record` that `known` does not list.
 *
 * @param record The object to check.
 * @param known Its allowed fields.
 * @param what What failed, e.g. `"build a model from specs"`.
 * @param path How the message names `record`, e.g. `"specs[0]"`.
 * @param kind Whose fields `known` are, for the message, e.g.
 *   `'"dense" specs'`.
 */
export function checkKnownFields(
  record: Record<string, unknown>,
  known: readonly string[],
  what: string,
  path: string,
  kind: string,
): void {
  const unknown = Object.keys(record).find((key) => !known.includes(key));
  if (unknown !== undefined) {
    throw new TypeError(
      `Cannot ${what}: ${path} has an unknown field ${
        JSON.stringify(unknown)
      } (known fields of ${kind}: ${known.join(", ")})`,
    );
  }
}
