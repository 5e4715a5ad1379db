/**
 * Charts of a training run as standalone SVG documents: line charts of
 * curves (loss or accuracy per epoch, with optional mean ± std bands) and
 * grouped bar charts (a value per layer for each of a few settings). The
 * output depends only on the spec, so the same run gives the same file.
 *
 * @module
 */

import {
  formatTick,
  type Frame,
  frameBackground,
  frameForeground,
  horizontalMargins,
  type LegendEntry,
  type PlotArea,
  rotatedLabelDepth,
  verticalMargins,
  yPixel,
} from "./_chart_frame.ts";
import { niceScale } from "./_nice_scale.ts";
import {
  escapeXml,
  hashId,
  num,
  type SeriesStyle,
  seriesStyle,
  textWidth,
} from "./_svg.ts";

/** One curve of a line chart. */
export interface LineSeries {
  /** Its name in the legend. */
  label: string;
  /** The x value of each point. */
  x: ArrayLike<number>;
  /** The y value of each point; a point whose x or y is not finite leaves a gap in the line. */
  y: ArrayLike<number>;
  /** Lower edge of an error band (e.g. mean − std), one per point; given together with `upper`. */
  lower?: ArrayLike<number>;
  /** Upper edge of an error band (e.g. mean + std), one per point; given together with `lower`. */
  upper?: ArrayLike<number>;
  /** A CSS colour instead of the palette's. */
  color?: string;
}

/** What a line chart shows. */
export interface LineChartSpec {
  /** Heading above the plot, also the document's `<title>`; `""` for none. */
  title: string;
  /** Caption under the x axis. */
  xLabel?: string;
  /** Caption beside the y axis. */
  yLabel?: string;
  /** The curves, drawn in order (later ones on top). */
  series: readonly LineSeries[];
  /** Fixed left end of the x axis; default: the data's minimum rounded down to a tick. */
  xMin?: number;
  /** Fixed right end of the x axis; default: the data's maximum rounded up to a tick. */
  xMax?: number;
  /** Fixed bottom of the y axis (e.g. 0 for accuracy); default: rounded from the data and bands. */
  yMin?: number;
  /** Fixed top of the y axis (e.g. 1 for accuracy); default: rounded from the data and bands. */
  yMax?: number;
  /** Width in pixels, at least 200. Default 640. */
  width?: number;
  /** Height in pixels, at least 200. Default 400. */
  height?: number;
}

/** One setting in a bar chart: a bar in every category. */
export interface BarSeries {
  /** Its name in the legend. */
  label: string;
  /** One value per category; a non-finite value draws no bar. */
  values: ArrayLike<number>;
  /** Half-length of each bar's error bar (e.g. a std), one per category, ≥ 0; non-finite draws none. */
  errors?: ArrayLike<number>;
  /** A CSS colour instead of the palette's. */
  color?: string;
}

/** A dashed horizontal line across a bar chart, such as y = 1 for an ideal ratio. */
export interface ReferenceLine {
  /** Where it is drawn. */
  y: number;
  /** Text at its right end. */
  label?: string;
}

/** What a grouped bar chart shows. */
export interface BarChartSpec {
  /** Heading above the plot, also the document's `<title>`; `""` for none. */
  title: string;
  /** Caption under the x axis. */
  xLabel?: string;
  /** Caption beside the y axis. */
  yLabel?: string;
  /** The groups along the x axis, left to right (e.g. layer names). */
  categories: readonly string[];
  /** The bars of each group, left to right within it. */
  series: readonly BarSeries[];
  /** A horizontal line to compare the bars with. */
  reference?: ReferenceLine;
  /** Fixed bottom of the y axis; default: 0 or the data's minimum rounded down, whichever is lower. */
  yMin?: number;
  /** Fixed top of the y axis; default: 0 or the data's maximum rounded up, whichever is higher. */
  yMax?: number;
  /** Width in pixels, at least 200. Default 640. */
  width?: number;
  /** Height in pixels, at least 200. Default 400. */
  height?: number;
}

/**
 * Draws curves as a standalone SVG document: nice round ticks on both axes,
 * a legend, palette colours that stay apart for colour-blind readers, and a
 * translucent band for each series with `lower`/`upper`. Points outside a
 * fixed axis range are clipped at the plot's edge.
 *
 * @param spec The curves, captions and optional fixed ranges.
 * @returns An SVG document, ending in a newline.
 * @throws {RangeError} When sizes or ranges are invalid, or a series' arrays
 *   differ in length.
 *
 * @example Test accuracy per epoch, with a band of ± one std over seeds
 * ```ts
 * import { lineChart } from "./svg_chart.ts";
 * import { ok } from "node:assert/strict";
 *
 * const svg = lineChart({
 *   title: "Test accuracy",
 *   xLabel: "epoch",
 *   yLabel: "accuracy",
 *   yMin: 0,
 *   yMax: 1,
 *   series: [
 *     { label: "dropout", x: [1, 2, 3], y: [0.81, 0.86, 0.88] },
 *     {
 *       label: "jumpout",
 *       x: [1, 2, 3],
 *       y: [0.84, 0.89, 0.91],
 *       lower: [0.82, 0.88, 0.9],
 *       upper: [0.86, 0.9, 0.92],
 *     },
 *   ],
 * });
 * ok(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
 * ok(svg.includes(">jumpout</text>"));
 * ```
 */
