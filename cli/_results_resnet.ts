/**
 * The report's section on Table 2's Fashion-MNIST column: the
 * pre-activation ResNet's table beside the paper's numbers, the paired
 * difference, the tuning, and test accuracy per epoch (Figure 4 in kind).
 *
 * @module
 */

import { lineChart } from "../report/svg_chart.ts";
import type { ResNetReport, ResNetRun } from "./_resnet_experiment.ts";
import type { Tuned } from "./_tuning.ts";
import { interval, mean, meanStd, pct, verdictOf } from "./_stats.ts";

/** The paper's Table 2, Fashion-MNIST column (pre-activation ResNet-20). */
export const PAPER_FASHION = { dropout: 0.9609, jumpout: 0.9717 } as const;

/** Makes a figure and returns its Markdown link. */
type Figure = (name: string, svg: string, alt: string) => string;

/**
 * The section's Markdown lines.
 *
 * @param r The experiment's runs.
 * @param figure Makes a figure.
 * @returns The lines.
 */
export function resnetSection(r: ResNetReport, figure: Figure): string[] {
  const lines = [
    `## 5. The paper's network: Table 2's Fashion-MNIST column, Figure 4 in kind`,
    "",
    `Pre-activation ResNet (${r.model}, the regulariser between each block's two convolutions), ${
      r.trainImages > 0
        ? `${r.trainImages} training images`
        : "the training set"
    } with random crops (zero padding 4) and horizontal flips, ${r.epochs} epochs, learning rate ${r.lr}; test accuracy on the test set after each epoch. Dropout's rate and Jumpout's sigma were tuned on ${r.tuning.validation} held-out training images after ${r.tuning.epochs} epochs on ${r.tuning.trainSize} others (seed of the first run), each grid extended past an edge that held the best value. The paper trains far longer; its numbers are beside ours for scale.`,
    "",
    "| regulariser | test accuracy, mean ± std | per seed | seeds | paper |",
    "| --- | --- | --- | --- | --- |",
  ];
  const kinds = [...new Set(r.runs.map((x) => x.reg))];
  for (const kind of kinds) {
    const accs = runsOf(r, kind).map((x) => x.accuracy);
    const paper = PAPER_FASHION[kind as keyof typeof PAPER_FASHION];
    lines.push(
      `| ${label(r, kind)} | ${meanStd(accs)} | ${
        accs.map(pct).join(", ")
      } | ${accs.length} | ${paper === undefined ? "—" : pct(paper)} |`,
    );
  }
  if (r.torch.length > 0) {
    const accs = r.torch.sort((a, b) => a.seed - b.seed).map((x) => x.accuracy);
    lines.push(
      `| ${label(r, "dropout")}, PyTorch | ${meanStd(accs)} | ${
        accs.map(pct).join(", ")
      } | ${accs.length} | — |`,
    );
  }
  lines.push("");
  const ours = runsOf(r, "dropout").map((x) => x.accuracy);
  if (r.torch.length > 0 && ours.length > 0) {
    const gap = 100 * (mean(ours) - mean(r.torch.map((x) => x.accuracy)));
    lines.push(
      `PyTorch trains the same dropout network on the same data, augmentation, optimiser, schedule and epochs (\`python/torch_fashion_resnet.py\`, ${
        r.torch[0].backend
      }): our dropout runs' mean is ${gap >= 0 ? "+" : ""}${
        gap.toFixed(2)
      } points from PyTorch's (target: within 0.5, ${
        Math.abs(gap) <= 0.5 ? "met" : "missed"
      }).`,
      "",
    );
  }
  const diff = paired(r);
  if (diff.length >= 2) {
    lines.push(
      `Jumpout − dropout, paired by seed: **${
        interval(diff)
      }** percentage points (the paper: +${
        (100 * (PAPER_FASHION.jumpout - PAPER_FASHION.dropout)).toFixed(2)
      }). **Verdict:** ${verdictOf(diff)}.`,
      "",
    );
  }
  const tuning = [
    r.rate && `dropout's rate: ${tried(r.rate, "")}`,
    r.sigma && `Jumpout's sigma: ${tried(r.sigma, "σ=")}`,
  ].filter((x) => x);
  if (tuning.length > 0) {
    lines.push(`Tuning (validation accuracy): ${tuning.join("; ")}.`, "");
  }
  if (r.runs.length > 0) {
    const where = [
      ...new Set(r.runs.map((x) => `${x.backend}, ${x.workers} workers`)),
    ];
    lines.push(
      `Training speed: ${
        Math.round(mean(r.runs.map((x) => x.samplesPerSec)))
      } samples/s on average (${where.join("; ")}), ${
        (mean(r.runs.map((x) => x.seconds)) / 3600).toFixed(2)
      } h a run. The section's ${r.runCount} runs (tuning${
        r.torch.length > 0 ? " and PyTorch's" : ""
      } included) trained for ${
        (r.seconds / 3600).toFixed(1)
      } h in all; \`--epochs N\` sets the final runs' epochs, e.g. the paper's longer schedules on a bigger machine or a GPU.`,
      "",
      figure(
        `resnet_test_accuracy.svg`,
        lineChart({
          title:
            `${r.model}: test accuracy per epoch (mean, band: min to max over seeds)`,
          xLabel: "epoch",
          yLabel: "test accuracy",
          series: kinds.map((kind) => curve(r, kind)),
        }),
        `${r.model} test accuracy per epoch`,
      ),
      "",
    );
  }
  return lines;
}

