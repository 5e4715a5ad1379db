/**
 * AvgPool2d against PyTorch's `nn.AvgPool2d` (its defaults:
 * `count_include_pad=True`, `ceil_mode=False`), forward and backward, on
 * every backend: the same float32 input and output gradient, every value
 * within 1e-6. Needs `/usr/bin/python3` with torch (see `_helpers/torch.ts`):
 * ignored with a printed reason without it, a failure under CI=true.
 */
import { deepEqual, ok } from "node:assert/strict";
import { AvgPool2d } from "../src/layers/avg_pool2d.ts";
import { ignoreBackend, pattern, withBackend } from "./_helpers/backends.ts";
import { runPython, torchProblem } from "./_helpers/torch.ts";
import type { BackendName } from "../mod.ts";

/** Input shape `[N, C, H, W]`: odd and even sides, so windows hang over. */
const SHAPE = [2, 3, 7, 6];

/**
 * `[kernel, stride, padding]`: disjoint windows, padded and overlapping,
 * stride 1, and a stride past the kernel.
 */
const GEOMETRIES = [[2, 2, 0], [3, 2, 1], [3, 1, 1], [2, 3, 1], [4, 2, 2]];

/** One case for PyTorch: the input, the geometry and the output gradient. */
interface Case {
  x: number[];
  shape: number[];
  kernel: number;
  stride: number;
  padding: number;
  dy: number[];
}

/** What PyTorch returns for a case. */
interface TorchResult {
  shape: number[];
  y: number[];
  dx: number[];
}

/** Reads the cases from stdin; prints y, its shape and x's gradient for each. */
const SCRIPT = `
import json, sys, torch
results = []
for c in json.load(sys.stdin):
    x = torch.tensor(c["x"], dtype=torch.float32).reshape(c["shape"])
    x.requires_grad_()
    pool = torch.nn.AvgPool2d(c["kernel"], stride=c["stride"], padding=c["padding"])
    y = pool(x)
    y.backward(torch.tensor(c["dy"], dtype=torch.float32).reshape(y.shape))
    results.append({
        "shape": list(y.shape),
        "y": y.detach().flatten().tolist(),
        "dx": x.grad.flatten().tolist(),
    })
json.dump(results, sys.stdout)
`;

const problem = await torchProblem();

/** The cases, with output gradients as long as each output. */
function cases(): Case[] {
  const x = pattern(SHAPE.reduce((a, b) => a * b), 31);
  return GEOMETRIES.map(([kernel, stride, padding], i) => {
    const out = new AvgPool2d(kernel, { stride, padding }).outputShape(SHAPE);
    const dy = pattern(out.reduce((a, b) => a * b), 32 + i);
    return { x: [...x], shape: SHAPE, kernel, stride, padding, dy: [...dy] };
  });
}

/** Throws at the first value more than 1e-6 from PyTorch's. */
function assertClose(actual: Float32Array, expected: number[], what: string) {
  deepEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    ok(
      Math.abs(actual[i] - expected[i]) <= 1e-6,
      `${what}[${i}]: got ${actual[i]}, PyTorch ${expected[i]}`,
    );
  }
}

let expected: Promise<TorchResult[]> | undefined;

for (const name of ["reference", "wasm", "webgpu"] as BackendName[]) {
  Deno.test({
    name:
      `AvgPool2d equals PyTorch's nn.AvgPool2d forward and backward on ${name}`,
    ignore: problem !== undefined || await ignoreBackend(name),
    fn: () =>
      withBackend(name, async (backend) => {
        const all = cases();
        expected ??= runPython(SCRIPT, all) as Promise<TorchResult[]>;
        const torch = await expected;
        for (const [i, c] of all.entries()) {
          const pool = new AvgPool2d(c.kernel, {
            stride: c.stride,
            padding: c.padding,
          });
          const what = `${name} ${pool.name}`;
          const out = pool.build(backend, SHAPE, 0, "");
          deepEqual(out, torch[i].shape, `${what}: output shape`);
          const x = backend.tensor(Float32Array.from(c.x), SHAPE);
          const y = pool.forward(x, { training: true });
          const dy = backend.tensor(Float32Array.from(c.dy), out);
          const dx = pool.backward(dy);
          assertClose(await backend.read(y), torch[i].y, `${what}: y`);
          assertClose(await backend.read(dx), torch[i].dx, `${what}: dx`);
          for (const t of [x, y, dy, dx]) backend.release(t);
          pool.dispose();
        }
      }),
  });
}
