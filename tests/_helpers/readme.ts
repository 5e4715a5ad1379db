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

/** A fenced block of the README: the heading above it and its language. */
export interface ReadmeBlockPlace {
  /** The nearest heading line above it, e.g. `### Deno`. */
  heading: string;
  /** The fence's language, e.g. `ts`. */
  language: string;
}

/**
 * Every fenced block of the README in the given languages, with the heading
 * it sits under.
 *
 * @param languages The fences' languages to list, e.g. `["ts", "js"]`.
 * @returns The blocks in order.
 */
export async function readmeBlocks(
  languages: readonly string[],
): Promise<ReadmeBlockPlace[]> {
  const places: ReadmeBlockPlace[] = [];
  let heading = "";
  let inside = false;
  for (const line of (await Deno.readTextFile(README)).split("\n")) {
    if (line.startsWith("```")) {
      const language = line.slice(3).trim();
      if (!inside && languages.includes(language)) {
        places.push({ heading, language });
      }
      inside = !inside;
    } else if (!inside && line.startsWith("#")) {
      heading = line;
    }
  }
  return places;
}

/** Options of {@linkcode runReadmeExample}. */
export interface ReadmeExampleOptions {
  /** The block's language: `ts` (default) or `js`. */
  language?: "ts" | "js";
  /** Changes the code before it runs, after the package's name is swapped. */
  edit?: (code: string) => string;
  /** More environment variables for the run. */
  env?: Record<string, string>;
}

/**
 * Runs the first `ts` (or `js`) block after a heading of the README with
 * Deno, in a temporary directory (also its working directory, so files it
 * writes land there), the package's entries swapped for the source's `mod.ts`
 * and `tfjs.ts` and the repository's `deno.json` as its configuration.
 *
 * @param heading The heading line, e.g. `### Residual networks`.
 * @param options `{ language, edit, env }`.
 * @returns What it printed, once it exited with 0.
 * @throws {AssertionError} When it exits otherwise, with its stderr.
 */
export async function runReadmeExample(
  heading: string,
  options: ReadmeExampleOptions = {},
): Promise<string> {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const { language = "ts", edit = (code: string) => code, env = {} } = options;
  const code = edit(
    (await readmeBlock(heading, language))
      .replace('"@jumpout/jumpout"', JSON.stringify(join(root, "mod.ts")))
      .replace(
        '"@jumpout/jumpout/tfjs"',
        JSON.stringify(join(root, "tfjs.ts")),
      ),
  );
  const dir = await Deno.makeTempDir({ prefix: "jumpout-readme-" });
  try {
    const file = join(dir, `example.${language}`);
    await Deno.writeTextFile(file, code);
    const { code: exit, stdout, stderr } = await new Deno.Command(
      Deno.execPath(),
      {
        args: [
          "run",
          "-A",
          "--config",
          join(root, "deno.json"),
          file,
        ],
        cwd: dir,
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

/**
 * The lines of the walkthrough's output that every runtime prints alike: each
 * epoch's loss and validation accuracy, the test accuracy and the prediction
 * (not the summary table or arrays, which runtimes format differently).
 *
 * @param out What the walkthrough printed.
 * @returns Those lines, in order.
 */
export function walkthroughLines(out: string): string[] {
  return out.split("\n").filter((line) =>
    /^(epoch \d+: |test accuracy: |predicted )/.test(line)
  );
}