export function lineChart(spec: LineChartSpec): string {
  const where = "Cannot draw line chart";
  const { width, height } = checkSize(spec, where);
  checkRange(spec.xMin, spec.xMax, "xMin", "xMax", where);
  checkRange(spec.yMin, spec.yMax, "yMin", "yMax", where);
  spec.series.forEach((s, i) => checkLineSeries(s, i, where));

  let xLow = Infinity, xHigh = -Infinity, yLow = Infinity, yHigh = -Infinity;
  for (const s of spec.series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i];
      if (!Number.isFinite(x)) continue;
      const ys = [s.y[i], s.lower?.[i] ?? NaN, s.upper?.[i] ?? NaN].filter(
        Number.isFinite,
      );
      if (ys.length === 0) continue;
      xLow = Math.min(xLow, x);
      xHigh = Math.max(xHigh, x);
      yLow = Math.min(yLow, ...ys);
      yHigh = Math.max(yHigh, ...ys);
    }
  }

  const legend: LegendEntry[] = spec.series.map((s, i) => ({
    label: s.label,
    style: seriesStyle(i, s.color),
    band: s.lower !== undefined,
  }));
  const { top, bottom } = verticalMargins(spec.title, spec.xLabel);
  const yScale = niceScale(yLow, yHigh, {
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
  const xScale = niceScale(xLow, xHigh, {
    min: spec.xMin,
    max: spec.xMax,
    target: Math.max(2, Math.round((plot.right - plot.left) / 90)),
  });
  const xPixel = (x: number) =>
    plot.left +
    ((x - xScale.min) / (xScale.max - xScale.min)) * (plot.right - plot.left);

  const frame: Frame = {
    width,
    height,
    title: spec.title,
    xLabel: spec.xLabel,
    yLabel: spec.yLabel,
    plot,
    yScale,
    xTicks: xScale.ticks.map((t) => ({
      at: xPixel(t),
      label: formatTick(t, xScale),
    })),
    xGrid: true,
    xTickRotated: false,
    legend,
    legendSwatch: "line",
    clipId: `plot-${
      hashId(JSON.stringify([spec.title, width, height, "line"]))
    }`,
  };
  const out = frameBackground(frame);
  out.push(`<g clip-path="url(#${frame.clipId})">`);
  spec.series.forEach((s, i) => {
    const point = (j: number, y: number) =>
      `${num(xPixel(s.x[j]))} ${num(yPixel(frame, y))}`;
    out.push(...drawLineSeries(s, legend[i].style, point));
  });
  out.push("</g>", ...frameForeground(frame));
  return out.join("\n") + "\n";
}

/**
 * Draws grouped bars as a standalone SVG document: one group per category,
 * one bar per series in each, optional error bars and a dashed reference
 * line. Bars grow from 0 (or from the nearest end of a fixed y range that
 * excludes 0).
 *
 * @param spec The categories, series, captions and optional fixed y range.
 * @returns An SVG document, ending in a newline.
 * @throws {RangeError} When sizes or ranges are invalid, there is no
 *   category, or a series has not one value per category.
 *
 * @example Gradient ratio per layer for three rescale powers
 * ```ts
 * import { barChart } from "./svg_chart.ts";
 * import { equal, ok } from "node:assert/strict";
 *
 * const svg = barChart({
 *   title: "Variance ratio per layer",
 *   yLabel: "ratio",
 *   categories: ["dense1", "dense2", "dense3"],
 *   series: [
 *     { label: "power 1", values: [0.71, 0.64, 0.6] },
 *     { label: "power 0.5", values: [1.35, 1.5, 1.62] },
 *     { label: "power 0.75", values: [0.99, 1.02, 0.98], errors: [0.03, 0.02, 0.04] },
 *   ],
 *   reference: { y: 1, label: "ideal" },
 * });
 * equal(svg.match(/class="bar"/g)?.length, 9);
 * ok(svg.includes('class="reference"'));
 * ```
 */
export function barChart(spec: BarChartSpec): string {
  const where = "Cannot draw bar chart";
  const { width, height } = checkSize(spec, where);
  checkRange(spec.yMin, spec.yMax, "yMin", "yMax", where);
  const n = spec.categories.length;
  if (n === 0) {
    throw new RangeError(
      `${where}: categories must have at least one name, got 0`,
    );
  }
  spec.series.forEach((s, i) => checkBarSeries(s, i, n, where));
  if (spec.reference !== undefined && !Number.isFinite(spec.reference.y)) {
    throw new RangeError(
      `${where}: reference.y must be a finite number, got ${spec.reference.y}`,
    );
  }

  // Bars are lengths from 0, so 0 is always on the axis.
  let yLow = 0, yHigh = 0;
  const extend = (v: number) => {
    yLow = Math.min(yLow, v);
    yHigh = Math.max(yHigh, v);
  };
  for (const s of spec.series) {
    for (let i = 0; i < n; i++) {
      const v = s.values[i];
      if (!Number.isFinite(v)) continue;
      extend(v);
      const e = s.errors?.[i] ?? NaN;
      if (Number.isFinite(e)) {
        extend(v - e);
        extend(v + e);
      }
    }
  }
  if (spec.reference !== undefined) extend(spec.reference.y);

  const legend: LegendEntry[] = spec.series.map((s, i) => ({
    label: s.label,
    style: seriesStyle(i, s.color),
  }));
  const base = verticalMargins(spec.title, spec.xLabel);
  const yScale = niceScale(yLow, yHigh, {
    min: spec.yMin,
    max: spec.yMax,
    target: Math.max(2, Math.round((height - base.top - base.bottom) / 60)),
  });
  const { left, right } = horizontalMargins(width, spec.yLabel, yScale, legend);
  const band = (width - right - left) / n;
  const widest = Math.max(...spec.categories.map((c) => textWidth(c)));
  const rotated = widest > band - 6;
  const { top, bottom } = verticalMargins(
    spec.title,
    spec.xLabel,
    rotated ? Math.min(rotatedLabelDepth(widest), Math.round(height * 0.3)) : 0,
  );
  const plot: PlotArea = {
    left,
    top,
    right: width - right,
    bottom: height - bottom,
  };
  const frame: Frame = {
    width,
    height,
    title: spec.title,
    xLabel: spec.xLabel,
    yLabel: spec.yLabel,
    plot,
    yScale,
    xTicks: spec.categories.map((c, i) => ({
      at: left + (i + 0.5) * band,
      label: c,
    })),
    xGrid: false,
    xTickRotated: rotated,
    legend,
    legendSwatch: "box",
    clipId: `plot-${
      hashId(JSON.stringify([spec.title, width, height, "bar"]))
    }`,
  };

  const out = frameBackground(frame);
  out.push(`<g clip-path="url(#${frame.clipId})">`);
  // Pixels are kept a little beyond the plot so huge values stay printable; the clip hides the rest.
  const y = (v: number) =>
    Math.min(plot.bottom + 1, Math.max(plot.top - 1, yPixel(frame, v)));
  const zero = y(Math.min(yScale.max, Math.max(yScale.min, 0)));
  const group = band * 0.8;
  const barWidth = group / Math.max(1, spec.series.length);
  spec.series.forEach((s, j) => {
    const color = escapeXml(legend[j].style.color);
    const bars: string[] = [];
    const whiskers: string[] = [];
    for (let i = 0; i < n; i++) {
      const v = s.values[i];
      if (!Number.isFinite(v)) continue;
      const x = left + i * band + (band - group) / 2 + j * barWidth;
      // A one-pixel gap between neighbouring bars, when they are wide enough to spare it.
      const w = barWidth > 4 ? barWidth - 1 : barWidth;
      const barTop = Math.min(y(v), zero);
      const tip = `${spec.categories[i]}, ${s.label}: ${
        Number(v.toPrecision(4))
      }`;
      bars.push(
        `<rect class="bar" x="${num(x)}" y="${num(barTop)}" width="${
          num(w)
        }" ` +
          `height="${num(Math.abs(y(v) - zero))}" fill="${color}"><title>${
            escapeXml(tip)
          }</title></rect>`,
      );
      const e = s.errors?.[i] ?? NaN;
      if (Number.isFinite(e)) {
        const cx = x + w / 2;
        const cap = Math.min(8, w * 0.6) / 2;
        const [hi, lo] = [y(v + e), y(v - e)];
        whiskers.push(
          `M${num(cx)} ${num(hi)}V${num(lo)}M${num(cx - cap)} ${num(hi)}h${
            num(2 * cap)
          }` +
            `M${num(cx - cap)} ${num(lo)}h${num(2 * cap)}`,
        );
      }
    }
    out.push(`<g class="series" data-series="${escapeXml(s.label)}">`, ...bars);
    if (whiskers.length > 0) {
      out.push(
        `<path class="error-bars" d="${
          whiskers.join("")
        }" stroke="#222222" fill="none"/>`,
      );
    }
    out.push("</g>");
  });
  if (yScale.min < 0 && yScale.max > 0) {
    out.push(
      `<path class="baseline" d="M${num(left)} ${num(zero)}H${
        num(plot.right)
      }" stroke="#333333"/>`,
    );
  }
  if (spec.reference !== undefined) {
    const ry = num(yPixel(frame, spec.reference.y));
    out.push(
      `<line class="reference" x1="${num(left)}" y1="${ry}" x2="${
        num(plot.right)
      }" y2="${ry}" ` +
        `stroke="#555555" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    if (spec.reference.label) {
      out.push(
        `<text class="reference-label" x="${num(plot.right - 4)}" y="${
          num(Number(ry) - 5)
        }" ` +
          `text-anchor="end" fill="#555555" stroke="#ffffff" stroke-width="3" paint-order="stroke">` +
          `${escapeXml(spec.reference.label)}</text>`,
      );
    }
  }
  out.push("</g>", ...frameForeground(frame));
  return out.join("\n") + "\n";
}

