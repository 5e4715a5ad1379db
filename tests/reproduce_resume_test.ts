/**
 * `deno task reproduce` survives being stopped: one file per finished run,
 * reused only for the same spec, refused when corrupt; a stopped experiment
 * started again trains only the runs it lacks and ends with the same report;
 * the default output folder leaves the committed report alone.
 */
import {
  deepEqual,
  doesNotMatch,
  equal,
  match,
  ok,
  rejects,
} from "node:assert/strict";
import { loadFashionMnist } from "../mod.ts";
import { PRESETS, runExperiments } from "../cli/_experiments.ts";
import type { FitConfig, FitResult } from "../cli/_fit.ts";
import { Runner, RunStopped } from "../cli/_runner.ts";
import {
  RUN_FORMAT,
  RunFileError,
  type RunRecord,
  type RunSpec,
  RunStore,
  specKey,
} from "../cli/_run_store.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const data = await loadFashionMnist({ source: "embedded" });
const tiny = PRESETS.tiny;

const config: FitConfig = {
  model: "mlp",
  reg: { kind: "dropout", rate: 0.1 },
  epochs: 2,
  batch: 64,
  lr: 0.05,
  weightDecay: 5e-4,
  backend: "wasm",
  workers: 0,
  seed: 1,
};

async function record(spec: RunSpec): Promise<RunRecord> {
  const epoch = (n: number) => ({
    epoch: n,
    trainLoss: 1,
    trainAccuracy: 0.5,
    evalLoss: NaN,
    evalAccuracy: n === 2 ? 0.8 : NaN,
    seconds: 1,
    samplesPerSec: 100,
  });
  const result: FitResult = {
    config: spec.config,
    evaluatedOn: "test",
    trainImages: 256,
    epochs: [epoch(1), epoch(2)],
    active: [],
    interrupted: false,
  };
  return {
    format: RUN_FORMAT,
    name: "mlp dropout(0.1) seed 1",
    key: await specKey(spec),
    spec,
    library: "0.1.0",
    ran: { backend: "wasm", workers: 0 },
    finished: "2026-12-04T00:00:00.000Z",
    result,
  };
}

Deno.test("a run file is reused for its spec only, and a bad one is refused naming it", async () => {
  const dir = await Deno.makeTempDir();
  const store = new RunStore(dir);
  const spec: RunSpec = { config, data: "d" };
  const path = await store.put(await record(spec));
  const found = await store.get(spec);
  // JSON has no NaN: epochs not evaluated come back as NaN, not null.
  ok(Number.isNaN(found!.result.epochs[0].evalAccuracy));
  equal(found!.result.epochs[1].evalAccuracy, 0.8);
  // Found by its key, whatever its readable name has become.
  const renamed = path.replace("mlp-dropout-0.1-seed-1", "renamed");
  await Deno.rename(path, renamed);
  equal((await store.get(spec))?.key, found!.key);
  await Deno.rename(renamed, path);
  // Another config (another seed, or the same with another data set) is
  // another file: not found, so trained.
  equal(
    await store.get({
      config: { ...config, seed: 2 },
      data: "d",
    }),
    undefined,
  );
  equal(
    await store.get({ config, data: "e" }),
    undefined,
  );
  // A file edited to another spec, a partial one, a corrupt one: refused.
  const text = await Deno.readTextFile(path);
  const cases: [string, string, RegExp][] = [
    ["edited", text.replace('"seed": 1', '"seed": 3'), /spec differs/],
    ["partial", text.slice(0, text.length / 2), /not valid JSON/],
    [
      "short",
      JSON.stringify({
        ...JSON.parse(text),
        result: { ...JSON.parse(text).result, epochs: [] },
      }),
      /must hold 2 epochs, got 0/,
    ],
  ];
  for (const [what, bad, message] of cases) {
    await Deno.writeTextFile(path, bad);
    await rejects(
      store.get(spec),
      (e: Error) => {
        ok(e instanceof RunFileError, what);
        match(e.message, message, what);
        ok(e.message.includes(path), what);
        return true;
      },
    );
  }
  await Deno.remove(dir, { recursive: true });
});

/** The tiny preset's ResNet experiment with a runner on `dir`. */
function resnetOnly(
  dir: string,
  signal?: AbortSignal,
  log?: (l: string) => void,
) {
  const runner = new Runner({
    store: new RunStore(dir),
    data,
    train: true,
    log: log ?? (() => {}),
    signal,
  });
  return {
    runner,
    report: () => runExperiments(tiny, data, runner, new Set(["resnet"])),
  };
}

