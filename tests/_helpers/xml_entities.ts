/**
 * The five XML entities, for the tests that check the charts' SVG.
 *
 * @module
 */

const ENTITY = /&(amp|lt|gt|quot|apos);/g;
const DECODED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

/**
 * Throws unless every `&` in `raw` starts one of the five XML entities;
 * returns the decoded text.
 *
 * @param raw Text or an attribute's value as written.
 * @param where What it is, for the error.
 * @returns The decoded text.
 */
export function decodeEntities(raw: string, where = "text"): string {
  if (raw.replace(ENTITY, "").includes("&")) {
    throw new Error(`bare & in ${where}: ${raw}`);
  }
  return raw.replace(ENTITY, (_, name: string) => DECODED[name]);
}
