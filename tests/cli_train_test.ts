/**
 * The main job from the command line: `deno task train` writes its results,
 * curves and checkpoint, Ctrl-C leaves the last complete epoch's files, and
 * a run killed at any moment goes on with `--resume` to the same end.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { checkpointHistory, loadModel, readCheckpointHeader } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * `deno task train` with arguments, from the repository; `direct`: run
 * `cli/train.ts` by Deno itself, so that a signal reaches the training
 * process (a task's shell would leave it running).
 */
function train(args: string[], direct = false): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      ...direct ? ["run", "-A", "cli/train.ts"] : ["task", "--quiet", "train"],
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("deno task train --epochs 1 on the embedded subset writes results, curves and a checkpoint", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await train([
      "--epochs",
      "1",
      "--data",
      "embedded",
      "--workers",
      "2",
      "--out",
      out,
    ]).output();
    const text = new TextDecoder().decode(stderr);
    equal(code, 0, text);
    ok(
      /Test accuracy \d+\.\d\d% after 1 epochs/.test(
        new TextDecoder().decode(stdout),
      ),
    );
    // Not a terminal: plain lines, no control characters.
    ok(!text.includes("\r") && !text.includes("\x1b["), JSON.stringify(text));
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    equal(results.epochs.length, 1);
    equal(results.trainImages, 3000);
    equal(results.testImages, 1000);
    const { evalAccuracy, trainLoss } = results.epochs[0];
    // Ten classes: one epoch on 3000 images is far above chance (10%).
    ok(evalAccuracy > 0.5 && evalAccuracy <= 1, String(evalAccuracy));
    ok(Number.isFinite(trainLoss));
    for (const name of ["loss.svg", "accuracy.svg"]) {
      const svg = await Deno.readTextFile(`${out}/${name}`);
      ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"), name);
    }
    const header = readCheckpointHeader(
      await Deno.readFile(`${out}/checkpoint.safetensors`),
    );
    equal(header.step, Math.floor(3000 / 128));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("Ctrl-C leaves the last complete epoch's checkpoint and results", async () => {
  const out = await Deno.makeTempDir();
  try {
    const child = train([
      "--epochs",
      "50",
      "--data",
      "embedded",
      "--workers",
      "0",
      "--out",
      out,
    ]);
    // Wait for the first epoch's files, then interrupt.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const ok = await Deno.stat(`${out}/results.json`).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGINT");
    const { code } = await child.output();
    equal(code, 130);
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    const epochs = results.epochs.length;
    ok(epochs >= 1 && epochs < 50, String(epochs));
    const header = readCheckpointHeader(
      await Deno.readFile(`${out}/checkpoint.safetensors`),
    );
    // The checkpoint is written before the results: it is at least as far.
    ok(header.step >= epochs * Math.floor(3000 / 128), String(header.step));
    deepEqual(
      [...Deno.readDirSync(out)].map((e) => e.name).filter((n) =>
        n.endsWith(".tmp")
      ),
      [],
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task train refuses bad options, naming them", async () => {
  for (const bad of ["resnet", "resnet21", "wrn-16", "wrn-20-4"]) {
    const { code, stderr } = await train(["--model", bad]).output();
    equal(code, 2);
    ok(
      new TextDecoder().decode(stderr).includes(
        `--model must be mlp, cnn, resnet<6n+2> (e.g. resnet20) or wrn-<6n+4>-<k> (e.g. wrn-16-4), got ${bad}`,
      ),
    );
  }
});

Deno.test("deno task train --augment trains the cnn on cropped and flipped images, and refuses the mlp", async () => {
  const refused = await train(["--augment"]).output();
  equal(refused.code, 2);
  ok(
    new TextDecoder().decode(refused.stderr).includes(
      "--augment needs a network of images (cnn), got --model mlp",
    ),
  );
  const out = await Deno.makeTempDir();
  try {
    const { code, stderr } = await train([
      "--model",
      "cnn",
      "--augment",
      "--epochs",
      "1",
      "--train-size",
      "256",
      "--data",
      "embedded",
      "--workers",
      "2",
      "--out",
      out,
    ]).output();
    equal(code, 0, new TextDecoder().decode(stderr));
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    equal(results.config.augment, true);
    const { metadata } = readCheckpointHeader(
      await Deno.readFile(`${out}/checkpoint.safetensors`),
    );
    // Padded with black, as standardised.
    const { augment } = JSON.parse(metadata["dataParallel.setup"]);
    deepEqual(augment, {
      padding: 4,
      flip: true,
      fill: (0 - Number(metadata["input.mean"])) /
        Number(metadata["input.std"]),
    });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task train --model resnet8 trains a residual network, with augmentation by default", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { code, stderr } = await train([
      "--model",
      "resnet8",
      "--epochs",
      "1",
      "--train-size",
      "256",
      "--data",
      "embedded",
      "--workers",
      "2",
      "--out",
      out,
    ]).output();
    equal(code, 0, new TextDecoder().decode(stderr));
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    equal(results.config.model, "resnet8");
    equal(results.config.augment, true);
    const { metadata } = readCheckpointHeader(
      await Deno.readFile(`${out}/checkpoint.safetensors`),
    );
    const { layers } = JSON.parse(metadata["dataParallel.setup"]);
    equal(
      layers.filter((l: { type: string }) => l.type === "residual").length,
      3,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task train killed at any moment (SIGKILL) goes on with --resume and ends with an uninterrupted run's checkpoint, byte for byte", async () => {
  const whole = await Deno.makeTempDir();
  const killed = await Deno.makeTempDir();
  // 16 steps per epoch.
  const args = [
    "--epochs",
    "4",
    "--data",
    "embedded",
    "--train-size",
    "1024",
    "--batch",
    "64",
    "--workers",
    "0",
  ];
  try {
    const uninterrupted = await train([...args, "--out", whole]).output();
    equal(
      uninterrupted.code,
      0,
      new TextDecoder().decode(uninterrupted.stderr),
    );
    const expected = await Deno.readFile(`${whole}/checkpoint.safetensors`);
    // Killed by timers (while starting, training, evaluating or writing),
    // and right as an epoch's files are written; each run resumes the last.
    const kills: (number | "epoch")[] = [300, "epoch", 1700, 2300, "epoch"];
    kills.push(...kills.map(() => 800 + Math.floor(Math.random() * 2500)));
    let done = 0;
    const left = new Set<number>();
    for (const when of kills) {
      const child = train([...args, "--resume", "--out", killed], true);
      const kill = () => {
        try {
          child.kill("SIGKILL");
        } catch {
          // It had ended.
        }
      };
      const timer = typeof when === "number" ? setTimeout(kill, when) : 0;
      let text = "";
      for await (
        const chunk of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        text += chunk;
        if (when === "epoch" && /epoch \d+: train loss/.test(text)) kill();
      }
      await child.stdout.cancel();
      const { code, signal } = await child.status;
      clearTimeout(timer);
      if (code === 0) done++;
      else equal(signal, "SIGKILL", text);
      // Whatever the moment, the checkpoint left loads.
      const bytes = await Deno.readFile(`${killed}/checkpoint.safetensors`)
        .catch(() => undefined);
      if (bytes !== undefined) {
        left.add(checkpointHistory(bytes).epoch.length);
        (await loadModel(bytes)).dispose();
      }
    }
    const last = await train([...args, "--resume", "--out", killed]).output();
    equal(last.code, 0, new TextDecoder().decode(last.stderr));
    deepEqual(
      await Deno.readFile(`${killed}/checkpoint.safetensors`),
      expected,
    );
    const results = JSON.parse(
      await Deno.readTextFile(`${killed}/results.json`),
    );
    deepEqual(results.epochs.map((e: { epoch: number }) => e.epoch), [
      1,
      2,
      3,
      4,
    ]);
    ok(done < kills.length, "some run must have been killed");
    // Some run was killed between two epochs, and the next resumed there.
    ok([1, 2, 3].some((e) => left.has(e)), [...left].join());
    // Another run's options are refused, naming the difference.
    const other = await train([
      ...args,
      "--seed",
      "2",
      "--resume",
      "--out",
      killed,
    ]).output();
    equal(other.code, 2);
    match(
      new TextDecoder().decode(other.stderr),
      /--resume needs the options and data of the run in .*, got seed 2 where the run has 1/,
    );
  } finally {
    await Deno.remove(whole, { recursive: true });
    await Deno.remove(killed, { recursive: true });
  }
});
