/**
 * The kernel table is every backend's calling convention, checked without a
 * GPU: each `shaders/<kernel>.wgsl` binds the row's tensors in order (access
 * modes following the sharing contract) and opens its `struct Params` with
 * the row's arguments in order; each wasm export takes one parameter per
 * tensor, argument and derived value; the reference implements every kernel.
 * A kernel missing from any backend fails here.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { contractOf } from "../src/backends/_contracts.ts";
import { type KernelContract, KERNELS } from "../src/backends/kernels.ts";
import type { KernelArgs, KernelName } from "../src/backend.ts";
import { ReferenceBackend } from "../src/backends/reference.ts";
import { compileKernels } from "../src/backends/wasm.ts";
import {
  bindingAccess,
  type UniformField,
  uniformLayout,
} from "../src/backends/webgpu.ts";

const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];
const SHADERS = new URL("../shaders/", import.meta.url);

/** A shader's bindings: number, address space and access, variable name. */
interface Binding {
  binding: number;
  space: string;
  name: string;
  type: string;
}

/** The `@group(0) @binding(n) var<…> name: type;` lines of a shader. */
function bindingsOf(wgsl: string): Binding[] {
  const found = [
    ...wgsl.matchAll(
      /^@group\(0\) @binding\((\d+)\) var<([^>]+)> (\w+): ([^;]+);/gm,
    ),
  ];
  return found.map((m) => ({
    binding: Number(m[1]),
    space: m[2].replace(/\s+/g, ""),
    name: m[3],
    type: m[4],
  }));
}

/** The fields of a shader's `struct Params`, comments skipped. */
function paramsOf(wgsl: string): UniformField[] | undefined {
  const body = /^struct Params \{\n([\s\S]*?)\n\}/m.exec(wgsl)?.[1];
  if (body === undefined) return undefined;
  return body.split("\n").flatMap((line) => {
    const m = /^\s*(\w+): (\w+),\s*(\/\/.*)?$/.exec(line);
    return m === null ? [] : [{ name: m[1], type: m[2] as "u32" | "f32" }];
  });
}

Deno.test("every kernel has a shader and every shader a kernel", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(SHADERS)) {
    if (entry.name.endsWith(".wgsl")) files.push(entry.name.slice(0, -5));
  }
  deepEqual(files.sort(), [...KERNEL_NAMES].sort());
});

for (const kernel of KERNEL_NAMES) {
  Deno.test(`${kernel}: the shader binds the table's tensors in order`, async () => {
    const wgsl = await Deno.readTextFile(new URL(`${kernel}.wgsl`, SHADERS));
    const bindings = bindingsOf(wgsl);
    const tensors = Object.keys(contractOf(kernel).tensors);
    deepEqual(
      bindings.map((b) => b.binding),
      [0, ...tensors.map((_, i) => i + 1)],
      "bindings must be 0 (params) then one per tensor",
    );
    deepEqual(bindings[0], {
      binding: 0,
      space: "uniform",
      name: "params",
      type: "Params",
    });
    deepEqual(bindings.slice(1).map((b) => b.name), tensors);
    deepEqual(
      bindings.slice(1).map((b) => b.space),
      tensors.map((name) => `storage,${bindingAccess(kernel, name)}`),
      "outputs, and inputs written in place, bind read_write; others read",
    );
  });

  Deno.test(`${kernel}: the shader's Params open with the table's arguments`, async () => {
    const wgsl = await Deno.readTextFile(new URL(`${kernel}.wgsl`, SHADERS));
    const fields = paramsOf(wgsl);
    ok(fields !== undefined, "the shader must declare struct Params");
    const layout = uniformLayout(kernel);
    deepEqual(fields.slice(0, layout.length), layout);
    const padding = fields.slice(layout.length);
    ok(
      padding.every((f) => f.name.startsWith("_pad") && f.type === "u32"),
      `only u32 _pad fields may follow, got ${JSON.stringify(padding)}`,
    );
    equal(fields.length % 4, 0, "Params must fill whole 16-byte rows");
    ok(padding.length < 4, "no whole row of padding");
  });
}

Deno.test("every wasm export takes the table's tensors, arguments and derived values", async () => {
  const module = await compileKernels();
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  const { exports } = await WebAssembly.instantiate(module, {
    env: { memory },
  });
  for (const kernel of KERNEL_NAMES) {
    const fn = exports[kernel];
    ok(typeof fn === "function", `the module must export ${kernel}`);
    const c = contractOf(kernel);
    const count = Object.keys(c.tensors).length +
      Object.keys(c.scalars).length + Object.keys(c.derived ?? {}).length;
    equal(fn.length, count, `${kernel}'s parameter count`);
  }
  const functions = WebAssembly.Module.exports(module)
    .filter((e) => e.kind === "function").map((e) => e.name);
  deepEqual(functions.sort(), [...KERNEL_NAMES, "heap_base"].sort());
});

Deno.test("the reference implements every kernel", () => {
  const backend = new ReferenceBackend();
  const kernels = (backend as unknown as { kernels: object }).kernels;
  deepEqual(Object.keys(kernels).sort(), [...KERNEL_NAMES].sort());
});

Deno.test("a row names exactly its kernel's arguments, checked by the type system", () => {
  const relu: KernelContract<KernelArgs["relu"]> = {
    tensors: { x: "float32", y: "float32" },
    outputs: { y: ["x"] },
    scalars: { n: "count" },
    sizes: (a) => ({ x: a.n, y: a.n }),
  };
  const misspelt: KernelContract<KernelArgs["relu"]> = {
    // @ts-expect-error: `z` is not one of relu's tensors
    tensors: { x: "float32", z: "float32" },
    outputs: { y: ["x"] },
    scalars: { n: "count" },
    sizes: (a) => ({ x: a.n, y: a.n }),
  };
  const wrongKind: KernelContract<KernelArgs["matmul"]> = {
    tensors: { a: "float32", b: "float32", c: "float32" },
    outputs: { c: [] },
    scalars: {
      m: "count",
      n: "count",
      k: "count",
      // @ts-expect-error: a boolean argument must have the kind "bool"
      transA: "count",
      transB: "bool",
      accumulate: "bool",
    },
    sizes: (a) => ({ a: a.m * a.k, b: a.k * a.n, c: a.m * a.n }),
  };
  const missing: KernelContract<KernelArgs["relu"]> = {
    // @ts-expect-error: every tensor must be listed
    tensors: { x: "float32" },
    outputs: {},
    scalars: { n: "count" },
    sizes: (a) => ({ x: a.n, y: a.n }),
  };
  deepEqual(relu.tensors, KERNELS.relu.tensors);
  deepEqual(relu.scalars, KERNELS.relu.scalars);
  ok(misspelt && wrongKind && missing);
});
