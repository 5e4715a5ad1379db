/**
 * `deno task build`: compiles the AssemblyScript kernels to WebAssembly and
 * embeds the wasm and the WGSL shaders as TypeScript modules, so the library
 * loads them with no file access (browsers, edge runtimes, bundles).
 *
 * @module
 */

import { writeWasm } from "./build_wasm.ts";
import { writeShaders } from "./embed_shaders.ts";

if (import.meta.main) {
  await writeWasm();
  await writeShaders();
  console.log(
    "Built asm/build/kernels.wasm, src/backends/_wasm_bytes.ts and src/backends/_shaders.ts",
  );
}
