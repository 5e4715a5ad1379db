/**
 * importTorch's refusals: every missing, unexpected, mis-shaped or
 * mistyped tensor is named, with the others, and a refused file changes
 * nothing; what PyTorch itself tolerates (no num_batches_tracked) is taken.
 */
import { deepEqual, rejects, throws } from "node:assert/strict";
import {
  BatchNorm,
  createBackend,
  decodeSafetensors,
  Dense,
  encodeSafetensors,
  exportTorch,
  importTorch,
  type Layer,
  ReLU,
  type SafetensorsTensor,
  Sequential,
} from "../mod.ts";

const backend = await createBackend("reference");

/** Dense 3 → 2 (not square, so a transposed weight shows), BatchNorm, Dense 2 → 2. */
function model(seed: number): Sequential {
  const m = new Sequential([
    new Dense(3, 2),
    new BatchNorm(2),
    new ReLU(),
    new Dense(2, 2),
  ]);
  m.build(backend, [3], { seed });
  return m;
}

async function values(m: Sequential): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [name, t] of m.state()) out[name] = [...await backend.read(t)];
  return out;
}

/** The exported file of another model, with `edit` applied to its tensors. */
async function file(
  edit: (tensors: Map<string, SafetensorsTensor>) => void,
): Promise<Uint8Array> {
  const { tensors } = decodeSafetensors((await exportTorch(model(2))).weights);
  edit(tensors);
  return encodeSafetensors(tensors);
}

const F32 = (shape: number[]): SafetensorsTensor => ({
  dtype: "F32",
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

Deno.test("importTorch refuses a file that does not fit, naming each tensor, and changes nothing", async () => {
  const target = model(1);
  const before = await values(target);
  const cases: [(t: Map<string, SafetensorsTensor>) => void, RegExp][] = [
    [(t) => t.delete("0.weight"), /got missing "0\.weight"$/],
    [(t) => t.set("9.weight", F32([1])), /got unexpected "9\.weight"$/],
    [
      (t) => t.set("0.weight", F32([3, 2])),
      /got "0\.weight" has shape \[3, 2\], expected \[2, 3\] \(nn\.Linear's \[out, in\]\)$/,
    ],
    [
      (t) => t.set("1.running_var", F32([3])),
      /got "1\.running_var" has shape \[3\], expected \[2\]$/,
    ],
    [
      (t) => t.set("1.num_batches_tracked", F32([])),
      /got "1\.num_batches_tracked" has dtype F32, expected I64$/,
    ],
    [
      (t) =>
        t.set("3.bias", { dtype: "U32", shape: [2], data: new Uint32Array(2) }),
      /got "3\.bias" has dtype U32, expected F32$/,
    ],
    [
      (t) => {
        t.delete("3.bias");
        t.set("3.extra", F32([2]));
        t.set("1.weight", F32([2, 1]));
      },
      /^Cannot import a PyTorch state dict: the file must hold exactly the model's tensors, got "1\.weight" has shape \[2, 1\], expected \[2\]; missing "3\.bias"; unexpected "3\.extra"$/,
    ],
  ];
  for (const [edit, message] of cases) {
    const bytes = await file(edit);
    throws(() => importTorch(bytes, target), { name: "RangeError", message });
    deepEqual(await values(target), before);
  }
});

Deno.test("importTorch refuses what is not a safetensors file, or tensors of other dtypes", async () => {
  const target = model(1);
  const before = await values(target);
  throws(
    () => importTorch(new Uint8Array([1, 2, 3]), target),
    /^RangeError: Cannot import a PyTorch state dict: bytes must be a safetensors file: Cannot read safetensors: the file must hold at least the 8-byte header length, got 3 bytes$/,
  );
  const header =
    '{"0.weight":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]}}';
  const f16 = new Uint8Array(8 + header.length + 12);
  f16[0] = header.length;
  f16.set(new TextEncoder().encode(header), 8);
  throws(
    () => importTorch(f16, target),
    /^TypeError: Cannot import a PyTorch state dict: bytes must be a safetensors file: .*tensor "0\.weight" has dtype F16, expected F32, U32 or I64$/,
  );
  deepEqual(await values(target), before);
});

Deno.test("importTorch refuses an unbuilt model and layers of other kinds", async () => {
  const bytes = (await exportTorch(model(1))).weights;
  throws(
    () => importTorch(bytes, new Sequential([new Dense(3, 2)])),
    /^TypeError: Cannot import a PyTorch state dict: model must be built, got a model that is not built$/,
  );
  const relu = new ReLU();
  const custom: Layer = {
    name: "Custom",
    outputShape: (s) => [...s],
    build: (_b, s) => [...s],
    forward: (x) => relu.forward(x),
    backward: (dy) => relu.backward(dy),
    parameters: () => [],
    state: () => new Map(),
    dispose: () => {},
  };
  const other = new Sequential([new Dense(3, 2), custom]);
  other.build(backend, [3], { seed: 1 });
  throws(
    () => importTorch(bytes, other),
    /^TypeError: Cannot import a PyTorch state dict: layer 1 must be one of the library's layers, got Custom$/,
  );
  await rejects(() => exportTorch(other), {
    name: "TypeError",
    message:
      "Cannot export a model to PyTorch: layer 1 must be one of the library's layers, got Custom",
  });
});

Deno.test("importTorch takes a state dict without num_batches_tracked, as PyTorch does", async () => {
  const target = model(1);
  const bytes = await file((t) => t.delete("1.num_batches_tracked"));
  importTorch(bytes, target);
  deepEqual(await values(target), await values(model(2)));
});
