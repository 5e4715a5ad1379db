/**
 * The JSR package: `deno publish --dry-run` accepts it (exports, no slow
 * types), ships what the library loads at run time (the worker, the embedded
 * data) and nothing of the repository's tooling, and `deno doc --lint`
 * finds every export documented.
 */
import { equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Runs deno with arguments in the repository, returning exit code and output. */
async function deno(args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout) + text.decode(stderr) };
}

Deno.test("deno publish --dry-run: passes, with the worker and the data, without tests or tools", async () => {
  const { code, out } = await deno(["publish", "--dry-run", "--allow-dirty"]);
  equal(code, 0, out);
  ok(out.includes("Dry run complete"), out);
  // Each listed file is a line: its URL under the repository, then a size.
  const root = new URL("../", import.meta.url).href;
  const files = out.split("\n").map((line) => line.trim().split(" ")[0])
    .filter((url) => url.startsWith(root)).map((url) => url.slice(root.length));
  for (
    const want of [
      "mod.ts",
      "tfjs.ts",
      "src/layers/jumpout.ts",
      "src/tfjs/jumpout_layer.ts",
      "src/backends/_wasm_bytes.ts",
      "src/_package_files.ts",
      "workers/trainer_worker.ts",
      "data/fashion-mnist/train-images-idx3-ubyte.gz",
      "data/fashion-mnist/t10k-labels-idx1-ubyte.gz",
      "README.md",
      "LICENSE",
    ]
  ) {
    ok(files.includes(want), `the package lacks ${want}:\n${out}`);
  }
  for (const prefix of ["tests/", "tools/", "bench/", "results/", "web/"]) {
    ok(
      !files.some((f) => f.startsWith(prefix)),
      `the package holds ${prefix}`,
    );
  }
});

Deno.test("deno doc --lint mod.ts: every export documented", async () => {
  const { code, out } = await deno(["doc", "--lint", "mod.ts"]);
  equal(code, 0, out);
});

Deno.test("deno doc --lint tfjs.ts: every export documented; only TensorFlow.js's own types are not ours to document", async () => {
  const { out } = await deno(["doc", "--lint", "mod.ts", "tfjs.ts"]);
  const errors = out.split("\n").filter((line) => line.startsWith("error"));
  // The layer extends TensorFlow.js's Layer and takes and gives its types,
  // which the caller has from TensorFlow.js; every other finding fails.
  const allowed =
    /^error\[private-type-ref\]: public type '[\w.]+' references private type '(Layer|Tensor|ConfigDict)'$/;
  const found = errors.filter((line) => !line.startsWith("error: Found"));
  ok(found.length > 0, out);
  for (const line of found) ok(allowed.test(line), `${line}\n${out}`);
});
