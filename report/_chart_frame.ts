/**
 * The parts of a chart around its data: margins, title, grid, axes, tick
 * labels, axis labels and legend; the chart draws only inside the plot
 * area.
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
  for (const t of frame.xTicks) {
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
  // The epsilon keeps a label that exactly fills the room (up to rounding) whole.
  const chars = Math.max(1, Math.floor(room / textWidth("m") + 1e-9));
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
    out.push(
      `<line x1="${num(x)}" y1="${num(y)}" x2="${num(x + 20)}" y2="${
        num(y)
      }" stroke="${color}" ` +
        `stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
    );
    const label = entry.label.length > chars
      ? `${entry.label.slice(0, chars - 1)}…`
      : entry.label;
    out.push(
      `<text class="legend-label" x="${num(x + SWATCH)}" y="${num(y + 4)}">${
        escapeXml(label)
      }</text>`,
    );
  });
  out.push("</g>");
  return out;
}
