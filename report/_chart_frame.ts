/**
 * The parts of a chart around its data: margins, title, grid, axes, tick
 * labels, axis labels and legend, and the checks of the options every chart
 * shares; the chart draws only inside the plot area.
 *
 * @module
 */

import type { NiceScale } from "./_nice_scale.ts";
import { escapeXml, num, type SeriesStyle, textWidth } from "./_svg.ts";

/** The plot area in pixels (SVG y grows downwards: `top < bottom`). */
export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** One legend line: a label and how its series is drawn. */
export interface LegendEntry {
  label: string;
  style: SeriesStyle;
  /** Whether the series has an error band, shown behind its swatch. */
  band?: boolean;
  /** Whether the series is drawn as bars: its swatch is a filled box, not a line. */
  bar?: boolean;
}

/** A tick label on the x axis, at a pixel position. */
export interface XTick {
  at: number;
  label: string;
}

/** Everything the frame needs to draw. */
export interface Frame {
  width: number;
  height: number;
  title: string;
  xLabel?: string;
  yLabel?: string;
  plot: PlotArea;
  yScale: NiceScale;
  xTicks: XTick[];
  /** Whether vertical grid lines run through the x ticks. Default true. */
  xGrid?: boolean;
  legend: LegendEntry[];
  clipId: string;
}

/** Font size of tick labels, legend and axis labels. */
const FONT = 12;
/** Legend swatch plus gap before its text. */
const SWATCH = 26;

/**
 * The margins above and below the plot.
 *
 * @param title The chart's title; `""` takes less room.
 * @param xLabel The x axis caption, if any.
 * @returns Top and bottom margins in pixels.
 */
export function verticalMargins(
  title: string,
  xLabel: string | undefined,
): { top: number; bottom: number } {
  return { top: title === "" ? 16 : 40, bottom: 28 + (xLabel ? 22 : 0) };
}

/**
 * The margins left and right of the plot: y tick labels on the left, the
 * legend on the right.
 *
 * @param width The chart's width.
 * @param yLabel The y axis caption, if any.
 * @param yScale The y axis, whose tick labels need room.
 * @param legend The legend's entries; none takes no room.
 * @returns Left and right margins in pixels.
 */
export function horizontalMargins(
  width: number,
  yLabel: string | undefined,
  yScale: NiceScale,
  legend: readonly LegendEntry[],
): { left: number; right: number } {
  const tickWidth = Math.max(
    0,
    ...yScale.ticks.map((t) => textWidth(formatTick(t, yScale))),
  );
  const left = 10 + (yLabel ? 22 : 0) + tickWidth + 8;
  return {
    left,
    right: legend.length === 0 ? 20 : legendWidth(width, legend) + 28,
  };
}

/**
 * The tick text for a value, with as many decimals as the scale's step.
 *
 * @param value A tick of `scale`.
 * @param scale Its axis.
 * @returns The label.
 */
export function formatTick(value: number, scale: NiceScale): string {
  return value.toFixed(scale.decimals);
}

/**
 * Where a value lies on the frame's y axis.
 *
 * @param frame The plot area and y scale.
 * @param v A value.
 * @returns Its y pixel (possibly outside the plot).
 */
export function yPixel(
  frame: { plot: PlotArea; yScale: NiceScale },
  v: number,
): number {
  const { plot, yScale } = frame;
  return plot.bottom -
    ((v - yScale.min) / (yScale.max - yScale.min)) * (plot.bottom - plot.top);
}

/**
 * What lies under the data: the SVG opening, background, title, grid and
 * the clip path of the plot area.
 *
 * @param frame The chart's frame.
 * @returns SVG lines.
 */
