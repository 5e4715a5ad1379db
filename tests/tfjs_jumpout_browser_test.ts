/**
 * The TensorFlow.js layer in headless Chromium, on TensorFlow.js's `webgl`
 * and `webgpu` backends (`tests/_helpers/tfjs_page.ts`, bundled with
 * TensorFlow.js's own browser builds): training calls give the masks, rates
 * and factors of this library's `Jumpout` (the products within float32
 * rounding of the GPU), the share dropped matches p', `model.fit` lowers the
 * loss, and nothing leaks.
 */
import * as esbuild from "esbuild";
import { deepEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { createBackend, Jumpout, type JumpoutOptions } from "../mod.ts";
import { ensureNpmPackages } from "../tools/bundle/npm_resolver.ts";
import { startServer } from "../tools/serve.ts";
import {
  BROWSER_REQUIRED,
  chromiumProblem,
  launchChromium,
} from "./_helpers/browser.ts";
import { watchPage } from "./_helpers/browser_demo.ts";
import { pattern } from "./_helpers/backends.ts";
import type { PageCase, PageResult } from "./_helpers/tfjs_page.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PAGE = "tests/_helpers/tfjs_page.ts";

const CASES: PageCase[] = ([
  { sigma: 0.3, seed: 11 },
  { sigma: 0.3, seed: 12, scope: "sample" },
  { monotone: false, normalize: false, rate: 0.4, seed: 13 },
] satisfies JumpoutOptions[]).map((options, i) => ({
  options,
  shape: [16, 64],
  x: [...pattern(1024, 20 + i)],
  // Never 0, so that a gradient of 0 is a dropped unit.
  dy: [...pattern(1024, 30 + i)].map((v) => 1 + Math.abs(v)),
  steps: 3,
}));

/**
 * Bundles the page with TensorFlow.js's flat ES module builds
 * (`dist/tf-*.fesm.js`, which carry their own dependencies) into `outDir`,
 * beside an `index.html` that loads it.
 */
async function bundlePage(outDir: string): Promise<void> {
  const npmCache = await ensureNpmPackages(ROOT, [PAGE]);
  const imports: Record<string, string> = JSON.parse(
    await Deno.readTextFile(join(ROOT, "deno.json")),
  ).imports;
  const flatBuilds: esbuild.Plugin = {
    name: "tfjs-flat-builds",
    setup(build) {
      build.onResolve({ filter: /^@tensorflow\/tfjs-[a-z-]+$/ }, (args) => {
        const version = imports[args.path].slice(`npm:${args.path}@`.length);
        const file = `${args.path.replace("@tensorflow/tfjs-", "tf-")}.fesm.js`;
        return {
          path: join(
            npmCache,
            "registry.npmjs.org",
            args.path,
            version,
            "dist",
            file,
          ),
        };
      });
    },
  };
  try {
    await esbuild.build({
      entryPoints: { tfjs_page: join(ROOT, PAGE) },
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      outdir: outDir,
      absWorkingDir: ROOT,
      logLevel: "silent",
      // Reached only under Node, behind checks the browser fails.
      external: ["crypto", "util", "node-fetch", "fs", "path", "os"],
      plugins: [flatBuilds],
    });
  } finally {
    await esbuild.stop();
  }
  await Deno.writeTextFile(
    join(outDir, "index.html"),
    '<!doctype html>\n<title>tfjs</title>\n<link rel="icon" href="data:,">\n<script type="module" src="/dist/tfjs_page.js"></script>\n',
  );
}

/**
 * Runs the page on one backend: undefined when Chromium does not offer it
 * here (a failure under CI=true).
 */
async function runPage(
  backend: "webgl" | "webgpu",
): Promise<PageResult | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "jumpout-tfjs-page-" });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    await bundlePage(dir);
    server = await startServer({ port: 0, webDir: dir, distDir: dir });
    browser = await launchChromium();
    const page = await browser.context.newPage();
    const problems = watchPage(page);
    await page.goto(server.url);
    await page.waitForFunction(() => globalThis.runTfjsJumpout !== undefined);
    const offered = await page.evaluate(
      async (name) =>
        name === "webgl"
          ? document.createElement("canvas").getContext("webgl2") !== null
          : (await navigator.gpu?.requestAdapter()) != null,
      backend,
    );
    if (!offered) {
      const problem = `Chromium offers no ${backend} here`;
      if (BROWSER_REQUIRED) throw new Error(`CI=true but ${problem}`);
      console.warn(`The ${backend} case is skipped: ${problem}`);
      return undefined;
    }
    const result = await page.evaluate(
      ([name, cases]) => globalThis.runTfjsJumpout!(name, cases),
      [backend, CASES] as const,
    );
    deepEqual(problems, []);
    return result;
  } finally {
    await browser?.close();
    await server?.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

const browserProblem = await chromiumProblem();
const reference = await createBackend("reference");

for (const backend of ["webgl", "webgpu"] as const) {
  Deno.test({
    name:
      `tfjs ${backend} in Chromium: the library's masks, rates and factors; model.fit lowers the loss`,
    ignore: browserProblem !== undefined,
    async fn() {
      const result = await runPage(backend);
      if (result === undefined) return;
      equal(result.backend, backend);
      CASES.forEach((c, i) => {
        const got = result.cases[i];
        const ours = new Jumpout(c.options);
        const x = reference.tensor(Float32Array.from(c.x), c.shape);
        const dy = reference.tensor(Float32Array.from(c.dy), c.shape);
        for (let step = 0; step < c.steps; step++) {
          const what = `${JSON.stringify(c.options)} step ${step}`;
          const y = reference.readSync!(ours.forward(x, { training: true }));
          const dx = reference.readSync!(ours.backward(dy));
          // q+ is counted on the GPU and read back: exact integers.
          deepEqual(got.stats[step], ours.lastStats, what);
          const [gotY, gotDx] = [got.y[step], got.dx[step]];
          let dropped = 0;
          for (let k = 0; k < dx.length; k++) {
            // The same units dropped, the kept ones scaled (s worked out in
            // float32 on the GPU when the counts stay there).
            equal(gotDx[k] === 0, dx[k] === 0, `${what}: unit ${k}`);
            for (const [a, b] of [[gotY[k], y[k]], [gotDx[k], dx[k]]]) {
              ok(
                Math.abs(a - b) <= 1e-6 * Math.abs(b),
                `${what}: ${a} vs ${b}`,
              );
            }
            if (dx[k] === 0) dropped++;
          }
          // The share dropped against p' (binomial, 5 standard deviations).
          const units = dx.length / ours.lastStats!.length;
          const mean = ours.lastStats!.reduce((m, u) => m + units * u.rate, 0);
          const sd = Math.sqrt(
            ours.lastStats!.reduce(
              (v, u) => v + units * u.rate * (1 - u.rate),
              0,
            ),
          );
          ok(
            Math.abs(dropped - mean) < 5 * sd,
            `${what}: ${dropped} dropped, expected ${mean}`,
          );
        }
      });
      // 10 epochs of 3 batches; the cross-entropy starts near ln 3 = 1.1.
      equal(result.fitSteps, 30);
      const [first, last] = [result.losses[0], result.losses.at(-1)!];
      ok(last < first / 2, `loss ${first} → ${last}`);
      equal(result.leaked, 0, `${result.leaked} tensors left behind`);
    },
  });
}
