/**
 * Small pieces every chart shares: escaping, stable numbers, the palette and
 * a text-width estimate for layout.
 *
 * @module
 */

/**
 * Okabe–Ito colours, ordered so the first few differ most for every common
 * kind of colour blindness; the yellow comes late because it is faint on
 * white.
 */
export const PALETTE: readonly string[] = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#F0E442",
];

/** Dash patterns used once the palette has been gone through, so series stay distinct. */
const DASHES: readonly (string | undefined)[] = [
  undefined,
  "6 3",
  "2 3",
  "8 3 2 3",
];

/** How one series is drawn. */
export interface SeriesStyle {
  /** Stroke and fill colour. */
  color: string;
  /** An SVG `stroke-dasharray`, absent for a solid line. */
  dash?: string;
}

/**
 * The colour and dash of the `index`-th series: the palette in order, then
 * the palette again with a dash pattern.
 *
 * @param index The series' position, from 0.
 * @param color A colour the caller chose, used instead of the palette's.
 * @returns Its style.
 *
 * @example Ninth series
 * ```ts
 * import { seriesStyle } from "./_svg.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(seriesStyle(0), { color: "#0072B2" });
 * deepEqual(seriesStyle(8), { color: "#0072B2", dash: "6 3" });
 * ```
 */
export function seriesStyle(index: number, color?: string): SeriesStyle {
  const dash = DASHES[Math.floor(index / PALETTE.length) % DASHES.length];
  const style: SeriesStyle = {
    color: color ?? PALETTE[index % PALETTE.length],
  };
  if (dash !== undefined) style.dash = dash;
  return style;
}

/**
 * Escapes text for SVG element content and attribute values.
 *
 * @param text Any text.
 * @returns The text with `& < > " '` as entities.
 *
 * @example Escape
 * ```ts
 * import { escapeXml } from "./_svg.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(escapeXml(`a<b & "c"`), "a&lt;b &amp; &quot;c&quot;");
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/**
 * A coordinate rounded to 2 decimals, so the same chart always prints the
 * same text (and no `-0`).
 *
 * @param value A finite number.
 * @returns Its shortest text after rounding.
 *
 * @example Round
 * ```ts
 * import { num } from "./_svg.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(num(1 / 3), "0.33");
 * equal(num(-0.001), "0");
 * ```
 */
export function num(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}

/**
 * Roughly how wide `text` is in a sans-serif font; layout only needs to
 * leave enough room, not to be exact.
 *
 * @param text The text.
 * @param fontSize Its font size in pixels.
 * @returns An estimated width in pixels.
 *
 * @example Estimate
 * ```ts
 * import { textWidth } from "./_svg.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(textWidth("abcd", 10), 24);
 * ```
 */
export function textWidth(text: string, fontSize = 12): number {
  return text.length * fontSize * 0.6;
}

/**
 * A short, stable hash of `text`, for element ids that differ between charts
 * placed in the same page.
 *
 * @param text Anything.
 * @returns 8 hex digits (32-bit FNV-1a).
 *
 * @example Hash
 * ```ts
 * import { hashId } from "./_svg.ts";
 * import { equal, notEqual } from "node:assert/strict";
 *
 * equal(hashId("loss"), hashId("loss"));
 * notEqual(hashId("loss"), hashId("accuracy"));
 * ```
 */
export function hashId(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