export function frameBackground(frame: Frame): string[] {
  const { width, height, plot } = frame;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${
      num(height)
    }" ` +
    `viewBox="0 0 ${num(width)} ${
      num(height)
    }" font-family="sans-serif" font-size="${FONT}">`,
    `<title>${escapeXml(frame.title)}</title>`,
    `<rect width="${num(width)}" height="${num(height)}" fill="#ffffff"/>`,
  ];
  if (frame.title !== "") {
    out.push(
      `<text class="title" x="${
        num(width / 2)
      }" y="24" text-anchor="middle" font-size="15" ` +
        `font-weight="bold">${escapeXml(frame.title)}</text>`,
    );
  }
  const grid: string[] = [];
  for (const t of frame.yScale.ticks) {
    grid.push(`M${num(plot.left)} ${num(yPixel(frame, t))}H${num(plot.right)}`);
  }
  for (const t of frame.xGrid === false ? [] : frame.xTicks) {
    grid.push(`M${num(t.at)} ${num(plot.top)}V${num(plot.bottom)}`);
  }
  if (grid.length > 0) {
    out.push(
      `<path class="grid" d="${grid.join("")}" stroke="#e3e3e3" fill="none"/>`,
    );
  }
  out.push(
    `<clipPath id="${frame.clipId}"><rect x="${num(plot.left)}" y="${
      num(plot.top)
    }" ` +
      `width="${num(plot.right - plot.left)}" height="${
        num(plot.bottom - plot.top)
      }"/></clipPath>`,
  );
  return out;
}

/**
 * What lies over the data: axes, ticks and their labels, axis captions, the
 * legend and the SVG closing.
 *
 * @param frame The chart's frame.
 * @returns SVG lines.
 */
export function frameForeground(frame: Frame): string[] {
  const { plot, width, height } = frame;
  const out = [
    `<path class="axes" d="M${num(plot.left)} ${num(plot.top)}V${
      num(plot.bottom)
    }H${num(plot.right)}" ` +
    `stroke="#333333" fill="none"/>`,
  ];
  const ticks: string[] = [];
  for (const t of frame.yScale.ticks) {
    ticks.push(`M${num(plot.left - 5)} ${num(yPixel(frame, t))}h5`);
  }
  for (const t of frame.xTicks) {
    ticks.push(`M${num(t.at)} ${num(plot.bottom)}v5`);
  }
  if (ticks.length > 0) {
    out.push(`<path class="ticks" d="${ticks.join("")}" stroke="#333333"/>`);
  }
  for (const t of frame.yScale.ticks) {
    out.push(
      `<text class="tick-label" x="${num(plot.left - 8)}" y="${
        num(yPixel(frame, t) + 4)
      }" ` +
        `text-anchor="end">${escapeXml(formatTick(t, frame.yScale))}</text>`,
    );
  }
  for (const t of frame.xTicks) {
    out.push(
      `<text class="tick-label" x="${num(t.at)}" y="${
        num(plot.bottom + 18)
      }" text-anchor="middle">${escapeXml(t.label)}</text>`,
    );
  }
  if (frame.xLabel) {
    out.push(
      `<text class="axis-label" x="${num((plot.left + plot.right) / 2)}" y="${
        num(height - 10)
      }" ` +
        `text-anchor="middle">${escapeXml(frame.xLabel)}</text>`,
    );
  }
  if (frame.yLabel) {
    const y = (plot.top + plot.bottom) / 2;
    out.push(
      `<text class="axis-label" x="16" y="${num(y)}" text-anchor="middle" ` +
        `transform="rotate(-90 16 ${num(y)})">${
          escapeXml(frame.yLabel)
        }</text>`,
    );
  }
  out.push(...legend(frame, width), "</svg>");
  return out;
}

/** The legend's width: its longest label, capped at 30% of the chart. */
function legendWidth(width: number, entries: readonly LegendEntry[]): number {
  const longest = Math.max(...entries.map((e) => textWidth(e.label)));
  return Math.min(width * 0.3, SWATCH + longest);
}

