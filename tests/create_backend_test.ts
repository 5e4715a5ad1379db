import { equal } from "node:assert/strict";
import { createBackend } from "../mod.ts";

Deno.test("auto picks webgpu only on a hardware adapter, else wasm", async () => {
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  const hardware = adapter !== null && adapter !== undefined &&
    !adapter.info.isFallbackAdapter;
  const backend = await createBackend("auto");
  equal(backend.name, hardware ? "webgpu" : "wasm");
  const x = backend.tensor(new Float32Array([1, -1]), [2]);
  equal((await backend.read(x))[0], 1);
  backend.dispose();
});

Deno.test("every named backend is made and reports its name", async () => {
  for (const name of ["reference", "wasm"] as const) {
    const backend = await createBackend(name);
    equal(backend.name, name);
    backend.dispose();
  }
});