/**
 * The finding on this experiment, or none without runs.
 *
 * @param r The experiment's runs.
 * @returns One sentence.
 */
export function resnetFinding(r: ResNetReport | undefined): string | undefined {
  if (r === undefined || r.runs.length === 0) return undefined;
  const parts = [...new Set(r.runs.map((x) => x.reg))].map((kind) => {
    const accs = runsOf(r, kind).map((x) => x.accuracy);
    return `${kind} ${(100 * mean(accs)).toFixed(2)}% (${accs.length} seed${
      accs.length === 1 ? "" : "s"
    })`;
  });
  const diff = paired(r);
  return `${r.model}, ${r.epochs} epochs with crops and flips: ${
    parts.join(", ")
  }; the paper has dropout 96.09%, Jumpout 97.17% after far longer training.${
    diff.length >= 2 ? ` Jumpout ${verdictOf(diff)}.` : ""
  }`;
}

function runsOf(r: ResNetReport, kind: string): ResNetRun[] {
  return r.runs.filter((x) => x.reg === kind).sort((a, b) => a.seed - b.seed);
}

/** Jumpout minus dropout for each seed both have. */
function paired(r: ResNetReport): number[] {
  const d = new Map(runsOf(r, "dropout").map((x) => [x.seed, x.accuracy]));
  return runsOf(r, "jumpout").filter((x) => d.has(x.seed)).map((x) =>
    x.accuracy - d.get(x.seed)!
  );
}

function label(r: ResNetReport, kind: string): string {
  if (kind === "dropout" && r.rate) return `dropout(${r.rate.best})`;
  if (kind === "jumpout" && r.sigma) return `jumpout(σ=${r.sigma.best})`;
  return kind;
}

function tried(t: Tuned, prefix: string): string {
  return `${
    t.tried.map((x) => `${prefix}${x.value} ${pct(x.score)}`).join(", ")
  }; chosen ${t.best}${t.atEdge ? " (still at the grid's limit)" : ""}`;
}

/** Mean test accuracy per epoch over seeds, with the min–max band. */
function curve(r: ResNetReport, kind: string) {
  const runs = runsOf(r, kind);
  const epochs = Math.min(...runs.map((x) => x.curve.length));
  const at = (f: (v: number[]) => number) =>
    Array.from({ length: epochs }, (_, e) => f(runs.map((x) => x.curve[e])));
  return {
    label: label(r, kind),
    x: Array.from({ length: epochs }, (_, e) => e + 1),
    y: at(mean),
    lower: at((v) => Math.min(...v)),
    upper: at((v) => Math.max(...v)),
  };
}
