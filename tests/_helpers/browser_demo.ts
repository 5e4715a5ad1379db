/**
 * Test helpers: the demo page in a browser, everything that goes wrong on
 * it, and one run of it from its address's query to the end.
 */
import { dirname } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import type { DemoState } from "../../web/demo_state.ts";

/**
 * Records what goes wrong on a page from now on: console errors (its
 * workers' included), uncaught errors, failed requests and responses of
 * 400 and above.
 *
 * @param page The page.
 * @returns The list the problems are appended to, as they come.
 */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const { url, lineNumber } = message.location();
    const source = message.worker() === null ? "page" : "worker";
    problems.push(
      `console.error in ${source}: ${message.text()} (${url}:${lineNumber})`,
    );
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.stack}`));
  page.on("requestfailed", (request) =>
    problems.push(
      `request failed: ${request.url()} (${request.failure()?.errorText})`,
    ));
  page.on("response", (response) => {
    if (response.status() >= 400) {
      problems.push(`HTTP ${response.status()}: ${response.url()}`);
    }
  });
  return problems;
}

/**
 * The page's run state, copied out (NaN reads as null).
 *
 * @param page The demo page.
 * @returns `globalThis.jumpoutDemo`.
 */
export async function demoState(page: Page): Promise<DemoState> {
  return await page.evaluate(() =>
    JSON.parse(JSON.stringify(globalThis.jumpoutDemo))
  ) as DemoState;
}

/**
 * Waits until the page's run is done or failed.
 *
 * @param page The demo page.
 * @param timeoutMs How long the run may take.
 * @param problems The page's problems, for the message.
 * @throws {Error} When the run does not end in time; the message holds the
 *   state it had reached and the page's problems.
 */
export async function waitForEnd(
  page: Page,
  timeoutMs: number,
  problems: readonly string[],
): Promise<void> {
  try {
    await page.waitForFunction(
      () => ["done", "error"].includes(globalThis.jumpoutDemo?.status ?? ""),
      undefined,
      { timeout: timeoutMs, polling: 200 },
    );
  } catch (error) {
    const state = await page.evaluate(() =>
      JSON.stringify(globalThis.jumpoutDemo)
    ).catch(() => "unreadable");
    throw new Error(
      `The demo did not finish within ${timeoutMs} ms; its state: ${state}; problems: ${
        JSON.stringify(problems)
      }`,
      { cause: error },
    );
  }
}

/**
 * Saves a screenshot of the whole page, making its directory.
 *
 * @param page The page.
 * @param path Where the PNG goes.
 */
export async function screenshot(page: Page, path: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
}

/** What one run of the page gave. */
export interface DemoPageRun {
  /** `globalThis.jumpoutDemo` at the end. */
  state: DemoState;
  /** Everything that went wrong on the page (see {@linkcode watchPage}). */
  problems: string[];
  /** Seconds from loading the page to the end of the run. */
  seconds: number;
}

/**
 * Opens `url`, waits until the run its query starts is done or failed,
 * and saves a screenshot of the whole page (also when the run times out,
 * to show where it stood).
 *
 * @param context The browser.
 * @param url The page's address with its query, e.g. `…/?backend=wasm&autostart=1`.
 * @param path Where the screenshot goes.
 * @param timeoutMs How long the run may take.
 * @returns The run.
 * @throws {Error} When the run does not end in time.
 */
export async function runDemoPage(
  context: BrowserContext,
  url: string,
  path: string,
  timeoutMs: number,
): Promise<DemoPageRun> {
  const page = await context.newPage();
  const problems = watchPage(page);
  const started = performance.now();
  try {
    await page.goto(url);
    await waitForEnd(page, timeoutMs, problems);
    const seconds = (performance.now() - started) / 1000;
    return { state: await demoState(page), problems, seconds };
  } finally {
    await screenshot(page, path).catch((error) =>
      problems.push(`screenshot failed: ${error}`)
    );
    await page.close();
  }
}
