/**
 * Re-measures the paper's claims on Fashion-MNIST and writes the report:
 * `deno task reproduce [--quick] [--only LIST] [--out DIR | --publish]
 * [--render] [--data DIR]`.
 *
 * Each training run writes its own file under `<out>/results/runs/` as soon
 * as it ends; a later call reads the runs it finds there (and in the
 * repository's committed `results/runs/`) instead of training them again,
 * so a stop loses at most the run in progress. The report is rendered from
 * every run file found.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadFashionMnist, writeFileAtomic } from "../mod.ts";
import { dataOptions } from "./_data_option.ts";
import {
  type ExperimentName,
  EXPERIMENTS,
  PRESETS,
  runExperiments,
} from "./_experiments.ts";
import { renderReport } from "./_results.ts";
import { Runner, RunStopped } from "./_runner.ts";
import { RunFileError, RunStore } from "./_run_store.ts";
import { Progress } from "../report/progress.ts";
import { exitOnError } from "./_exit_on_error.ts";

exitOnError("reproduce");

const USAGE = `Usage: deno task reproduce [options]

Runs the experiments (regularisers compared, the ablation of Jumpout's three
changes, active units and mean/variance drift, the whole-set headline, and
Table 2's Fashion-MNIST column on a pre-activation ResNet-20) and writes
RESULTS.md with its figures. Every run is kept in its own file as soon as it
ends; running the same command again goes on where it stopped.

  --quick        fewer seeds, images and epochs: a labelled smoke test
  --only LIST    experiments to run, comma-separated: ${EXPERIMENTS.join(", ")}
                 (default: all); the report shows every run found
  --epochs N     epochs of the ResNet's final runs (default 15; the paper's
                 schedules are far longer: for a bigger machine or a GPU)
  --out DIR      where RESULTS.md, results/ and results/runs/ go
                 (default: out/reproduce/, or out/reproduce-quick/)
  --publish      write into the repository itself, replacing the committed
                 RESULTS.md and results/ (full preset only)
  --render       train nothing: render the report from the run files found
  --data DIR     the Fashion-MNIST idx files, or "embedded" for the subset
                 shipped with the library (default: the system copy, else
                 the embedded subset)
  --debug        show the stack trace of an error
  -h, --help     this text`;

function fail(message: string): never {
  console.error(`Cannot reproduce: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      preset: { type: "string" },
      only: { type: "string" },
      epochs: { type: "string" },
      out: { type: "string" },
      publish: { type: "boolean", default: false },
      render: { type: "boolean", default: false },
      data: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
      debug: { type: "boolean", default: false },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const presetName = values.preset ?? (values.quick ? "quick" : "full");
if (!(presetName in PRESETS)) {
  fail(
    `--preset must be one of ${
      Object.keys(PRESETS).join(", ")
    }, got ${presetName}`,
  );
}
let preset = PRESETS[presetName as keyof typeof PRESETS];
let only = new Set<ExperimentName>(EXPERIMENTS);
if (values.only !== undefined) {
  const names = values.only.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !EXPERIMENTS.includes(n as never));
  if (names.length === 0 || unknown.length > 0) {
    fail(
      `--only must list some of ${EXPERIMENTS.join(", ")}, got ${values.only}`,
    );
  }
  only = new Set(names as ExperimentName[]);
}
if (values.epochs !== undefined) {
  const epochs = Number(values.epochs);
  if (!/^\d+$/.test(values.epochs) || epochs < 1 || !preset.resnet) {
    fail(`--epochs must be an integer >= 1, got ${values.epochs}`);
  }
  preset = { ...preset, resnet: { ...preset.resnet, epochs } };
}
if (values.publish && (preset.name !== "full" || values.out !== undefined)) {
  fail(
    `--publish writes the full run into the repository: it takes neither --quick, --preset nor --out, got ${
      values.out !== undefined ? `--out ${values.out}` : `preset ${preset.name}`
    }`,
  );
}
const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const out = values.publish ? root : values.out ??
  `${root}/out/reproduce${preset.name === "full" ? "" : `-${preset.name}`}`;
const store = new RunStore(`${out}/results/runs`, [`${root}/results/runs`]);

const data = await loadFashionMnist(dataOptions(values.data));
console.error(`${preset.label}; data: ${data.source}; runs: ${store.dir}`);
const controller = new AbortController();
let stopping = false;
const onInterrupt = () => {
  if (stopping) Deno.exit(130);
  stopping = true;
  console.error(
    "\nStopping after this step (Ctrl-C again to stop at once)...",
  );
  controller.abort();
};
Deno.addSignalListener("SIGINT", onInterrupt);

const log = (line: string) => console.error(line);
const runner = new Runner({
  store,
  data,
  train: !values.render,
  log,
  progress: () => new Progress(),
  signal: controller.signal,
});
try {
  if (!values.render) await runExperiments(preset, data, runner, only);
  // The report shows every run found, whichever experiments ran now.
  const reader = new Runner({ store, data, train: false, log: () => {} });
  const report = await runExperiments(preset, data, reader);
  const command = `deno task reproduce${
    preset.name === "full"
      ? ""
      : preset.name === "quick"
      ? " --quick"
      : ` --preset ${preset.name}`
  }${values.epochs === undefined ? "" : ` --epochs ${values.epochs}`}`;
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
  await writeFileAtomic(`${out}/RESULTS.md`, encoder.encode(markdown));
  console.error(
    `Trained ${runner.trained} runs now; the report shows ${reader.reused} runs${
      reader.missing === 0 ? "" : ` and misses ${reader.missing} or more`
    }. Wrote ${out}/RESULTS.md and ${figures.size} figures in ${out}/results/`,
  );
} catch (error) {
  if (error instanceof RunStopped || error instanceof RunFileError) {
    console.error(
      `${error.message}. Trained ${runner.trained} runs this time; run the same command again to go on.`,
    );
    Deno.exit(error instanceof RunStopped ? 130 : 1);
  }
  throw error;
} finally {
  Deno.removeSignalListener("SIGINT", onInterrupt);
}
