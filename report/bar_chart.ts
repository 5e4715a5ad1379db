/**
 * Grouped bar charts as standalone SVG documents: one bar per series in each
 * group (e.g. final accuracy with and without BatchNorm, one bar per
 * method), with optional error bars. The output depends only on the spec,
 * so the same results give the same file.
 *
 * @module
 */

import { showValue } from "../src/_checks.ts";
import {
  barPaint,
  checkRange,
  checkSize,
  fitText,
  type Frame,
  frameBackground,
  frameForeground,
  horizontalMargins,
  type LegendEntry,
  type PlotArea,
  verticalMargins,
  yPixel,
} from "./_chart_frame.ts";
import { niceScale } from "./_nice_scale.ts";
import { escapeXml, hashId, num, seriesStyle } from "./_svg.ts";

/** One series of a bar chart: a bar in every group. */
export interface BarSeries {
  /** Its name in the legend. */
  label: string;
  /** The height of its bar in each group, one per group; `NaN` (any non-finite value) leaves the bar out. */
  values: ArrayLike<number>;
  /** Lower end of each bar's error bar (e.g. the minimum over seeds); given together with `upper`. */
  lower?: ArrayLike<number>;
  /** Upper end of each bar's error bar (e.g. the maximum over seeds); given together with `lower`. */
  upper?: ArrayLike<number>;
  /** A CSS colour instead of the palette's. */
  color?: string;
}

/** What a bar chart shows. */
export interface BarChartSpec {
  /** Heading above the plot, also the document's `<title>`; `""` for none. */
  title: string;
  /** Caption under the groups' names. */
  xLabel?: string;
  /** Caption beside the value axis. */
  yLabel?: string;
  /** The groups' names along the x axis, left to right; at least one. */
  groups: readonly string[];
  /** The series, side by side in each group in this order. */
  series: readonly BarSeries[];
  /** Fixed bottom of the value axis; default: rounded from the data and error bars. */
  yMin?: number;
  /** Fixed top of the value axis; default: rounded from the data and error bars. */
  yMax?: number;
  /** Width in pixels, at least 200. Default 640. */
  width?: number;
  /** Height in pixels, at least 200. Default 400. */
  height?: number;
}

/** Share of a group's slot that its bars fill; the rest separates groups. */
const GROUP_FILL = 0.8;
/** Share of a bar's step that the bar fills; the rest separates neighbours. */
const BAR_FILL = 0.9;
/** Error bars are dark so they show over any bar colour. */
const WHISKER = "#333333";

/**
 * Draws grouped bars as a standalone SVG document: each group's name under
 * it, the series' bars side by side in palette colours, a legend, a value
 * axis with nice round ticks and a whisker for each bar with `lower`/`upper`.
 *
 * The value axis need not start at 0, so close results (accuracies of 0.88
 * to 0.92) stay apart: by default it spans the bars and error bars, padded
 * by 10% of their spread, and reaches to 0 only when that at most doubles
 * it. Bars rise from 0 when 0 is on the axis, else from the axis end nearer
 * to it; bars beyond a fixed `yMin`/`yMax` are clipped at the plot's edge.
 *
 * @param spec The groups, series, captions and optional fixed value range.
 * @returns An SVG document, ending in a newline.
 * @throws {RangeError} When sizes or ranges are invalid, there are no
 *   groups, a series does not have one value per group, or an error bar's
 *   `lower` is above its `upper`.
 * @throws {TypeError} When a group name is not a string or a value is not a
 *   number.
 *
 * @example Final test accuracy with and without BatchNorm, min–max over seeds
 * ```ts
 * import { barChart } from "./bar_chart.ts";
 * import { equal, ok } from "node:assert/strict";
 *
 * const svg = barChart({
 *   title: "Final test accuracy",
 *   yLabel: "accuracy",
 *   groups: ["with BatchNorm", "without BatchNorm"],
 *   series: [
 *     { label: "dropout", values: [0.902, 0.884] },
 *     {
 *       label: "jumpout",
 *       values: [0.911, NaN],
 *       lower: [0.905, NaN],
 *       upper: [0.918, NaN],
 *     },
 *   ],
 * });
 * ok(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
 * equal(svg.match(/class="bar"/g)?.length, 3);
 * equal(svg.match(/class="error-bar"/g)?.length, 1);
 * ok(svg.includes(">without BatchNorm</text>"));
 * ```
 */