/**
 * One line series: its band (one path of closed outlines), its line (one
 * path, a new subpath after each gap) and a dot for each point with no
 * neighbour to join.
 */
function drawLineSeries(
  s: LineSeries,
  style: SeriesStyle,
  point: (index: number, y: number) => string,
): string[] {
  const color = escapeXml(style.color);
  const out = [`<g class="series" data-series="${escapeXml(s.label)}">`];
  if (s.lower !== undefined && s.upper !== undefined) {
    const { lower, upper } = s;
    const outlines = runs(
      s.x.length,
      (i) => isFinite3(s.x[i], lower[i], upper[i]),
    ).map((run) => {
      const edge = run.map((i) => point(i, upper[i]));
      const back = run.toReversed().map((i) => point(i, lower[i]));
      return `M${[...edge, ...back].join("L")}Z`;
    });
    if (outlines.length > 0) {
      out.push(
        `<path class="band" d="${
          outlines.join("")
        }" fill="${color}" fill-opacity="0.2" stroke="none"/>`,
      );
    }
  }
  const lines = runs(s.x.length, (i) => isFinite3(s.x[i], s.y[i], 0));
  const d = lines.map((run) => `M${run.map((i) => point(i, s.y[i])).join("L")}`)
    .join("");
  if (d !== "") {
    out.push(
      `<path class="line" d="${d}" fill="none" stroke="${color}" stroke-width="2" ` +
        `stroke-linejoin="round" stroke-linecap="round"${
          style.dash ? ` stroke-dasharray="${style.dash}"` : ""
        }/>`,
    );
  }
  for (const run of lines) {
    if (run.length !== 1) continue;
    const [cx, cy] = point(run[0], s.y[run[0]]).split(" ");
    out.push(
      `<circle class="point" cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`,
    );
  }
  out.push("</g>");
  return out;
}

