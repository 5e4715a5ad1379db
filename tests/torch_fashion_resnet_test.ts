/**
 * `python/torch_fashion_resnet.py`, PyTorch's training of the same ResNet on
 * Fashion-MNIST: one short epoch on the embedded subset prints well-formed
 * JSON lines, its learning rates are `cosineSchedule`'s with `cli/_fit.ts`'s
 * warmup, and bad options and a missing torch exit with their statuses.
 * Needs `/usr/bin/python3` with torch (see `_helpers/torch.ts`): ignored with
 * a printed reason without it, a failure under CI=true.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { cosineSchedule } from "../mod.ts";
import { PYTHON_PATH, torchProblem } from "./_helpers/torch.ts";

const SCRIPT = fileURLToPath(
  new URL("../python/torch_fashion_resnet.py", import.meta.url),
);
/** The subset shipped with the library, so the test needs no system data. */
const DATA = fileURLToPath(new URL("../data/fashion-mnist/", import.meta.url));

const problem = await torchProblem();

/** What one run of the script printed. */
interface Run {
  code: number;
  lines: Record<string, unknown>[];
  stderr: string;
}

/** Runs the script with `args`, its stdout parsed one JSON value a line. */
async function runScript(
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(PYTHON_PATH, {
    args: [SCRIPT, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  return {
    code,
    lines: text === "" ? [] : text.split("\n").map((l) => JSON.parse(l)),
    stderr: new TextDecoder().decode(stderr),
  };
}

Deno.test({
  name: "torch_fashion_resnet.py trains one epoch and prints its JSON lines",
  ignore: problem !== undefined,
  async fn() {
    const { code, lines, stderr } = await runScript([
      ...["--depth", "8", "--epochs", "1", "--threads", "1"],
      ...["--train-images", "512", "--test-images", "256", "--data", DATA],
    ]);
    equal(code, 0, stderr);
    equal(lines.length, 2, JSON.stringify(lines));
    const [epoch, done] = lines;
    deepEqual(Object.keys(epoch).sort(), [
      "epoch",
      "evalAccuracy",
      "evalLoss",
      "samplesPerSec",
      "seconds",
      "trainAccuracy",
      "trainLoss",
    ]);
    equal(epoch.epoch, 1);
    for (const [key, value] of Object.entries(epoch)) {
      ok(Number.isFinite(value), `${key}: got ${value}`);
    }
    for (const key of ["trainAccuracy", "evalAccuracy"]) {
      const value = epoch[key] as number;
      ok(value >= 0 && value <= 1, `${key}: got ${value}`);
    }
    for (const key of ["trainLoss", "evalLoss", "seconds", "samplesPerSec"]) {
      ok((epoch[key] as number) > 0, `${key}: got ${epoch[key]}`);
    }
    equal(typeof done.torch, "string");
    deepEqual({ ...done, torch: "" }, {
      done: true,
      torch: "",
      threads: 1,
      trainImages: 512,
      testImages: 256,
    });
  },
});

Deno.test({
  name:
    "torch_fashion_resnet.py --print-schedule equals cosineSchedule with cli/_fit.ts's warmup",
  ignore: problem !== undefined,
  async fn() {
    const lr = 0.05;
    for (const [steps, epochs] of [[4, 3], [1, 1], [3, 20], [468, 15]]) {
      const { code, lines, stderr } = await runScript([
        ...["--print-schedule", `${steps},${epochs}`, "--lr", String(lr)],
      ]);
      equal(code, 0, stderr);
      const totalSteps = steps * epochs;
      // As fit() in cli/_fit.ts.
      const warmupSteps = Math.min(steps, Math.floor(totalSteps / 5));
      const ours = cosineSchedule({ lr, totalSteps, warmupSteps });
      const [{ warmupSteps: theirWarmup, lr: rates }] = lines as {
        warmupSteps: number;
        lr: number[];
      }[];
      equal(theirWarmup, warmupSteps, `${steps},${epochs}: warmupSteps`);
      equal(rates.length, totalSteps, `${steps},${epochs}: steps`);
      rates.forEach((rate, step) => {
        ok(
          Math.abs(rate - ours(step)) <= 1e-12,
          `${steps},${epochs} step ${step}: got ${rate}, cosineSchedule ${
            ours(step)
          }`,
        );
      });
    }
  },
});

Deno.test({
  name: "torch_fashion_resnet.py exits 2 on a bad option, naming it",
  ignore: problem !== undefined,
  async fn() {
    const cases: [string[], string, string][] = [
      [["--depth", "9"], "--depth", "9"],
      [["--rate", "1.5"], "--rate", "1.5"],
      [["--batch", "abc"], "--batch", "abc"],
      [["--lr", "nan"], "--lr", "nan"],
      [["--train-images", "100"], "--train-images", "100"],
      [["--data", "/no/such/dir"], "--data", "/no/such/dir"],
      [["--print-schedule", "4"], "--print-schedule", "4"],
      [["--epoch", "3"], "--epoch", "3"],
    ];
    // Later options win: should a case be accepted, it trains for a second.
    const small = [
      ...["--depth", "8", "--epochs", "1", "--threads", "1"],
      ...["--train-images", "128", "--test-images", "16", "--data", DATA],
    ];
    await Promise.all(cases.map(async ([args, option, value]) => {
      const { code, lines, stderr } = await runScript([...small, ...args]);
      equal(code, 2, `${args.join(" ")}: exit status (stderr: ${stderr})`);
      deepEqual(lines, [], `${args.join(" ")}: stdout`);
      ok(stderr.includes(option), `${args.join(" ")}: ${stderr}`);
      ok(stderr.includes(value), `${args.join(" ")}: ${stderr}`);
    }));
  },
});

Deno.test({
  name: "torch_fashion_resnet.py exits 3 when torch cannot be imported",
  ignore: problem !== undefined,
  async fn() {
    // A torch module that fails to import, found before the real one.
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/torch.py`,
        'raise ImportError("no torch in this test")\n',
      );
      const { code, lines, stderr } = await runScript(
        ["--epochs", "1", "--data", DATA],
        { PYTHONPATH: dir },
      );
      equal(code, 3, stderr);
      deepEqual(lines, []);
      ok(stderr.includes("torch is missing"), stderr);
      ok(stderr.includes("no torch in this test"), stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
