/**
 * How error messages name a value of the wrong kind.
 *
 * @module
 */

/**
 * A value, briefly, for messages: its class or its type.
 *
 * @param value Anything.
 * @returns The description, e.g. `Array`, `null`, `number`.
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
