/**
 * The README's examples run as printed: the Deno one against the source (the
 * package's name swapped for `mod.ts`), the browser one in headless Chromium
 * against the bundle. The Node one runs in `npm_package_test.ts`, against
 * the installed package. The residual networks', the ONNX Runtime, the
 * PyTorch and the TensorFlow.js ones run against the source.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  DataParallel,
  decodeSafetensors,
  encodeSafetensors,
  exportTorch,
  loadModel,
} from "../mod.ts";
import { join } from "node:path";
import { bundle } from "../tools/bundle.ts";
import { startServer } from "../tools/serve.ts";
import { chromiumProblem, launchChromium } from "./_helpers/browser.ts";
import { readmeBlock, runReadmeExample } from "./_helpers/readme.ts";

Deno.test("README, Deno: the example trains and evaluates, from the source", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jumpout-readme-" });
  try {
    const checkpoint = join(dir, "model.safetensors");
    const out = await runReadmeExample("### Deno", {
      edit: (code) =>
        code.replace('"model.safetensors"', "Deno.env.get('CHECKPOINT')!"),
      env: { CHECKPOINT: checkpoint },
    });
    const accuracy = Number(/accuracy: ([0-9.]+)/.exec(out)?.[1]);
    // One epoch of a 784-512-10 MLP, unseeded: 0.67-0.71 on the embedded
    // subset, 0.82 on the full set; 0.5 is five times chance.
    ok(accuracy > 0.5, out);
    ok((await Deno.stat(checkpoint)).size > 784 * 512 * 4, "the checkpoint");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const problem = await chromiumProblem();

Deno.test({
  name: "README, browser: the page script trains on workers from dist/",
  ignore: problem !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "jumpout-readme-page-" });
    const distDir = join(dir, "dist");
    await bundle({ outDir: distDir, types: false });
    await Deno.writeTextFile(
      join(dir, "index.html"),
      `<!doctype html>\n<title>example</title>\n<link rel="icon" href="data:,">\n${await readmeBlock(
        "### Browser",
        "html",
      )}`,
    );
    const server = await startServer({ port: 0, webDir: dir, distDir });
    const browser = await launchChromium({ webgpu: false });
    try {
      const page = browser.context.pages()[0] ??
        await browser.context.newPage();
      const errors: string[] = [];
      const logged: unknown[] = [];
      const twoLogs = Promise.withResolvers<void>();
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", async (m) => {
        if (m.type() === "error") errors.push(m.text());
        if (m.type() !== "log") return;
        logged.push(await m.args()[0]?.jsonValue());
        if (logged.length === 2) twoLogs.resolve();
      });
      await page.goto(server.url);
      const timeout = setTimeout(
        () => twoLogs.reject(new Error(`no two logs in 60 s: ${errors}`)),
        60_000,
      );
      try {
        await twoLogs.promise;
      } finally {
        clearTimeout(timeout);
      }
      equal(errors.length, 0, errors.join("\n"));
      equal(
        await page.evaluate(() => globalThis.crossOriginIsolated),
        true,
        "served isolated, so shared memory",
      );
      const [evaluation, stats] = logged as [
        { accuracy: number },
        { stats: { qPlus: number }[] }[],
      ];
      // 31 steps of 64 images: well above chance (0.1).
      ok(evaluation.accuracy > 0.4, JSON.stringify(evaluation));
      equal(stats.length, 1, "one Jumpout layer");
      ok(stats[0].stats[0].qPlus > 0 && stats[0].stats[0].qPlus < 1);
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("README, training with fit: define, fit with validation and early stopping, evaluate, predict", async () => {
  const out = await runReadmeExample("### Training with fit");
  ok(/epoch 1: loss [0-9.]+, validation 0\.\d+/.test(out), out);
  // Five epochs of a 784-128-10 MLP on 2700 images: well past chance (10%).
  const accuracy = Number(/test accuracy: ([0-9.]+)/.exec(out)?.[1]);
  ok(accuracy > 0.6, out);
});

Deno.test("README, residual networks: the example builds ResNet-20 and a block", async () => {
  const out = await runReadmeExample("### Residual networks");
  // He et al.'s ResNet-20 has 0.27M parameters; ours adds 1% (projection
  // shortcuts) and has one input channel.
  const count = Number(/ResNet-20: (\d+) parameters/.exec(out)?.[1]);
  ok(Math.abs(count / 0.27e6 - 1) < 0.02, out);
  ok(out.includes("[ 8, 64 ]"), out);
});

Deno.test("README, TensorFlow.js: the example trains a TensorFlow.js model with jumpout()", async () => {
  const out = await runReadmeExample("### From TensorFlow.js");
  const losses = /loss per epoch: \[ ([0-9.]+), ([0-9.]+) \]/.exec(out);
  // Unseeded weights: the second epoch's mean loss is well below the first's
  // (about 1.1 then 0.7 on the embedded subset).
  ok(losses && Number(losses[2]) < Number(losses[1]) - 0.1, out);
  ok(/qPlus: 0\.\d+/.test(out), out);
});

Deno.test("README, ONNX: the exported ResNet-20 runs in ONNX Runtime as in the library", async () => {
  const out = await runReadmeExample("### Serving with ONNX Runtime");
  ok(out.includes("[ 8, 10 ]"), out);
  const relative = Number(/relative difference: (\S+)/.exec(out)?.[1]);
  ok(relative >= 0 && relative < 1e-5, out);
});

Deno.test("README, outgrowing one machine: the example exports a trained run and imports a state dict back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jumpout-readme-torch-" });
  try {
    // What the example reads: a run's checkpoint, and a state dict of its
    // network (its export with every weight set to 0.5).
    const trainer = await DataParallel.create({
      model: [{ type: "dense", inFeatures: 4, outFeatures: 3 }],
      inputShape: [4],
      optimizer: { type: "sgd", lr: 0.1 },
      backend: "reference",
      workers: 0,
    });
    await trainer.trainStep(new Float32Array([1, 2, 3, 4]), [2]);
    const checkpoint = await trainer.checkpoint();
    await trainer.dispose();
    const loaded = await loadModel(checkpoint);
    const { weights } = await exportTorch(loaded.model);
    loaded.dispose();
    const { tensors } = decodeSafetensors(weights);
    (tensors.get("0.weight")!.data as Float32Array).fill(0.5);
    const files = {
      CHECKPOINT: join(dir, "checkpoint.safetensors"),
      WEIGHTS: join(dir, "model.safetensors"),
      PYTHON: join(dir, "model.py"),
      STATE: join(dir, "state.safetensors"),
    };
    await Deno.writeFile(files.CHECKPOINT, checkpoint);
    await Deno.writeFile(files.STATE, encodeSafetensors(tensors));
    const path = (name: string) => `Deno.env.get("${name}")!`;
    const out = await runReadmeExample("### Outgrowing one machine", {
      edit: (code) =>
        code
          .replace('"out/train/checkpoint.safetensors"', path("CHECKPOINT"))
          .replace('"model.safetensors"', path("WEIGHTS"))
          .replace('"model.py"', path("PYTHON"))
          .replace('"state.safetensors"', path("STATE"))
          .replace(
            "dispose();",
            'const w = model.state().get("0.weight")!;\nconsole.log(JSON.stringify([...await w.backend.read(w)]));\ndispose();',
          ),
      env: files,
    });
    deepEqual(await Deno.readFile(files.WEIGHTS), weights);
    ok((await Deno.readTextFile(files.PYTHON)).includes("def build_model():"));
    deepEqual(JSON.parse(out), new Array(12).fill(0.5));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
