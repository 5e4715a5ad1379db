/**
 * The demo page in headless Chromium: it trains the 784-512-512-10 network
 * on workers from the library bundle, on WebAssembly with shared memory and
 * with transferred buffers, and on WebGPU; and the server that serves it.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { bundle } from "../tools/bundle.ts";
import { startServer } from "../tools/serve.ts";
import {
  BROWSER_REQUIRED,
  chromiumProblem,
  launchChromium,
  webGpuAdapter,
} from "./_helpers/browser.ts";
import {
  demoState,
  runDemoPage,
  screenshot,
  waitForEnd,
  watchPage,
} from "./_helpers/browser_demo.ts";
import type { BrowserContext } from "playwright-core";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SCREENSHOTS = join(ROOT, "out/test/browser");

/** One run of the page. */
interface Case {
  name: string;
  backend: "wasm" | "webgpu";
  workers: number;
  /** Whether the server sends the cross-origin isolation headers. */
  isolation: boolean;
  /** The transport the trainer must pick. */
  transport: "shared" | "transfer" | "none";
  steps: number;
  batch: number;
}

// Few steps of small batches keep each run well under a minute on two
// cores (WebGPU runs on Chromium's software adapter, hence fewer steps);
// the network keeps its full 784-512-512-10 size.
const CASES: Case[] = [
  {
    name: "wasm-shared",
    backend: "wasm",
    workers: 2,
    isolation: true,
    transport: "shared",
    steps: 100,
    batch: 32,
  },
  {
    name: "wasm-transfer",
    backend: "wasm",
    workers: 2,
    isolation: false,
    transport: "transfer",
    steps: 100,
    batch: 32,
  },
  {
    name: "webgpu",
    backend: "webgpu",
    workers: 1,
    isolation: true,
    transport: "none",
    steps: 40,
    batch: 32,
  },
];

/** Test rows the page evaluates on, before and after training. */
const TEST_ROWS = 500;
/** Losses averaged at each end of the run to see it fall. */
const ENDS = 8;
/** How long one run may take before the test fails. */
const RUN_TIMEOUT_MS = 90_000;

const browserProblem = await chromiumProblem();
const gpuProblem = browserProblem ?? await webGpuProblem();

/**
 * Why the WebGPU case cannot run in this browser, if it cannot; under
 * CI=true a missing adapter throws instead.
 */
async function webGpuProblem(): Promise<string | undefined> {
  const web = join(ROOT, "web");
  const server = await startServer({ port: 0, webDir: web, distDir: web });
  const browser = await launchChromium();
  try {
    const adapter = await webGpuAdapter(browser.context, server.url);
    if (adapter !== undefined) return undefined;
  } finally {
    await browser.close();
    await server.shutdown();
  }
  const problem = "Chromium offers no WebGPU adapter here";
  if (BROWSER_REQUIRED) throw new Error(`CI=true but ${problem}`);
  console.warn(
    `The WebGPU browser test is ignored: ${problem} (CI=true makes this a failure)`,
  );
  return problem;
}

/**
 * Runs `fn` with the demo served from a fresh bundle (in a temporary
 * directory, so a bundle being rebuilt elsewhere is never half-read) and a
 * browser; closes both and deletes the bundle afterwards.
 */
async function withDemo(
  options: { isolation: boolean; webgpu?: boolean },
  fn: (url: string, context: BrowserContext) => Promise<void>,
): Promise<void> {
  const dist = await Deno.makeTempDir({ prefix: "jumpout-dist-" });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    await bundle({ outDir: dist, demo: true, types: false });
    server = await startServer({
      port: 0,
      isolation: options.isolation,
      distDir: dist,
    });
    browser = await launchChromium({ webgpu: options.webgpu });
    await fn(server.url, browser.context);
  } finally {
    await browser?.close();
    await server?.shutdown();
    await Deno.remove(dist, { recursive: true });
  }
}

const mean = (xs: readonly number[]) =>
  xs.reduce((a, b) => a + b, 0) / xs.length;

