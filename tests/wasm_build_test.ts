import { ok } from "node:assert/strict";
import { bytesModule, compileWasm } from "../tools/build_wasm.ts";

const STALE = "is stale: run `deno task build` and commit the result";

Deno.test("the committed kernels match a fresh build of asm/", async () => {
  const fresh = await compileWasm();
  ok(WebAssembly.validate(fresh), "the fresh build is not valid wasm");
  const committed = await Deno.readFile(
    new URL("../asm/build/kernels.wasm", import.meta.url),
  );
  ok(sameBytes(fresh, committed), `asm/build/kernels.wasm ${STALE}`);
  const embedded = await Deno.readTextFile(
    new URL("../src/backends/_wasm_bytes.ts", import.meta.url),
  );
  ok(embedded === bytesModule(fresh), `src/backends/_wasm_bytes.ts ${STALE}`);
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
