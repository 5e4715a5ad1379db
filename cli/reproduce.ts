/**
 * Re-measures the paper's claims on Fashion-MNIST and writes the report:
 * `deno task reproduce [--quick] [--out DIR] [--data DIR]`.
 *
 * The full run writes `RESULTS.md` and `results/` in the repository (45
 * minutes on a 2-core machine); `--quick` writes a labelled smoke test to
 * `out/reproduce-quick/` (about two minutes).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadFashionMnist, writeFileAtomic } from "../mod.ts";
import { dataOptions } from "./_data_option.ts";
import { PRESETS, type Report, runExperiments } from "./_experiments.ts";
import { renderReport } from "./_results.ts";

const USAGE = `Usage: deno task reproduce [options]

Runs the four experiments (regularisers compared, the ablation of Jumpout's
three changes, active units over training, mean/variance drift of rescaling)
and writes RESULTS.md with its figures.

  --quick      fewer seeds, images and epochs (under 10 minutes); written to
               out/reproduce-quick/ unless --out is given, and labelled
  --out DIR    where RESULTS.md and its figures go (default: the repository
               for the full run)
  --data DIR   the Fashion-MNIST idx files, or "embedded" for the subset
               shipped with the library (default: the system copy, else
               the embedded subset)
  --from FILE  render the report again from a report.json, without training
  -h, --help   this text`;

let values;
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      preset: { type: "string" },
      out: { type: "string" },
      data: { type: "string" },
      from: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (error) {
  console.error(`Cannot reproduce: ${(error as Error).message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const presetName = values.preset ?? (values.quick ? "quick" : "full");
if (!(presetName in PRESETS)) {
  console.error(
    `Cannot reproduce: --preset must be one of ${
      Object.keys(PRESETS).join(", ")
    }, got ${presetName}`,
  );
  Deno.exit(2);
}
const preset = PRESETS[presetName as keyof typeof PRESETS];
const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const out = values.out ??
  (preset.name === "full" ? root : `${root}/out/reproduce-${preset.name}`);
let report: Report;
if (values.from !== undefined) {
  report = JSON.parse(await Deno.readTextFile(values.from));
} else {
  const data = await loadFashionMnist(dataOptions(values.data));
  console.error(`${preset.label}; data: ${data.source}`);
  report = await runExperiments(preset, data, (line) => console.error(line));
}
const command = `deno task reproduce${
  preset.name === "full"
    ? ""
    : preset.name === "quick"
    ? " --quick"
    : ` --preset ${preset.name}`
}`;
const { markdown, figures } = renderReport(report, {
  command,
  figureDir: "results",
  date: new Date().toISOString().slice(0, 10),
});
await Deno.mkdir(`${out}/results`, { recursive: true });
const encoder = new TextEncoder();
for (const [name, svg] of figures) {
  await writeFileAtomic(`${out}/results/${name}`, encoder.encode(svg));
}
await writeFileAtomic(
  `${out}/results/report.json`,
  encoder.encode(JSON.stringify(report, null, 2)),
);
await writeFileAtomic(`${out}/RESULTS.md`, encoder.encode(markdown));
console.error(
  `Wrote ${out}/RESULTS.md and ${figures.size + 1} files in ${out}/results/`,
);
