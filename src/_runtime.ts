/**
 * Which JavaScript runtime the library runs in, and Node's built-in modules
 * where that is Node: the one place that tells Deno, Node and the web apart.
 *
 * @module
 */

/**
 * The runtimes the library tells apart: Deno, Node (and runtimes that
 * present themselves as Node), and the web (browsers, edge runtimes), which
 * has only web APIs.
 */
export type Runtime = "deno" | "node" | "web";

/**
 * The runtime this code runs in. Deno is looked for first: it also has a
 * `process` that names a Node version.
 *
 * @returns `deno`, `node` or `web`.
 *
 * @example In Deno
 * ```ts
 * import { currentRuntime } from "./_runtime.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(currentRuntime(), "deno");
 * ```
 */
export function currentRuntime(): Runtime {
  const g = globalThis as {
    Deno?: unknown;
    process?: { versions?: { node?: unknown } };
  };
  if (g.Deno !== undefined) return "deno";
  if (typeof g.process?.versions?.node === "string") return "node";
  return "web";
}

/**
 * One of Node's built-in modules, imported when first needed, so that code
 * for every runtime can name it and bundlers for browsers leave it alone.
 * Deno has them too.
 *
 * @param specifier The module, e.g. `node:worker_threads`.
 * @returns The module's namespace, typed by the caller.
 * @throws {Error} Where the runtime has no such module (a browser).
 *
 * @example Node's path module
 * ```ts
 * import { nodeBuiltin } from "./_runtime.ts";
 * import { equal } from "node:assert/strict";
 *
 * const path = await nodeBuiltin<typeof import("node:path")>("node:path");
 * equal(path.join("a", "b"), "a/b");
 * ```
 */
export async function nodeBuiltin<T>(specifier: `node:${string}`): Promise<T> {
  // A specifier in a variable, so that bundlers for browsers leave it alone.
  const name: string = specifier;
  return await import(/* webpackIgnore: true */ /* @vite-ignore */ name) as T;
}

/**
 * How many threads the machine runs at once: `navigator.hardwareConcurrency`
 * where there is one, Node's `os.availableParallelism()` in a Node without it
 * (before 21), else 1.
 *
 * @returns A count of at least 1.
 *
 * @example
 * ```ts
 * import { hardwareConcurrency } from "./_runtime.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(await hardwareConcurrency() >= 1);
 * ```
 */
export async function hardwareConcurrency(): Promise<number> {
  const count = globalThis.navigator?.hardwareConcurrency;
  if (count !== undefined) return count;
  if (currentRuntime() !== "node") return 1;
  const os = await nodeBuiltin<typeof import("node:os")>("node:os");
  return os.availableParallelism();
}
