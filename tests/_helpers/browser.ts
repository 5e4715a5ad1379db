/**
 * Test helpers: headless Chromium (the system's, never a downloaded one)
 * driven by playwright-core, and the policy when it is missing: the tests
 * fail under CI=true and are ignored with a printed reason elsewhere.
 */
import { chromium } from "playwright-core";
import type { BrowserContext } from "playwright-core";

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Whether browser tests must run (CI), rather than be ignored with a message. */
export const BROWSER_REQUIRED = Deno.env.get("CI") === "true";

/**
 * The switches Chromium runs with. The network is closed, so everything
 * that would reach out (updates, sync, field trials, QUIC) is off.
 * `--enable-unsafe-webgpu` exposes WebGPU on Linux, where it is still behind
 * a flag; without a GPU, Chromium then offers its SwiftShader (software
 * Vulkan) adapter, which needs no other switch.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--enable-unsafe-webgpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--disable-default-apps",
  "--disable-extensions",
  "--no-first-run",
  "--no-default-browser-check",
  "--metrics-recording-only",
];

/**
 * Why the browser tests cannot run here, or `undefined` when they can.
 * Under CI=true a missing browser throws instead, so the test module fails
 * to load rather than skipping.
 *
 * @returns The reason to ignore the tests.
 */
export async function chromiumProblem(): Promise<string | undefined> {
  let problem: string | undefined;
  try {
    const info = await Deno.stat(CHROMIUM_PATH);
    if (!info.isFile) problem = `${CHROMIUM_PATH} is not a file`;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    problem = `no Chromium at ${CHROMIUM_PATH} (Debian package chromium)`;
  }
  if (problem !== undefined && BROWSER_REQUIRED) {
    throw new Error(`CI=true but browser tests cannot run: ${problem}`);
  }
  if (problem !== undefined) {
    console.warn(
      `Browser tests are ignored: ${problem} (CI=true makes this a failure)`,
    );
  }
  return problem;
}

/** A running browser and the profile it writes to. */
export interface LaunchedBrowser {
  /** The browser's one context, with its first page open. */
  context: BrowserContext;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh profile in a temporary directory.
 * The sandbox is off when running as root, where Chromium refuses it.
 *
 * @param options `webgpu: false` leaves WebGPU off, as browsers ship it on
 *   Linux. Default true.
 * @returns The browser.
 */
export async function launchChromium(
  options: { webgpu?: boolean } = {},
): Promise<LaunchedBrowser> {
  const webgpu = options.webgpu ?? true;
  const profile = await Deno.makeTempDir({ prefix: "jumpout-chromium-" });
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      chromiumSandbox: Deno.uid() !== 0,
      args: CHROMIUM_ARGS.filter((a) =>
        webgpu || a !== "--enable-unsafe-webgpu"
      ),
      viewport: { width: 1100, height: 1500 },
      timeout: 30_000,
    });
    return {
      context,
      close: async () => {
        try {
          await context.close();
        } finally {
          await Deno.remove(profile, { recursive: true });
        }
      },
    };
  } catch (error) {
    await Deno.remove(profile, { recursive: true });
    throw error;
  }
}

/**
 * Whether the browser offers WebGPU on a page served from `url` (a secure
 * context): the adapter's description, or `undefined` when there is none.
 *
 * @param context The browser.
 * @param url A page of the server.
 * @returns e.g. `google swiftshader (fallback)`.
 */
export async function webGpuAdapter(
  context: BrowserContext,
  url: string,
): Promise<string | undefined> {
  const page = await context.newPage();
  try {
    await page.goto(url);
    return await page.evaluate(async () => {
      const adapter = await navigator.gpu?.requestAdapter();
      if (!adapter) return undefined;
      const { vendor, architecture, isFallbackAdapter } = adapter.info;
      return `${vendor} ${architecture}${
        isFallbackAdapter ? " (fallback)" : ""
      }`;
    });
  } finally {
    await page.close();
  }
}
