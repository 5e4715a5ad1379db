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
import type { Page } from "playwright-core";
import { chromiumProblem, launchChromium } from "./_helpers/browser.ts";
import {
  readmeBlock,
  readmeBlocks,
  runReadmeExample,
  walkthroughLines,
} from "./_helpers/readme.ts";

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

/** A page's HTML: the boilerplate, then `body`. */
function pageHtml(title: string, body: string): string {
  return `<!doctype html>\n<title>${title}</title>\n<link rel="icon" href="data:,">\n${body}`;
}

/**
 * A module script that imports the package by its name, as the README's
 * examples do, through an import map pointing at the bundle in `dist/`.
 */
function packageScript(code: string): string {
  const importMap = JSON.stringify({
    imports: { "@jumpout/jumpout": "./dist/jumpout.js" },
  });
  return `<script type="importmap">${importMap}</script>\n<script type="module">\n${code}</script>\n`;
}

/**
 * Serves `pages` (file name → HTML) beside a fresh bundle in `dist/`, opens
 * headless Chromium on them and runs `fn` with its page and the server's
 * address; everything is shut down and removed after.
 */
async function withServedPages(
  pages: Record<string, string>,
  fn: (page: Page, url: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "jumpout-readme-page-" });
  try {
    const distDir = join(dir, "dist");
    await bundle({ outDir: distDir, types: false });
    for (const [name, html] of Object.entries(pages)) {
      await Deno.writeTextFile(join(dir, name), html);
    }
    const server = await startServer({ port: 0, webDir: dir, distDir });
    try {
      const browser = await launchChromium({ webgpu: false });
      try {
        const page = browser.context.pages()[0] ??
          await browser.context.newPage();
        await fn(page, server.url);
      } finally {
        await browser.close();
      }
    } finally {
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "README, browser: the page script trains on workers from dist/",
  ignore: problem !== undefined,
  async fn() {
    const html = pageHtml("example", await readmeBlock("### Browser", "html"));
    await withServedPages({ "index.html": html }, async (page, url) => {
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
      await page.goto(url);
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
    });
  },
});

Deno.test("README, example: trains a Jumpout network on Fashion-MNIST and evaluates it", async () => {
  const out = await runReadmeExample("## Example");
  // Three epochs of a 784-512-10 MLP: 0.86 on the whole set, about 0.75 on
  // the embedded subset; 0.6 is six times chance.
  const accuracy = Number(/accuracy: ([0-9.]+)/.exec(out)?.[1]);
  ok(accuracy > 0.6, out);
});

/** The walkthrough as printed, from the source, and what it prints. */
async function walkthroughFromSource(edit?: (code: string) => string) {
  return await runReadmeExample("## A walkthrough", { language: "js", edit });
}

Deno.test("README, walkthrough: define, summary, fit with validation and early stopping, evaluate, save, load, predict", async () => {
  const out = await walkthroughFromSource((code) =>
    // Also predict with the trained model: the loaded one must agree.
    `${code}\nconst q = await predict(model, test.images.subarray(0, 784));\nconsole.log("same after loading:", p.every((v, i) => v === q[i]));\n`
  );
  ok(out.includes("Total params: 101,770"), out);
  ok(/epoch 1: loss [0-9.]+, validation 0\.\d{3}\n/.test(out), out);
  // Five epochs at most of a 784-128-10 MLP on 2700 images: past chance.
  const accuracy = Number(/test accuracy: ([0-9.]+)/.exec(out)?.[1]);
  ok(accuracy > 0.6, out);
  ok(/predicted [A-Za-z/ -]+, labelled [A-Za-z/ -]+\n/.test(out), out);
  ok(out.includes("same after loading: true"), out);
});