for (const c of CASES) {
  Deno.test({
    name:
      `demo page trains in Chromium: ${c.name} (${c.backend}, ${c.workers} worker${
        c.workers === 1 ? "" : "s"
      }, ${c.transport} transport)`,
    ignore: c.backend === "webgpu"
      ? gpuProblem !== undefined
      : browserProblem !== undefined,
    fn: () =>
      withDemo({ isolation: c.isolation }, async (url, context) => {
        const query = new URLSearchParams({
          backend: c.backend,
          workers: String(c.workers),
          steps: String(c.steps),
          batch: String(c.batch),
          test: String(TEST_ROWS),
          eval: String(c.steps),
          seed: "1",
          autostart: "1",
        });
        const run = await runDemoPage(
          context,
          `${url}?${query}`,
          join(SCREENSHOTS, `${c.name}.png`),
          RUN_TIMEOUT_MS,
        );
        const s = run.state;
        console.log(
          `${c.name}: ${run.seconds.toFixed(1)} s in the page (${
            (s.elapsedMs / 1000).toFixed(1)
          } s training), loss ${mean(s.losses.slice(0, ENDS)).toFixed(3)} → ${
            mean(s.losses.slice(-ENDS)).toFixed(3)
          }, test accuracy ${s.testAccuracies[0]?.toFixed(3)} → ${
            s.testAccuracies.at(-1)?.toFixed(3)
          }`,
        );
        deepEqual(run.problems, []);
        equal(s.status, "done", `the run failed: ${s.error}`);
        equal(s.steps, c.steps);
        equal(s.backend, c.backend);
        equal(s.workers, c.workers);
        equal(s.crossOriginIsolated, c.isolation);
        equal(s.transport, c.transport);

        // The loss must fall: the mean of the last ENDS batch losses at least
        // 0.3 nats below that of the first ENDS (it starts near ln 10 ≈ 2.3;
        // batches of 32 make single losses noisy, hence the averages).
        equal(s.losses.length, c.steps);
        const first = mean(s.losses.slice(0, ENDS));
        const last = mean(s.losses.slice(-ENDS));
        ok(last < first - 0.3, `loss must fall by 0.3: ${first} → ${last}`);

        // Test accuracy on the 500 test rows: before training (step 0) and
        // after the last step. It must rise, and end at least 0.2 above
        // chance (0.1), a margin of 100 rows.
        deepEqual(s.testSteps, [0, c.steps]);
        const [before, after] = s.testAccuracies;
        ok(after > before, `test accuracy must rise: ${before} → ${after}`);
        ok(
          after > 0.3,
          `test accuracy must beat chance (0.1) by 0.2: ${after}`,
        );

        // The table: both Jumpout layers, their rates within the paper's
        // bounds (pMin 0.01, pMax 0.6, both as float32, the rates' type), q+
        // a share of active units.
        const [pMin, pMax] = [Math.fround(0.01), Math.fround(0.6)];
        deepEqual(s.jumpout.map((r) => [r.layer, r.name]), [
          [2, "Jumpout"],
          [5, "Jumpout"],
        ]);
        for (const r of s.jumpout) {
          ok(r.p >= pMin && r.p <= pMax, `p in [0.01, 0.6]: ${r.p}`);
          ok(r.qPlus > 0 && r.qPlus <= 1, `q+ in (0, 1]: ${r.qPlus}`);
          ok(r.rate >= r.p && r.rate <= pMax, `p' in [p, 0.6]: ${r.rate}`);
        }

        // The grid: one image of each class, each with a prediction.
        deepEqual(
          s.predictions.map((p) => p.label),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        );
        ok(s.predictions.every((p) => p.predicted >= 0 && p.predicted < 10));
        ok((await Deno.stat(join(SCREENSHOTS, `${c.name}.png`))).size > 0);
      }),
  });
}

Deno.test({
  name: "demo page: Start and Stop from the labelled controls",
  ignore: browserProblem !== undefined,
  fn: () =>
    withDemo({ isolation: true }, async (url, context) => {
      const page = await context.newPage();
      const problems = watchPage(page);
      try {
        await page.goto(url);
        const button = page.locator("#start");
        await page.waitForFunction(() =>
          !document.querySelector<HTMLButtonElement>("#start")!.disabled
        );
        // Reached by their labels, as assistive technology reaches them.
        await page.getByLabel("Backend", { exact: true }).selectOption("wasm");
        await page.getByLabel("Steps", { exact: true }).fill("100000");
        await page.getByLabel("Batch size", { exact: true }).fill("16");
        await page.getByLabel("Workers", { exact: true }).fill("2");
        equal(await button.textContent(), "Start");
        await button.click();
        await page.waitForFunction(() =>
          (globalThis.jumpoutDemo?.steps ?? 0) >= 3
        );
        equal(await button.textContent(), "Stop");
        ok(await page.getByLabel("Steps", { exact: true }).isDisabled());
        await button.click();
        await waitForEnd(page, RUN_TIMEOUT_MS, problems);
        const s = await demoState(page);
        equal(s.status, "done", `the run failed: ${s.error}`);
        ok(s.stopped, "the run must say it was stopped");
        ok(s.steps >= 3 && s.steps < 100, `stopped early: ${s.steps} steps`);
        equal(s.settings.batchSize, 16);
        equal(s.losses.length, s.steps);
        // The test curve ends where training stopped.
        equal(s.testSteps.at(-1), s.steps);
        equal(await button.textContent(), "Start");
        ok(await page.getByLabel("Steps", { exact: true }).isEnabled());
        await screenshot(page, join(SCREENSHOTS, "stopped.png"));
        deepEqual(problems, []);
      } finally {
        await page.close();
      }
    }),
});

