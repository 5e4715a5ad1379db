/**
 * The command line tools end on bad options, missing or corrupt files alike
 * with one line that names the option or file and the problem, exit status
 * 2 for a bad call and 1 for a failure, and no stack trace unless `--debug`.
 */
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

/** What a tool printed on stderr, and its exit status. */
async function run(script: string, args: string[]) {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

/** An idx file of unsigned bytes: the magic, the dimensions, then zeros. */
function idx(dims: number[]): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, 0x0800 + dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d));
  const bytes = new Uint8Array(
    header.byteLength + dims.reduce((a, b) => a * b),
  );
  bytes.set(new Uint8Array(header.buffer));
  return bytes;
}

/** A folder of Fashion-MNIST files whose training labels are not idx. */
async function corruptData(): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const split of ["train", "t10k"]) {
    await Deno.writeFile(
      join(dir, `${split}-images-idx3-ubyte`),
      idx([2, 28, 28]),
    );
    await Deno.writeFile(join(dir, `${split}-labels-idx1-ubyte`), idx([2]));
  }
  await Deno.writeTextFile(join(dir, "train-labels-idx1-ubyte"), "garbage");
  return dir;
}

/** Throws unless `stderr` is the one line `expected` matches. */
function assertOneLine(stderr: string, expected: RegExp) {
  const lines = stderr.trim().split("\n");
  equal(lines.length, 1, `one line, got:\n${stderr}`);
  match(lines[0], expected);
}

Deno.test("train and reproduce: a missing --data folder is one line, exit 1", async () => {
  for (const script of ["cli/train.ts", "cli/reproduce.ts"]) {
    const out = await Deno.makeTempDir();
    const { code, stderr } = await run(script, [
      "--data",
      "/nonexistent/dir",
      "--out",
      out,
    ]);
    equal(code, 1, script);
    assertOneLine(
      stderr,
      /^Cannot load Fashion-MNIST: dir must be an existing directory, got \/nonexistent\/dir\/$/,
    );
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("train: a corrupt label file is one line naming it, exit 1; --debug adds the stack", async () => {
  const dir = await corruptData();
  const out = await Deno.makeTempDir();
  try {
    const plain = await run("cli/train.ts", ["--data", dir, "--out", out]);
    equal(plain.code, 1);
    assertOneLine(
      plain.stderr,
      new RegExp(
        `^Cannot read idx file ${dir}/train-labels-idx1-ubyte: the magic`,
      ),
    );
    const debug = await run("cli/train.ts", [
      "--data",
      dir,
      "--out",
      out,
      "--debug",
    ]);
    equal(debug.code, 1);
    ok(debug.stderr.startsWith(plain.stderr), debug.stderr);
    match(debug.stderr, /\n\s+at .*idx\.ts/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("serve and the benchmarks: bad options are one line, exit 2", async () => {
  const cases: [string, string[], RegExp][] = [
    ["tools/serve.ts", ["--bogus"], /^Cannot serve: Unknown option '--bogus'/],
    ["tools/serve.ts", ["--port", "x"], /--port must be an integer/],
    [
      "bench/qplus_scope.ts",
      ["--workers", "x"],
      /^Cannot compare the q\+ scopes: --workers must be an integer >= 1, got x$/,
    ],
  ];
  for (const [script, args, expected] of cases) {
    const { code, stderr } = await run(script, args);
    equal(code, 2, `${script} ${args.join(" ")}`);
    assertOneLine(stderr, expected);
  }
});