Deno.test({
  name:
    "README, walkthrough in a browser: from dist/, it prints what it prints in Deno",
  ignore: problem !== undefined,
  async fn() {
    const expected = walkthroughLines(await walkthroughFromSource());
    const pages = {
      "index.html": pageHtml(
        "walkthrough",
        packageScript(await readmeBlock("## A walkthrough", "js")),
      ),
      // In a browser loadFashionMnist() finds the embedded subset beside the
      // bundle.
      "example.html": pageHtml(
        "example",
        packageScript(await readmeBlock("## Example", "ts")),
      ),
    };
    await withServedPages(pages, async (page, url) => {
      const errors: string[] = [];
      const logged: string[] = [];
      const done = Promise.withResolvers<void>();
      page.on("pageerror", (e) => {
        errors.push(e.message);
        done.reject(new Error(`the page threw: ${e.message}`));
      });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
        if (m.type() !== "log") return;
        logged.push(m.text());
        if (m.text().startsWith("predicted ")) done.resolve();
      });
      await page.goto(url);
      const timeout = setTimeout(
        () => done.reject(new Error(`no prediction in 120 s: ${errors}`)),
        120_000,
      );
      try {
        await done.promise;
      } finally {
        clearTimeout(timeout);
      }
      equal(errors.length, 0, errors.join("\n"));
      deepEqual(walkthroughLines(logged.join("\n")), expected);

      // The first example too, from the same files.
      const evaluated = Promise.withResolvers<{ accuracy: number }>();
      page.on("console", async (m) => {
        if (m.type() === "log") {
          evaluated.resolve(await m.args()[0].jsonValue());
        }
      });
      page.on("pageerror", (e) => evaluated.reject(e));
      await page.goto(new URL("example.html", url).href);
      const late = setTimeout(
        () =>
          evaluated.reject(new Error("the example logged nothing in 120 s")),
        120_000,
      );
      const { accuracy } = await evaluated.promise.finally(() =>
        clearTimeout(late)
      );
      ok(accuracy > 0.6, `the example's accuracy: ${accuracy}`);
    });
  },
});

Deno.test("README, API: a Jumpout layer forward and backward on a backend", async () => {
  const out = await runReadmeExample("## API");
  ok(/qPlus: 0\.\d+/.test(out), out);
  ok(out.includes("Float32Array(32)"), out);
});

Deno.test("README, training a network: steps by hand and with trainStep lower the loss", async () => {
  const out = await runReadmeExample("### Training a network");
  ok(out.includes("Total params: 403,050"), out);
  const losses = [...out.matchAll(/step \d+: loss ([0-9.]+)/g)].map((m) =>
    Number(m[1])
  );
  equal(losses.length, 4, out);
  // Twenty steps on one batch of 64 images: the loss falls well below ln 10.
  ok(losses[3] < losses[0] - 0.5, out);
});

Deno.test("README, edge: the model of a checkpoint gives logits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jumpout-readme-edge-" });
  try {
    // What the example reads: the checkpoint of a run on 784 inputs.
    const trainer = await DataParallel.create({
      model: [{ type: "dense", inFeatures: 784, outFeatures: 10 }],
      inputShape: [784],
      optimizer: { type: "sgd", lr: 0.1 },
      backend: "reference",
      workers: 0,
      metadata: { "input.mean": "0.286" },
    });
    await trainer.trainStep(new Float32Array(784).fill(0.5), [3]);
    const checkpoint = join(dir, "checkpoint.safetensors");
    await Deno.writeFile(checkpoint, await trainer.checkpoint());
    await trainer.dispose();
    const out = await runReadmeExample("### Edge", {
      edit: (code) =>
        code.replace(
          '"out/train/checkpoint.safetensors"',
          'Deno.env.get("CHECKPOINT")!',
        ),
      env: { CHECKPOINT: checkpoint },
    });
    ok(/Float32Array\(10\)[^]*\] 0\.286\n/.test(out), out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README, workers: two workers train, evaluate, save and resume", async () => {
  const out = await runReadmeExample("### Data-parallel training in workers");
  ok(/accuracy: 0\.\d+/.test(out), out);
  equal(out.trim().split("\n").at(-1), "1", out);
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

/**
 * Where each code block of the README runs: `here` (this file) or the test
 * file that runs it. A block under a heading missing here fails the test
 * below, so every example stays one that runs as printed.
 */
const RUN_BY: Record<string, string> = {
  "## Example ts": "here",
  "## A walkthrough js": "here (Deno and Chromium); npm_package_test.ts (Node)",
  "### Deno ts": "here",
  "### Node (npm) js": "npm_package_test.ts",
  "#### Workers and checkpoints in Node js": "npm_package_test.ts",
  "### Browser html": "here",
  "### Edge ts": "here",
  "## API ts": "here",
  "### Training a network ts": "here",
  "### Residual networks ts": "here",
  "### Serving with ONNX Runtime ts": "here",
  "### Data-parallel training in workers ts": "here",
  "### From TensorFlow.js ts": "here",
  "### Outgrowing one machine ts": "here",
};

Deno.test("README: every TypeScript, JavaScript and HTML block is run by a test", async () => {
  const blocks = await readmeBlocks([
    "ts",
    "js",
    "html",
    "typescript",
    "javascript",
  ]);
  const places = blocks.map(({ heading, language }) =>
    `${heading} ${language}`
  );
  // One block per heading and language: readmeBlock finds the first only.
  equal(new Set(places).size, places.length, places.join("\n"));
  deepEqual(places.filter((p) => !(p in RUN_BY)), [], "blocks no test runs");
  deepEqual(
    Object.keys(RUN_BY).filter((p) => !places.includes(p)),
    [],
    "listed blocks the README lacks",
  );
});
