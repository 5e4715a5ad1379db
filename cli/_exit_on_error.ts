/**
 * How the command line tools end on an error: one line on stderr that says
 * what failed, exit status 2 for a bad call and 1 for a failure, and no
 * stack trace unless `--debug` is given.
 *
 * @module
 */

/**
 * An error in how a tool was called (its options): the tool exits with
 * status 2.
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * The one line a tool prints for an error: its message with line breaks
 * folded, prefixed with `Cannot <verb>: ` unless it already says what could
 * not be done (the library's messages start with "Cannot").
 *
 * @param verb What the tool does, e.g. `"train"`.
 * @param error What was thrown.
 * @returns One line.
 *
 * @example A file error, then a library error that already says what failed
 * ```ts
 * import { errorLine } from "./_exit_on_error.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(
 *   errorLine("train", new Deno.errors.NotFound("No such file or directory: readfile 'a'")),
 *   "Cannot train: No such file or directory: readfile 'a'",
 * );
 * equal(errorLine("train", new RangeError("Cannot read idx file a:\n  bad magic")), "Cannot read idx file a: bad magic");
 * ```
 */
export function errorLine(verb: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.replace(/\s*\n\s*/g, " ").trim();
  return line.startsWith("Cannot ") ? line : `Cannot ${verb}: ${line}`;
}

/**
 * Makes any error the tool does not catch (thrown, or a rejected promise,
 * top-level `await` included) end the process with {@linkcode errorLine} on
 * stderr and exit status 2 for a {@linkcode UsageError} or an option that
 * `node:util`'s `parseArgs` refuses, 1 otherwise. With
 * `--debug` among `args`, the stack trace follows the line.
 *
 * @param verb What the tool does, e.g. `"train"`.
 * @param args The tool's arguments.
 *
 * @example At the top of a tool
 * ```ts ignore
 * import { exitOnError } from "./_exit_on_error.ts";
 *
 * exitOnError("train");
 * ```
 */
export function exitOnError(verb: string, args: readonly string[] = Deno.args) {
  const debug = args.includes("--debug");
  const end = (error: unknown, event: Event) => {
    event.preventDefault();
    console.error(errorLine(verb, error));
    if (debug && error instanceof Error && error.stack) {
      console.error(error.stack);
    }
    Deno.exit(isUsageError(error) ? 2 : 1);
  };
  globalThis.addEventListener(
    "error",
    (e) => end((e as ErrorEvent).error, e),
  );
  globalThis.addEventListener(
    "unhandledrejection",
    (e) => end((e as PromiseRejectionEvent).reason, e),
  );
}

/** Whether an error is in how the tool was called. */
function isUsageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return error instanceof UsageError ||
    (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
}
