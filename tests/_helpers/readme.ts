/** The README's code blocks, for tests that run them as printed. */

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