/** One entry per series, in a column right of the plot; labels too long for it end in "…". */
function legend(frame: Frame, width: number): string[] {
  if (frame.legend.length === 0) return [];
  const x = frame.plot.right + 16;
  const room = legendWidth(width, frame.legend) - SWATCH;
  const out = [`<g class="legend">`];
  frame.legend.forEach((entry, i) => {
    const y = frame.plot.top + 8 + i * 20;
    const color = escapeXml(entry.style.color);
    const dash = entry.style.dash;
    if (entry.band) {
      out.push(
        `<rect x="${num(x)}" y="${
          num(y - 6)
        }" width="20" height="12" fill="${color}" fill-opacity="0.2"/>`,
      );
    }
    if (entry.bar) {
      out.push(
        `<rect x="${num(x + 3)}" y="${num(y - 6)}" width="14" height="12" ${
          barPaint(entry.style)
        }/>`,
      );
    } else {
      out.push(
        `<line x1="${num(x)}" y1="${num(y)}" x2="${num(x + 20)}" y2="${
          num(y)
        }" stroke="${color}" ` +
          `stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
      );
    }
    out.push(
      `<text class="legend-label" x="${num(x + SWATCH)}" y="${num(y + 4)}">${
        escapeXml(fitText(entry.label, room))
      }</text>`,
    );
  });
  out.push("</g>");
  return out;
}

/**
 * `text` as it fits in `room` pixels: whole, or cut short ending in "…".
 *
 * @param text A label.
 * @param room The width it may take, in pixels.
 * @returns The label, at least its first character or the "…".
 */
export function fitText(text: string, room: number): string {
  // The epsilon keeps a label that exactly fills the room (up to rounding) whole.
  const chars = Math.max(1, Math.floor(room / textWidth("m") + 1e-9));
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

/**
 * The paint of a bar and of its legend swatch: solid in the series' colour,
 * or, for a style with a dash (past the palette's end), translucent with a
 * dashed outline so it stays apart from the solid bar of the same colour.
 *
 * @param style The series' style.
 * @returns SVG attributes.
 */
export function barPaint(style: SeriesStyle): string {
  const color = escapeXml(style.color);
  return style.dash === undefined
    ? `fill="${color}"`
    : `fill="${color}" fill-opacity="0.35" stroke="${color}" ` +
      `stroke-width="1.5" stroke-dasharray="${style.dash}"`;
}

/**
 * A chart's size, defaulted to 640 × 400 and checked.
 *
 * @param spec The chart's spec.
 * @param where The start of an error message, e.g. `Cannot draw line chart`.
 * @returns Its width and height in pixels.
 * @throws {RangeError} When either is not a finite number ≥ 200.
 */
export function checkSize(
  spec: { width?: number; height?: number },
  where: string,
): { width: number; height: number } {
  const width = spec.width ?? 640;
  const height = spec.height ?? 400;
  for (const [name, value] of [["width", width], ["height", height]] as const) {
    if (!(Number.isFinite(value) && value >= 200)) {
      throw new RangeError(
        `${where}: ${name} must be a finite number of pixels ≥ 200, got ${value}`,
      );
    }
  }
  return { width, height };
}

/**
 * Checks fixed axis ends: each finite, and below one another when both are
 * given.
 *
 * @param min The fixed low end, if any.
 * @param max The fixed high end, if any.
 * @param minName The low end's name in the spec, e.g. `yMin`.
 * @param maxName The high end's name in the spec, e.g. `yMax`.
 * @param where The start of an error message.
 * @throws {RangeError} When an end is not finite or `min >= max`.
 */
export function checkRange(
  min: number | undefined,
  max: number | undefined,
  minName: string,
  maxName: string,
  where: string,
): void {
  for (const [name, value] of [[minName, min], [maxName, max]] as const) {
    if (value !== undefined && !Number.isFinite(value)) {
      throw new RangeError(
        `${where}: ${name} must be a finite number, got ${value}`,
      );
    }
  }
  if (min !== undefined && max !== undefined && !(min < max)) {
    throw new RangeError(
      `${where}: ${minName} must be less than ${maxName} (${max}), got ${min}`,
    );
  }
}
