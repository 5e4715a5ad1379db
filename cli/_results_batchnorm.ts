/**
 * The report's section on Figure 2: dropout, dropout with Jumpout's
 * rescaling and Jumpout, each with and without BatchNorm.
 *
 * @module
 */

import type { Report } from "./_experiments.ts";
import { mean, meanStd } from "./_stats.ts";

/** Makes a figure and returns its Markdown link. */
type Figure = (name: string, svg: string, alt: string) => string;

/** Makes the chart of the section (a grouped bar chart). */
export type BarChart = (spec: {
  title: string;
  yLabel: string;
  groups: string[];
  series: {
    label: string;
    values: number[];
    lower?: number[];
    upper?: number[];
  }[];
}) => string;

/**
 * The section's Markdown lines, or none without runs.
 *
 * @param report What the experiments measured.
 * @param figure Makes a figure.
 * @param chart Draws the bar chart.
 * @returns The lines.
 */
export function batchnormSection(
  report: Report,
  figure: Figure,
  chart: BarChart,
): string[] {
  const runs = report.batchnorm;
  if (runs.length === 0) return [];
  const p = report.preset;
  const names = [...new Set(runs.map((r) => r.reg))];
  const cell = (name: string, bn: boolean) =>
    runs.filter((r) => r.reg === name && r.batchNorm === bn).map((r) =>
      r.accuracy
    );
  const model = runs[0].model;
  const lines = [
    `## 6. Dropout and BatchNorm (Figure 2 in kind)`,
    "",
    `${model} on the ${p.trainSize}-image subset, ${
      p.epochs[model]
    } epochs, with its BatchNorm layers and without them; the rate and sigma tuned in section 1 (with BatchNorm). The paper's claim: dropout's (1 − p)^−1 rescaling shifts the variance BatchNorm learned, so dropout with BatchNorm does worse than without, while the (1 − p)^−0.75 rescaling and Jumpout do not suffer from it.`,
    "",
    "| regulariser | with BatchNorm | without BatchNorm | seeds |",
    "| --- | --- | --- | --- |",
  ];
  for (const name of names) {
    lines.push(
      `| ${name} | ${meanStd(cell(name, true))} | ${
        meanStd(cell(name, false))
      } | ${Math.min(cell(name, true).length, cell(name, false).length)} |`,
    );
  }
  lines.push(
    "",
    figure(
      "batchnorm.svg",
      chart({
        title:
          `${model}: test accuracy with and without BatchNorm (mean, bars: min to max over seeds)`,
        yLabel: "test accuracy",
        groups: ["with BatchNorm", "without BatchNorm"],
        series: names.map((name) => {
          const both = [cell(name, true), cell(name, false)];
          return {
            label: name,
            values: both.map(mean),
            lower: both.map((v) => v.length ? Math.min(...v) : NaN),
            upper: both.map((v) => v.length ? Math.max(...v) : NaN),
          };
        }),
      }),
      `${model} with and without BatchNorm`,
    ),
    "",
  );
  return lines;
}

/**
 * The finding on this experiment, or none without runs.
 *
 * @param report What the experiments measured.
 * @returns One sentence.
 */
export function batchnormFinding(report: Report): string | undefined {
  const runs = report.batchnorm;
  if (runs.length === 0) return undefined;
  const names = [...new Set(runs.map((r) => r.reg))];
  const gain = (name: string) => {
    const at = (bn: boolean) =>
      mean(
        runs.filter((r) => r.reg === name && r.batchNorm === bn).map((r) =>
          r.accuracy
        ),
      );
    return 100 * (at(true) - at(false));
  };
  return `BatchNorm (${runs[0].model}): adding it changes test accuracy by ${
    names.map((n) => `${gain(n) >= 0 ? "+" : ""}${gain(n).toFixed(2)} (${n})`)
      .join(", ")
  } points.`;
}
