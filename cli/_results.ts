/**
 * The report of the experiments: `RESULTS.md` with its tables and the SVG
 * figures it links to.
 *
 * @module
 */

import { lineChart } from "../report/svg_chart.ts";
import { ABLATION, type Report, type RunSummary } from "./_experiments.ts";
import type { DriftRow } from "./_drift.ts";
import { ablationName } from "./_models.ts";
import { interval, mean, meanStd, pct, std, verdictOf } from "./_stats.ts";
import { resnetFinding, resnetSection } from "./_results_resnet.ts";
import { batchnormFinding, batchnormSection } from "./_results_batchnorm.ts";
import { barChart } from "../report/bar_chart.ts";

/** A rendered report. */
export interface RenderedReport {
  /** The Markdown. */
  markdown: string;
  /** The figures by file name. */
  figures: Map<string, string>;
}

/**
 * Renders the report.
 *
 * @param report What the experiments measured.
 * @param options The command that produced it, and the folder of the
 *   figures relative to the Markdown file.
 * @returns The Markdown and the figures.
 */
export function renderReport(
  report: Report,
  options: { command: string; figureDir: string; date: string },
): RenderedReport {
  const figures = new Map<string, string>();
  const figure = (name: string, svg: string, alt: string): string => {
    figures.set(name, svg);
    return `![${alt}](${options.figureDir}/${name})`;
  };
  const p = report.preset;
  const lines: string[] = [];
  lines.push(`# Results: Jumpout against dropout on Fashion-MNIST`, "");
  if (p.name !== "full") lines.push(`> **${p.label}**`, "");
  lines.push(
    `Produced by \`${options.command}\` on ${
      report.finished?.slice(0, 10) ?? options.date
    }, from runs that trained for ${
      formatDuration(report.seconds)
    } in all (data: ${report.source}). Every run: SGD with Nesterov momentum 0.9, weight decay ${p.weightDecay}, batch ${p.batch}, cosine learning-rate decay with a warmup of a fifth of the run (at most one epoch), inputs standardised; wasm backend, data-parallel workers.`,
    "",
  );

  lines.push(
    "## What we find",
    "",
    ...findings(report).map((f) => `- ${f}`),
    "",
  );

  // Headline.
  if (report.headline.length > 0) {
    lines.push(
      `## Headline: the whole training set (60,000 images), one seed`,
      "",
    );
    lines.push(
      "| model | epochs | none | dropout | jumpout |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const model of p.models) {
      const runs = report.headline.filter((r) => r.model === model);
      const acc = (kind: string) => {
        const r = runs.find((x) => x.reg.startsWith(kind));
        return r ? pct(r.accuracy) : "—";
      };
      lines.push(
        `| ${model} | ${runs[0]?.epochs ?? "—"} | ${acc("none")} | ${
          acc("dropout")
        } | ${acc("jumpout")} |`,
      );
    }
    lines.push("");
  }

  // 1. Comparison.
  lines.push(
    `## 1. Regularisers compared (Table 2 in kind)`,
    "",
    `${p.trainSize} training images (a fixed subset: dropout matters most when a model overfits), test accuracy on the ${report.testImages} test images after the last epoch, ${p.seeds.length} seeds (${
      p.seeds.join(", ")
    }). Dropout's rate and Jumpout's sigma were tuned on ${p.validation} other training images, held out of every run (never the test set), seed ${
      p.seeds[0]
    }.`,
    "",
  );
  for (const model of p.models) {
    const tuned = report.tuning.find((t) => t.model === model);
    if (tuned === undefined) {
      lines.push(`### ${model}: no runs yet`, "");
      continue;
    }
    const runs = report.comparison.filter((r) => r.model === model);
    lines.push(
      `### ${model} (${p.epochs[model]} epochs, learning rate ${p.lr[model]})`,
      "",
    );
    lines.push(
      "| regulariser | test accuracy, mean ± std | per seed |",
      "| --- | --- | --- |",
    );
    const names = [...new Set(runs.map((r) => r.reg))];
    for (const name of names) {
      const accs = runs.filter((r) => r.reg === name).map((r) => r.accuracy);
      lines.push(
        `| ${name} | ${meanStd(accs)} | ${accs.map(pct).join(", ")} |`,
      );
    }
    const dropout = accsOf(runs, "dropout");
    const jump = accsOf(runs, "jumpout");
    const none = accsOf(runs, "none");
    lines.push(
      "",
      `Jumpout − dropout, paired by seed: **${
        interval(jump.map((a, i) => a - dropout[i]))
      }** percentage points; jumpout − none: ${
        interval(jump.map((a, i) => a - none[i]))
      } (mean ± std of the per-seed differences, then the 95% confidence interval of their mean, Student's t).`,
      "",
      `Tuning (validation accuracy): ${
        tuned.runs.map((r) => `${r.reg} ${pct(r.accuracy)}`).join(", ")
      }; chosen: rate ${tuned.rate}, sigma ${tuned.sigma}.`,
      "",
    );
  }
  if (verdictParts(report).length > 0) lines.push(verdict(report), "");

  // 2. Ablation.
  const model = p.ablationModel;
  lines.push(
    `## 2. Each change on its own and together (Table 1 in kind)`,
    "",
    `${model}, same setting as above; M = rate drawn from the half-normal (else the tuned fixed rate), N = rate divided by q+, R = kept units scaled by (1 − p′)^−0.75 (else 1/(1 − p′)). None of the three is dropout; all three is Jumpout. Rows with N but not M divide the fixed rate by q+, so they apply several times that rate (up to pMax = 0.6).`,
    "",
    "| M | N | R | test accuracy, mean ± std | per seed |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const [m, n, r] of ABLATION) {
    const name = ablationName(m, n, r);
    const accs = report.ablation.filter((x) => x.reg === name).map((x) =>
      x.accuracy
    );
    lines.push(
      `| ${m ? "✓" : ""} | ${n ? "✓" : ""} | ${r ? "✓" : ""} | ${
        meanStd(accs)
      } | ${accs.map(pct).join(", ")} |`,
    );
  }
  lines.push("");

  // 3. Active units.
  lines.push(
    `## 3. Share of active units per layer over training (Figure 1 in kind)`,
    "",
    `q+ of each Jumpout layer's input (the share of the previous ReLU's outputs above 0), as worker 0 saw it, in the first Jumpout run of the comparison.`,
    "",
  );
  for (const a of report.active) {
    lines.push(
      figure(
        `active_${a.model}.svg`,
        lineChart({
          title: `${a.model}: share of active units`,
          xLabel: "training step",
          yLabel: "q+",
          series: a.layers.map((layer, k) => ({
            label: `layer ${layer}`,
            x: a.points.map((pt) => pt.step),
            y: a.points.map((pt) => pt.layers[k]),
          })),
        }),
        `${a.model} active units`,
      ),
      "",
    );
    const first = a.points[0];
    const last = a.points[a.points.length - 1];
    if (first && last) {
      lines.push(
        `${a.model}: q+ ${
          a.layers.map((layer, k) =>
            `layer ${layer} ${first.layers[k].toFixed(3)} → ${
              last.layers[k].toFixed(3)
            }`
          ).join("; ")
        } (first → last recorded step).`,
        "",
      );
    }
  }

  // 4. Drift.
  lines.push(
    `## 4. Mean and variance drift of rescaling (Figures 3 and 5 in kind)`,
    "",
    `At each epoch's checkpoint of the same Jumpout run, each Jumpout layer is replaced by dropout at a fixed rate p with kept units scaled by (1 − p)^−power, and y is the next Dense or Conv2d layer's output (evaluation mode elsewhere, 4 masks, ${p.driftImages} test images). Shown: E[y] with the mask over E[y] without (bias excluded, weighted over channels) and the same for Var[y], averaged over layers. Ideally both are 1.`,
    "",
  );
  for (const d of report.drift) {
    for (const prob of [0.1, 0.2]) {
      for (const stat of ["meanRatio", "varRatio"] as const) {
        lines.push(
          figure(
            `drift_${d.model}_p${prob}_${
              stat === "meanRatio" ? "mean" : "var"
            }.svg`,
            lineChart({
              title: `${d.model}, p = ${prob}: ${
                stat === "meanRatio" ? "E[y]" : "Var[y]"
              } with / without dropout`,
              xLabel: "epoch",
              yLabel: "ratio",
              series: [1, 0.5, 0.75].map((power) => ({
                label: `(1 − p)^−${power}`,
                x: d.epochs.map((e) => e.epoch),
                y: d.epochs.map((e) => averageOver(e.rows, prob, power, stat)),
              })),
            }),
            `${d.model} drift`,
          ),
        );
      }
      lines.push("");
    }
    const last = d.epochs[d.epochs.length - 1];
    if (last) {
      lines.push(
        `${d.model}, last epoch, per layer (mean ratio / variance ratio):`,
        "",
        "| layer | p | (1 − p)^−1 | (1 − p)^−0.5 | (1 − p)^−0.75 |",
        "| --- | --- | --- | --- | --- |",
      );
      const layers = [...new Set(last.rows.map((r) => r.layer))];
      for (const layer of layers) {
        for (const prob of [0.1, 0.2]) {
          const cell = (power: number) => {
            const r = last.rows.find((x) =>
              x.layer === layer && x.p === prob && x.power === power
            )!;
            return `${r.meanRatio.toFixed(3)} / ${r.varRatio.toFixed(3)}`;
          };
          lines.push(
            `| ${layer} | ${prob} | ${cell(1)} | ${cell(0.5)} | ${
              cell(0.75)
            } |`,
          );
        }
      }
      lines.push("");
    }
  }
  if (report.resnet) lines.push(...resnetSection(report.resnet, figure));
  lines.push(...batchnormSection(report, figure, barChart));
  lines.push(
    `## Reproduce`,
    "",
    "Every number above comes from a run file in `results/runs/` (one per training run: its config, seed, per-epoch metrics, time, backend and library version). `deno task reproduce` reads the runs it finds there and trains only the missing ones, into `out/reproduce/`; stopped, it goes on where it stopped.",
    "",
    "```sh",
    "deno task reproduce --render   # this report again, from the run files",
    "deno task reproduce --publish  # train what is missing, replace RESULTS.md and results/",
    "deno task reproduce --quick    # a smoke test into out/reproduce-quick/",
    "```",
    "",
  );
  return { markdown: lines.join("\n"), figures };
}

