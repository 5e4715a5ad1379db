/**
 * The main job from the command line: `deno task train` writes its results,
 * curves and checkpoint, and Ctrl-C leaves the last complete epoch's files.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { readCheckpointHeader } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** `deno task train` with arguments, from the repository. */
function train(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "train", ...args],
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
  const { code, stderr } = await train(["--model", "resnet"]).output();
  equal(code, 2);
  ok(
    new TextDecoder().decode(stderr).includes(
      "--model must be mlp or cnn, got resnet",
    ),
  );
});