Deno.test("an experiment stopped after its first run goes on from its files and ends as an uninterrupted one", async () => {
  const stopped = await Deno.makeTempDir();
  const whole = await Deno.makeTempDir();
  const controller = new AbortController();
  const first = resnetOnly(stopped, controller.signal, (line) => {
    if (line.includes("wrote")) controller.abort();
  });
  await rejects(first.report(), RunStopped);
  equal(first.runner.trained, 1);
  equal([...Deno.readDirSync(`${stopped}`)].length, 1);

  const again = resnetOnly(stopped);
  const resumed = await again.report();
  equal(again.runner.reused, 1);
  const total = again.runner.reused + again.runner.trained;
  const fresh = resnetOnly(whole);
  const uninterrupted = await fresh.report();
  equal(fresh.runner.trained, total);
  // The section counts each of its runs once, and the report's total time
  // is this section's (it is the only one).
  equal(uninterrupted.resnet!.runCount, total);
  ok(uninterrupted.resnet!.seconds > 0);
  equal(uninterrupted.seconds, uninterrupted.resnet!.seconds);
  const numbers = (r: typeof resumed) => ({
    rate: r.resnet!.rate,
    sigma: r.resnet!.sigma,
    runs: r.resnet!.runs.map((x) => [x.reg, x.seed, x.accuracy, x.curve]),
  });
  deepEqual(numbers(resumed), numbers(uninterrupted));
  await Deno.remove(stopped, { recursive: true });
  await Deno.remove(whole, { recursive: true });
});

async function reproduce(
  args: string[],
  onLine?: (line: string, child: Deno.ChildProcess) => void,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli/reproduce.ts`, ...args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const lines = child.stderr.pipeThrough(new TextDecoderStream());
  for await (const chunk of lines) {
    text += chunk;
    for (const line of chunk.split("\n")) onLine?.(line, child);
  }
  const { code } = await child.status;
  return { code, text };
}

Deno.test("Ctrl-C stops `deno task reproduce` keeping the finished runs; the same command goes on", async () => {
  const out = await Deno.makeTempDir();
  const args = [
    "--preset",
    "tiny",
    "--only",
    "resnet",
    "--data",
    "embedded",
    "--out",
    out,
  ];
  let sent = false;
  const stopped = await reproduce(args, (line, child) => {
    if (!sent && line.includes("wrote")) {
      sent = true;
      child.kill("SIGINT");
    }
  });
  equal(stopped.code, 130, stopped.text);
  match(stopped.text, /Stopped during .*; every finished run is kept/);
  const kept = [...Deno.readDirSync(`${out}/results/runs`)].length;
  ok(kept >= 1, stopped.text);
  const resumed = await reproduce(args);
  equal(resumed.code, 0, resumed.text);
  equal(resumed.text.match(/finished before/g)?.length, kept, resumed.text);
  // The runs read back time the ones still to train.
  match(resumed.text, /; all runs: about \d+[hms][^,\n]* left\n/);
  doesNotMatch(resumed.text, /\?/);
  match(
    await Deno.readTextFile(`${out}/RESULTS.md`),
    /## 5\. The paper's network/,
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("the default output folder leaves the committed report alone; --publish takes the full run only", async () => {
  const before = await Deno.readFile(`${ROOT}RESULTS.md`);
  const rendered = await reproduce(["--render"]);
  equal(rendered.code, 0, rendered.text);
  match(rendered.text, /Wrote .*\/out\/reproduce\/RESULTS\.md/);
  deepEqual(await Deno.readFile(`${ROOT}RESULTS.md`), before);
  const refused = await reproduce(["--publish", "--quick"]);
  equal(refused.code, 2);
  match(refused.text, /--publish writes the full run into the repository/);
  deepEqual(await Deno.readFile(`${ROOT}RESULTS.md`), before);
});

/** Whether the committed RESULTS.md says it was rendered from run files. */
const fromRunFiles = (await Deno.readTextFile(`${ROOT}RESULTS.md`)).includes(
  "Every number above comes from a run file in `results/runs/`",
);

Deno.test({
  name: fromRunFiles
    ? "rendering the committed run files reproduces RESULTS.md and its figures byte for byte"
    : "rendering the committed run files reproduces RESULTS.md byte for byte (ignored: the committed RESULTS.md predates run files)",
  ignore: !fromRunFiles,
  async fn() {
    const out = await Deno.makeTempDir();
    const rendered = await reproduce(["--render", "--out", out]);
    equal(rendered.code, 0, rendered.text);
    equal(
      await Deno.readTextFile(`${out}/RESULTS.md`),
      await Deno.readTextFile(`${ROOT}RESULTS.md`),
    );
    for (const entry of Deno.readDirSync(`${out}/results`)) {
      if (!entry.isFile) continue;
      equal(
        await Deno.readTextFile(`${out}/results/${entry.name}`),
        await Deno.readTextFile(`${ROOT}results/${entry.name}`),
        entry.name,
      );
    }
    await Deno.remove(out, { recursive: true });
  },
});