/** Jumpout's verdict against dropout, plainly: by the 95% interval of the paired difference. */
function verdict(report: Report): string {
  return `**Verdict:** ${verdictParts(report).join("; ")}.`;
}

/** The verdict on each model. */
function verdictParts(report: Report): string[] {
  return report.preset.models.flatMap((model) => {
    const runs = report.comparison.filter((r) => r.model === model);
    const d = accsOf(runs, "dropout");
    const diff = accsOf(runs, "jumpout").slice(0, d.length).map((a, i) =>
      a - d[i]
    );
    if (diff.length === 0) return [];
    return [`on the ${model}, Jumpout ${verdictOf(diff)}`];
  });
}

/** The report's findings, stated from its numbers. */
function findings(report: Report): string[] {
  const p = report.preset;
  const out: string[] = [];
  const targets: Record<string, number> = { mlp: 0.895, cnn: 0.925 };
  const spreads = p.models.flatMap((model) => {
    const runs = report.comparison.filter((r) => r.model === model);
    return [...new Set(runs.map((r) => r.reg))].map((reg) =>
      std(runs.filter((r) => r.reg === reg).map((r) => r.accuracy))
    );
  });
  const spread = `${(100 * Math.min(...spreads)).toFixed(2)}–${
    (100 * Math.max(...spreads)).toFixed(2)
  }`;
  for (const model of p.models) {
    const runs = report.headline.filter((r) => r.model === model);
    if (runs.length === 0) continue;
    const acc = (kind: string) =>
      runs.find((r) => r.reg.startsWith(kind))?.accuracy ?? NaN;
    const j = acc("jumpout");
    const target = targets[model];
    out.push(
      `Whole training set, ${model}, one seed: jumpout ${pct(j)}, dropout ${
        pct(acc("dropout"))
      }, none ${pct(acc("none"))}; jumpout ${
        j > acc("dropout") ? "above" : "below"
      } dropout by ${
        Math.abs(100 * (j - acc("dropout"))).toFixed(2)
      } points, a gap one seed cannot resolve (a run's accuracy varies by ${spread} points, std, across the seeds of section 1). ${
        target === undefined
          ? ""
          : `Target ${pct(target)} with jumpout: ${
            j >= target ? "met" : "missed"
          }.`
      }`,
    );
  }
  if (verdictParts(report).length > 0) {
    out.push(
      `Over ${p.seeds.length} seeds on the ${p.trainSize}-image training subset: ${
        verdictParts(report).join("; ")
      }.`,
    );
  }
  const ablation = report.ablation.length === 0
    ? []
    : ABLATION.map(([m, n, r]) => {
      const name = ablationName(m, n, r);
      return {
        letters: name === "jumpout"
          ? "MNR"
          : name.slice(8, -1).replace("-", "none"),
        mean: mean(
          report.ablation.filter((x) => x.reg === name).map((x) => x.accuracy),
        ),
      };
    }).sort((a, b) => ranked(b.mean) - ranked(a.mean));
  if (ablation.length > 0) {
    out.push(
      `Ablation (${p.ablationModel}): ${
        ablation.map((a) =>
          `${a.letters} ${Number.isNaN(a.mean) ? "(no runs yet)" : pct(a.mean)}`
        ).join(", ")
      }. ${
        ablation[0].letters === "MNR"
          ? "All three changes together rank first."
          : `All three together rank ${
            ablation.findIndex((a) => a.letters === "MNR") + 1
          } of 8, so the paper's "each modification helps" holds only in part here.`
      }`,
    );
  }
  for (const a of report.active) {
    const first = a.points[0];
    const last = a.points[a.points.length - 1];
    if (!first || !last) continue;
    out.push(
      `Active units (${a.model}): q+ moves from ${
        first.layers.map((q) => q.toFixed(2)).join(", ")
      } to ${
        last.layers.map((q) => q.toFixed(2)).join(", ")
      } over training (layers in order), so one fixed rate drops very different shares of active units per layer, as the paper argues.`,
    );
  }
  for (const d of report.drift) {
    const last = d.epochs[d.epochs.length - 1];
    if (!last) continue;
    const at = (power: number, stat: "meanRatio" | "varRatio") =>
      averageOver(last.rows, 0.2, power, stat);
    const show = (power: number) =>
      `(1 − p)^−${power} ${at(power, "meanRatio").toFixed(3)} / ${
        at(power, "varRatio").toFixed(3)
      }`;
    const closest = (stat: "meanRatio" | "varRatio") =>
      [1, 0.5, 0.75].reduce((best, power) =>
        Math.abs(at(power, stat) - 1) < Math.abs(at(best, stat) - 1)
          ? power
          : best
      );
    out.push(
      `Drift (${d.model}, p = 0.2, last epoch, mean over layers, E ratio / Var ratio): ${
        [1, 0.5, 0.75].map(show).join(", ")
      }. The mean is kept best by (1 − p)^−${
        closest("meanRatio")
      }, the variance by (1 − p)^−${closest("varRatio")}.`,
    );
  }
  const resnet = resnetFinding(report.resnet);
  if (resnet !== undefined) out.push(resnet);
  const batchnorm = batchnormFinding(report);
  if (batchnorm !== undefined) out.push(batchnorm);
  return out;
}

function accsOf(runs: RunSummary[], prefix: string): number[] {
  return runs.filter((r) => r.reg.startsWith(prefix)).map((r) => r.accuracy);
}

function averageOver(
  rows: DriftRow[],
  p: number,
  power: number,
  stat: "meanRatio" | "varRatio",
): number {
  return mean(
    rows.filter((r) => r.p === p && r.power === power).map((r) => r[stat]),
  );
}

/** `12 h 5 min`, `7 min 3 s` or `4.2 s`. */
function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole >= 3600) {
    const minutes = Math.round(seconds / 60);
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }
  if (whole >= 60) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${seconds.toFixed(1)} s`;
}

/** A mean to sort by, best first: one with no runs (NaN) ranks last. */
function ranked(mean: number): number {
  return Number.isNaN(mean) ? -Infinity : mean;
}
