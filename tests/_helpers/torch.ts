/**
 * Test helpers: PyTorch through the system's Python (Debian's python3-torch
 * under `/usr/bin/python3`, never a `python3` that comes first on PATH), and
 * the policy when it is missing: the tests fail under CI=true and are ignored
 * with a printed reason elsewhere.
 */

/** Where Debian's python3 (and with python3-torch, torch) lives. */
export const PYTHON_PATH = "/usr/bin/python3";

/** Whether PyTorch tests must run (CI), rather than be ignored with a message. */
export const TORCH_REQUIRED = Deno.env.get("CI") === "true";

/**
 * Why PyTorch tests cannot run here, or `undefined` when they can. Under
 * CI=true a missing PyTorch throws instead, so the test module fails to load
 * rather than skipping.
 *
 * @returns The reason to ignore the tests.
 */
export async function torchProblem(): Promise<string | undefined> {
  let problem: string | undefined;
  try {
    const { code, stderr } = await new Deno.Command(PYTHON_PATH, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      const last = new TextDecoder().decode(stderr).trim().split("\n").at(-1);
      problem = `${PYTHON_PATH} cannot import torch (Debian package ` +
        `python3-torch): ${last}`;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    problem = `no Python at ${PYTHON_PATH} (Debian package python3-torch)`;
  }
  if (problem !== undefined && TORCH_REQUIRED) {
    throw new Error(`CI=true but PyTorch tests cannot run: ${problem}`);
  }
  if (problem !== undefined) {
    console.warn(
      `PyTorch tests are ignored: ${problem} (CI=true makes this a failure)`,
    );
  }
  return problem;
}

/**
 * Runs a Python script under {@linkcode PYTHON_PATH} with `input` as JSON on
 * its stdin.
 *
 * @param script The program, which prints one JSON value.
 * @param input What it reads from stdin, as JSON.
 * @returns What it printed, parsed.
 * @throws {Error} When it exits with an error; the message holds its stderr.
 */
export async function runPython(
  script: string,
  input: unknown,
): Promise<unknown> {
  const child = new Deno.Command(PYTHON_PATH, {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(
      `${PYTHON_PATH} exited with ${code}: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** The folder holding the `jumpout_torch` package, for Python's sys.path. */
export const PACKAGE_PATH = new URL("../../python", import.meta.url).pathname;

/**
 * The greatest difference between `actual` and `expected` over the greatest
 * magnitude in `expected`: the relative error of a whole output.
 *
 * @param actual Values computed here.
 * @param expected PyTorch's.
 * @returns The relative difference (Infinity when the lengths differ).
 */
export function relativeDifference(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}