Deno.test({
  name: "demo page without WebGPU: the option is off and a webgpu run refuses",
  ignore: browserProblem !== undefined,
  fn: () =>
    withDemo({ isolation: true, webgpu: false }, async (url, context) => {
      const run = await runDemoPage(
        context,
        `${url}?backend=webgpu&autostart=1`,
        join(SCREENSHOTS, "no-webgpu.png"),
        RUN_TIMEOUT_MS,
      );
      equal(run.state.status, "error");
      ok(/needs a WebGPU adapter/.test(run.state.error ?? ""), run.state.error);
      equal(run.state.steps, 0);
      deepEqual(run.problems, []);
    }),
});

Deno.test("demo server: content types, isolation headers, nothing outside its folders", async () => {
  const web = await Deno.makeTempDir({ prefix: "jumpout-web-" });
  const dist = await Deno.makeTempDir({ prefix: "jumpout-dist-" });
  const outside = await Deno.makeTempDir({ prefix: "jumpout-outside-" });
  await Deno.writeTextFile(join(web, "index.html"), "<!doctype html>");
  await Deno.writeTextFile(join(web, "style.css"), "p {}");
  await Deno.writeTextFile(join(outside, "secret.txt"), "secret");
  await Deno.symlink(join(outside, "secret.txt"), join(web, "link.txt"));
  await Deno.mkdir(join(dist, "data"));
  await Deno.writeTextFile(join(dist, "demo.js"), "export {};");
  await Deno.writeTextFile(join(dist, "demo.js.map"), "{}");
  await Deno.writeFile(join(dist, "kernels.wasm"), new Uint8Array([0, 97]));
  await Deno.writeFile(join(dist, "data/x.gz"), new Uint8Array([31, 139]));
  await Deno.writeTextFile(join(dist, "chart.svg"), "<svg/>");
  const servers = [
    await startServer({ port: 0, webDir: web, distDir: dist }),
    await startServer({
      port: 0,
      webDir: web,
      distDir: dist,
      isolation: false,
    }),
  ];
  const get = async (base: string, path: string, method = "GET") => {
    // Sent as written: `fetch` would resolve `..` before sending.
    const response = await fetch(`${base}${path.replace(/^\//, "")}`, {
      method,
    });
    const body = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body };
  };
  try {
    const [isolated, open] = servers.map((s) => s.url);
    const types: [string, string][] = [
      ["/", "text/html; charset=utf-8"],
      ["/style.css", "text/css; charset=utf-8"],
      ["/dist/demo.js", "text/javascript; charset=utf-8"],
      ["/dist/demo.js.map", "application/json; charset=utf-8"],
      ["/dist/kernels.wasm", "application/wasm"],
      ["/dist/data/x.gz", "application/octet-stream"],
      ["/dist/chart.svg", "image/svg+xml"],
    ];
    for (const [path, type] of types) {
      const r = await get(isolated, path);
      equal(r.status, 200, path);
      equal(r.headers.get("content-type"), type, path);
      equal(r.headers.get("content-encoding"), null, path);
      equal(r.headers.get("cross-origin-opener-policy"), "same-origin");
      equal(r.headers.get("cross-origin-embedder-policy"), "require-corp");
      equal(r.headers.get("cross-origin-resource-policy"), "same-origin");
    }
    // The gzipped file arrives as its bytes, not unpacked.
    deepEqual([...(await get(isolated, "/dist/data/x.gz")).body], [31, 139]);
    const plain = await get(open, "/");
    equal(plain.status, 200);
    equal(plain.headers.get("cross-origin-opener-policy"), null);
    equal(plain.headers.get("cross-origin-embedder-policy"), null);
    for (
      const path of [
        "/missing.js",
        "/dist/..%2f..%2fetc%2fpasswd",
        "/..%2fsecret.txt",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/link.txt",
        "/dist/",
        "/bad%zz",
      ]
    ) {
      equal((await get(isolated, path)).status, 404, path);
    }
    const head = await get(isolated, "/dist/demo.js", "HEAD");
    equal(head.status, 200);
    equal(head.body.length, 0);
    equal((await get(isolated, "/", "POST")).status, 405);
  } finally {
    for (const server of servers) await server.shutdown();
    for (const dir of [web, dist, outside]) {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
