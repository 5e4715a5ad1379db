/** The README's code blocks, for tests that run them as printed. */
import { equal } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const README = new URL("../../README.md", import.meta.url);

/**
 * The first fenced block of a language after a heading of the README.
 *
 * @param heading The heading line, e.g. `### Deno`.
 * @param language The fence's language, e.g. `ts`.
 * @returns The block's text, without the fences.
 * @throws {Error} When the heading or the block is missing.
 */
export async function readmeBlock(
  heading: string,
  language: string,
): Promise<string> {
  const text = await Deno.readTextFile(README);
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no heading "${heading}"`);
  const open = text.indexOf(`\n\`\`\`${language}\n`, start);
  const next = text.indexOf("\n#", start + heading.length + 2);
  if (open < 0 || (next >= 0 && open > next)) {
    throw new Error(`README.md has no ${language} block under "${heading}"`);
  }
  const body = open + language.length + 5;
  return text.slice(body, text.indexOf("\n```", body) + 1);
}

/** Options of {@linkcode runReadmeExample}. */
export interface ReadmeExampleOptions {
  /** Changes the code before it runs, after the package's name is swapped. */
  edit?: (code: string) => string;
  /** More environment variables for the run. */
  env?: Record<string, string>;
}

/**
 * Runs the first `ts` block after a heading of the README with Deno, from a
 * temporary directory, the package's entries swapped for the source's
 * `mod.ts` and `tfjs.ts` and the repository's `deno.json` as its
 * configuration.
 *
 * @param heading The heading line, e.g. `### Residual networks`.
 * @param options `{ edit, env }`.
 * @returns What it printed, once it exited with 0.
 * @throws {AssertionError} When it exits otherwise, with its stderr.
 */
export async function runReadmeExample(
  heading: string,
  options: ReadmeExampleOptions = {},
): Promise<string> {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const { edit = (code: string) => code, env = {} } = options;
  const code = edit(
    (await readmeBlock(heading, "ts"))
      .replace('"@jumpout/jumpout"', JSON.stringify(join(root, "mod.ts")))
      .replace(
        '"@jumpout/jumpout/tfjs"',
        JSON.stringify(join(root, "tfjs.ts")),
      ),
  );
  const dir = await Deno.makeTempDir({ prefix: "jumpout-readme-" });
  try {
    await Deno.writeTextFile(join(dir, "example.ts"), code);
    const { code: exit, stdout, stderr } = await new Deno.Command(
      Deno.execPath(),
      {
        args: [
          "run",
          "-A",
          "--config",
          join(root, "deno.json"),
          join(dir, "example.ts"),
        ],
        env: { ...env, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      },
    ).output();
    equal(exit, 0, new TextDecoder().decode(stderr));
    return new TextDecoder().decode(stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
