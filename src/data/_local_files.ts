/**
 * Local file access in Deno and in Node, for the data loaders: the library
 * otherwise needs no file system, so this is the one place that knows both.
 *
 * @module
 */

/** Node's `process`, where there is one. */
const nodeProcess = (globalThis as { process?: { cwd(): string } }).process;

/**
 * The working directory.
 *
 * @returns Deno's or Node's working directory.
 * @throws {Error} In a runtime with neither (a browser).
 */
export function workingDirectory(): string {
  if (typeof Deno !== "undefined") return Deno.cwd();
  if (nodeProcess !== undefined) return nodeProcess.cwd();
  throw new Error(
    "Cannot resolve a relative path: the runtime must have a working directory (Deno or Node), got none",
  );
}

/**
 * A local file's bytes.
 *
 * @param path The file, as a path or a `file:` URL.
 * @returns Its bytes.
 * @throws {Error} As Deno or Node throws it (see {@linkcode isNotFound}).
 */
export async function readLocalFile(path: string | URL): Promise<Uint8Array> {
  if (typeof Deno !== "undefined") return await Deno.readFile(path);
  // A specifier in a variable, so that bundlers for browsers leave it alone.
  const fsModule = "node:fs/promises";
  const { readFile } = await import(
    /* webpackIgnore: true */ /* @vite-ignore */ fsModule
  ) as typeof import("node:fs/promises");
  return new Uint8Array(await readFile(path));
}

/**
 * Whether an error says there is no such file, in Deno or in Node.
 *
 * @param error What was thrown.
 * @returns True for Deno's `NotFound` and Node's `ENOENT`.
 */
export function isNotFound(error: unknown): boolean {
  if (typeof Deno !== "undefined" && error instanceof Deno.errors.NotFound) {
    return true;
  }
  return (error as { code?: unknown } | null)?.code === "ENOENT";
}