export function barChart(spec: BarChartSpec): string {
  const where = "Cannot draw bar chart";
  const { width, height } = checkSize(spec, where);
  checkRange(spec.yMin, spec.yMax, "yMin", "yMax", where);
  checkGroups(spec.groups, where);
  spec.series.forEach((s, i) =>
    checkBarSeries(s, i, spec.groups.length, where)
  );

  let low = Infinity, high = -Infinity;
  for (const s of spec.series) {
    for (let g = 0; g < spec.groups.length; g++) {
      if (!Number.isFinite(s.values[g])) continue;
      const ends = [s.values[g], s.lower?.[g] ?? NaN, s.upper?.[g] ?? NaN];
      for (const v of ends.filter(Number.isFinite)) {
        low = Math.min(low, v);
        high = Math.max(high, v);
      }
    }
  }
  const [padLow, padHigh] = paddedRange(low, high);

  const legend: LegendEntry[] = spec.series.map((s, i) => ({
    label: s.label,
    style: seriesStyle(i, s.color),
    bar: true,
  }));
  const { top, bottom } = verticalMargins(spec.title, spec.xLabel);
  const yScale = niceScale(padLow, padHigh, {
    min: spec.yMin,
    max: spec.yMax,
    target: Math.max(2, Math.round((height - top - bottom) / 60)),
  });
  const { left, right } = horizontalMargins(width, spec.yLabel, yScale, legend);
  const plot: PlotArea = {
    left,
    top,
    right: width - right,
    bottom: height - bottom,
  };
  const slot = (plot.right - plot.left) / spec.groups.length;
  const step = (slot * GROUP_FILL) / Math.max(1, spec.series.length);
  // The left edge of series i's bar in group g.
  const barLeft = (g: number, i: number) =>
    plot.left + slot * (g + (1 - GROUP_FILL) / 2) +
    step * (i + (1 - BAR_FILL) / 2);

  const frame: Frame = {
    width,
    height,
    title: spec.title,
    xLabel: spec.xLabel,
    yLabel: spec.yLabel,
    plot,
    yScale,
    xTicks: spec.groups.map((name, g) => ({
      at: plot.left + slot * (g + 0.5),
      label: fitText(name, slot),
    })),
    xGrid: false,
    legend,
    clipId: `plot-${
      hashId(JSON.stringify([spec.title, width, height, "bar"]))
    }`,
  };
  const base = Math.min(Math.max(0, yScale.min), yScale.max);
  const out = frameBackground(frame);
  out.push(`<g clip-path="url(#${frame.clipId})">`);
  spec.series.forEach((s, i) => {
    out.push(`<g class="series" data-series="${escapeXml(s.label)}">`);
    const paint = barPaint(legend[i].style);
    const barWidth = step * BAR_FILL;
    for (let g = 0; g < spec.groups.length; g++) {
      const value = s.values[g];
      if (!Number.isFinite(value)) continue;
      const x = barLeft(g, i);
      const y0 = yPixel(frame, base), y1 = yPixel(frame, value);
      const lower = s.lower?.[g] ?? NaN, upper = s.upper?.[g] ?? NaN;
      const whisker = Number.isFinite(lower) && Number.isFinite(upper);
      const tip = `${s.label}, ${spec.groups[g]}: ${short(value)}${
        whisker ? ` (${short(lower)} to ${short(upper)})` : ""
      }`;
      out.push(
        `<rect class="bar" x="${num(x)}" y="${num(Math.min(y0, y1))}" width="${
          num(barWidth)
        }" height="${num(Math.abs(y1 - y0))}" ${paint}><title>${
          escapeXml(tip)
        }</title></rect>`,
      );
      if (whisker) {
        const mid = x + barWidth / 2, cap = Math.min(8, barWidth * 0.6) / 2;
        const yl = num(yPixel(frame, lower)), yu = num(yPixel(frame, upper));
        out.push(
          `<path class="error-bar" d="M${num(mid)} ${yl}V${yu}M${
            num(mid - cap)
          } ${yl}H${num(mid + cap)}M${num(mid - cap)} ${yu}H${
            num(mid + cap)
          }" stroke="${WHISKER}" stroke-width="1.5" fill="none"/>`,
        );
      }
    }
    out.push("</g>");
  });
  out.push("</g>", ...frameForeground(frame));
  return out.join("\n") + "\n";
}

