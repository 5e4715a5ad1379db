/**
 * The generated `src/backends/_shaders.ts` must match `shaders/*.wgsl`: the
 * webgpu backend runs the embedded copy, not the files.
 */
import { equal } from "node:assert/strict";
import { shaderModuleSource } from "../tools/embed_shaders.ts";

Deno.test("src/backends/_shaders.ts is up to date with shaders/*.wgsl", async () => {
  const generated = new URL("../src/backends/_shaders.ts", import.meta.url);
  const current = await Deno.readTextFile(generated).catch(() => "");
  equal(
    current.replaceAll("\r\n", "\n"),
    await shaderModuleSource(),
    "src/backends/_shaders.ts is stale against shaders/*.wgsl: run `deno task build`",
  );
});
