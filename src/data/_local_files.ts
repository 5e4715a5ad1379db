/**
 * Local file access in Deno and in Node, for the data loaders: the library
 * otherwise needs no file system, so this is the one place that knows both.
 *
 * @module
 */

import { currentRuntime, nodeBuiltin } from "../_runtime.ts";

type NodeFs = typeof import("node:fs/promises");

/** Node's `process`, where there is one. */
const nodeProcess = (globalThis as { process?: { cwd(): string } }).process;

/**
 * The working directory.
 *
 * @returns Deno's or Node's working directory.
 * @throws {Error} In a runtime with neither (a browser).
 */
export function workingDirectory(): string {
  const runtime = currentRuntime();
  if (runtime === "deno") return Deno.cwd();
  if (runtime === "node" && nodeProcess !== undefined) {
    return nodeProcess.cwd();
  }
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
  if (currentRuntime() === "deno") return await Deno.readFile(path);
  const { readFile } = await nodeBuiltin<NodeFs>("node:fs/promises");
  return new Uint8Array(await readFile(path));
}

/**
 * Whether an error says there is no such file, in Deno or in Node.
 *
 * @param error What was thrown.
 * @returns True for Deno's `NotFound` and Node's `ENOENT`.
 */
export function isNotFound(error: unknown): boolean {
  if (currentRuntime() === "deno" && error instanceof Deno.errors.NotFound) {
    return true;
  }
  return errorCode(error) === "ENOENT";
}

/**
 * Whether a local directory exists, in Deno or in Node.
 *
 * @param path The directory.
 * @param unreadable What to answer when permissions forbid looking; other
 *   failures propagate.
 * @returns False where the runtime has no file system (a browser), too.
 *
 * @example The working directory is one; a file is not
 * ```ts
 * import { isLocalDirectory } from "./_local_files.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(await isLocalDirectory("."), true);
 * equal(await isLocalDirectory(new URL(import.meta.url)), false);
 * equal(await isLocalDirectory("./no/such/directory"), false);
 * ```
 */
export async function isLocalDirectory(
  path: string | URL,
  unreadable: "absent" | "throw" = "throw",
): Promise<boolean> {
  const runtime = currentRuntime();
  if (runtime === "web") return false;
  try {
    if (runtime === "deno") return (await Deno.stat(path)).isDirectory;
    const { stat } = await nodeBuiltin<NodeFs>("node:fs/promises");
    return (await stat(path)).isDirectory();
  } catch (error) {
    const notDirectory = runtime === "deno"
      ? error instanceof Deno.errors.NotADirectory
      : errorCode(error) === "ENOTDIR";
    if (isNotFound(error) || notDirectory) return false;
    const denied = runtime === "deno"
      ? error instanceof Deno.errors.NotCapable ||
        error instanceof Deno.errors.PermissionDenied
      : ["EACCES", "EPERM"].includes(errorCode(error) ?? "");
    if (denied && unreadable === "absent") return false;
    throw error;
  }
}

/** A Node system error's code, e.g. `ENOENT`. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