/**
 * The default value range for data from `low` to `high`: padded by 10% of
 * the spread each way, without crossing 0, and reaching to 0 when that at
 * most doubles the spread; no data stays no data.
 */
function paddedRange(low: number, high: number): [number, number] {
  if (!(low <= high)) return [low, high];
  const spread = high - low;
  let padLow = low - spread * 0.1, padHigh = high + spread * 0.1;
  if (low >= 0 && (padLow < 0 || low <= spread)) padLow = 0;
  if (high <= 0 && (padHigh > 0 || -high <= spread)) padHigh = 0;
  return [padLow, padHigh];
}

/** A value for a bar's tooltip: at most 4 significant digits. */
function short(value: number): string {
  return String(Number(value.toPrecision(4)));
}

function checkGroups(groups: readonly string[], where: string): void {
  if (!Array.isArray(groups)) {
    throw new TypeError(
      `${where}: groups must be an array of names, got ${showValue(groups)}`,
    );
  }
  if (groups.length === 0) {
    throw new RangeError(
      `${where}: groups must name at least one group, got none`,
    );
  }
  groups.forEach((name, g) => {
    if (typeof name !== "string") {
      throw new TypeError(
        `${where}: groups[${g}] must be a string, got ${showValue(name)}`,
      );
    }
  });
}

function checkBarSeries(
  s: BarSeries,
  index: number,
  groups: number,
  where: string,
): void {
  for (const name of ["values", "lower", "upper"] as const) {
    const values: unknown = s[name];
    if (values === undefined && name !== "values") continue;
    if (
      typeof values !== "object" || values === null ||
      typeof (values as ArrayLike<unknown>).length !== "number"
    ) {
      throw new TypeError(
        `${where}: series[${index}].${name} must be an array of numbers, got ${
          showValue(values)
        }`,
      );
    }
    const array = values as ArrayLike<unknown>;
    if (array.length !== groups) {
      throw new RangeError(
        `${where}: series[${index}].${name} must have one value per group (${groups}), got ${array.length}`,
      );
    }
    for (let g = 0; g < groups; g++) {
      if (typeof array[g] !== "number") {
        throw new TypeError(
          `${where}: series[${index}].${name}[${g}] must be a number (NaN for none), got ${
            showValue(array[g])
          }`,
        );
      }
    }
  }
  if ((s.lower === undefined) !== (s.upper === undefined)) {
    const missing = s.lower === undefined ? "lower" : "upper";
    throw new RangeError(
      `${where}: series[${index}].${missing} must be given with the other end of the error bars, got none`,
    );
  }
  const { lower, upper } = s;
  if (lower === undefined || upper === undefined) return;
  for (let g = 0; g < groups; g++) {
    if (lower[g] > upper[g]) {
      throw new RangeError(
        `${where}: series[${index}].lower[${g}] must be at most upper[${g}] (${
          upper[g]
        }), got ${lower[g]}`,
      );
    }
  }
}
