/**
 * The experiments of `deno task reproduce`, on the tiny preset and the
 * embedded subset: every table and figure of the report comes out.
 */
import { equal, ok } from "node:assert/strict";
import { loadFashionMnist } from "../mod.ts";
import { ABLATION, PRESETS, runExperiments } from "../cli/_experiments.ts";
import { renderReport } from "../cli/_results.ts";
import { Runner } from "../cli/_runner.ts";
import { RunStore } from "../cli/_run_store.ts";

Deno.test("the tiny preset produces every table and figure of the report", async () => {
  const data = await loadFashionMnist({ source: "embedded" });
  const preset = PRESETS.tiny;
  const dir = await Deno.makeTempDir();
  const runner = new Runner({
    store: new RunStore(dir),
    data,
    train: true,
    log: () => {},
  });
  const report = await runExperiments(preset, data, runner);
  await Deno.remove(dir, { recursive: true });
  const seeds = preset.seeds.length;
  // Comparison: none, dropout, jumpout per model and seed.
  equal(report.comparison.length, preset.models.length * 3 * seeds);
  // Ablation: all eight combinations, every seed.
  equal(report.ablation.length, ABLATION.length * seeds);
  equal(new Set(report.ablation.map((r) => r.reg)).size, 8);
  for (const r of [...report.comparison, ...report.ablation]) {
    ok(r.accuracy >= 0 && r.accuracy <= 1, `${r.model} ${r.reg}`);
  }
  // Figure 2: three regularisers with and without BatchNorm, every seed.
  equal(report.batchnorm.length, 3 * 2 * seeds);
  // The ResNet: every regulariser and seed, a test accuracy per epoch.
  const resnet = report.resnet!;
  equal(
    resnet.runs.length,
    preset.resnet!.regs.length * preset.resnet!.seeds.length,
  );
  for (const r of resnet.runs) equal(r.curve.length, preset.resnet!.epochs);
  // Active units: one series per Jumpout layer (mlp 2, cnn 3), values in [0, 1].
  equal(report.active.length, 2);
  for (const a of report.active) {
    ok(a.points.length > 0);
    ok(
      a.points.every((p) =>
        p.layers.length === a.layers.length &&
        p.layers.every((q) => q >= 0 && q <= 1)
      ),
    );
  }
  // Drift: every layer, p and power at each epoch; a mask with power 1
  // keeps the mean in expectation, so its ratio is near 1 (4 masks, loose).
  for (const d of report.drift) {
    const rows = d.epochs[d.epochs.length - 1].rows;
    const layers = new Set(rows.map((r) => r.layer)).size;
    equal(rows.length, layers * 2 * 3);
    for (const r of rows.filter((r) => r.power === 1)) {
      ok(
        Math.abs(r.meanRatio - 1) < 0.15,
        `${d.model} layer ${r.layer}: ${r.meanRatio}`,
      );
    }
  }
  const { markdown, figures } = renderReport(report, {
    command: "deno task reproduce --preset tiny",
    figureDir: "results",
    date: "2026-11-27",
  });
  for (
    const heading of [
      "## 1.",
      "## 2.",
      "## 3.",
      "## 4.",
      "## 5.",
      "## 6.",
      "**Verdict:**",
      "TINY RUN",
    ]
  ) {
    ok(markdown.includes(heading), heading);
  }
  // Eight ablation rows under the table's header.
  equal(
    markdown.split("\n").filter((l) => /^\| (✓)? \| (✓)? \| (✓)? \| /.test(l))
      .length,
    8,
  );
  // Active units 2, drift 2 × 4, the ResNet's test accuracy per epoch 1,
  // BatchNorm 1.
  equal(figures.size, 2 + 2 * 4 + 1 + 1);
  for (const [name, svg] of figures) {
    ok(markdown.includes(`](results/${name})`), name);
    ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"), name);
  }
  // A report of runs so far: an ablation variant without runs says so.
  const missing = report.ablation[0].reg;
  const partial = renderReport(
    {
      ...report,
      ablation: report.ablation.filter((r) => r.reg !== missing),
    },
    { command: "deno task reproduce", figureDir: "results", date: "" },
  ).markdown;
  const ablationLine = partial.split("\n").find((l) =>
    l.startsWith("- Ablation (")
  );
  ok(ablationLine?.includes("(no runs yet)"), ablationLine);
  ok(!ablationLine?.includes("NaN"), ablationLine);
});
