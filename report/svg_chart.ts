/**
 * Charts of a training run as standalone SVG documents: line charts of
 * curves (loss or accuracy per epoch, with optional mean ± std bands). The
 * output depends only on the spec, so the same run gives the same file.
 *
 * @module
 */

import {
  checkRange,
  checkSize,
  formatTick,
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
import {
  escapeXml,
  hashId,
  num,
  type SeriesStyle,
  seriesStyle,
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
    legend,
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