/** Maximal runs of consecutive indices in [0, length) for which `keep` holds. */
function runs(length: number, keep: (i: number) => boolean): number[][] {
  const out: number[][] = [];
  let run: number[] = [];
  for (let i = 0; i < length; i++) {
    if (keep(i)) {
      run.push(i);
    } else if (run.length > 0) {
      out.push(run);
      run = [];
    }
  }
  if (run.length > 0) out.push(run);
  return out;
}

function isFinite3(a: number, b: number, c: number): boolean {
  return Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c);
}

/** The chart's size, defaulted and checked. */
function checkSize(
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

/** Fixed axis ends must be finite, and below one another when both are given. */
function checkRange(
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

function checkLineSeries(s: LineSeries, index: number, where: string): void {
  const n = s.x.length;
  for (const name of ["y", "lower", "upper"] as const) {
    const values = s[name];
    if (values !== undefined && values.length !== n) {
      throw new RangeError(
        `${where}: series[${index}].${name} must have one value per x (${n}), got ${values.length}`,
      );
    }
  }
  if ((s.lower === undefined) !== (s.upper === undefined)) {
    const missing = s.lower === undefined ? "lower" : "upper";
    throw new RangeError(
      `${where}: series[${index}].${missing} must be given with the other edge of the band, got none`,
    );
  }
}

function checkBarSeries(
  s: BarSeries,
  index: number,
  n: number,
  where: string,
): void {
  for (const name of ["values", "errors"] as const) {
    const values = s[name];
    if (values !== undefined && values.length !== n) {
      throw new RangeError(
        `${where}: series[${index}].${name} must have one value per category (${n}), got ${values.length}`,
      );
    }
  }
  const errors = s.errors ?? [];
  for (let i = 0; i < errors.length; i++) {
    if (errors[i] < 0) {
      throw new RangeError(
        `${where}: series[${index}].errors[${i}] must be ≥ 0, got ${errors[i]}`,
      );
    }
  }
}
