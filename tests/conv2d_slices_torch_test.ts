/**
 * Conv2d on batches the CPU backends work through in slices (a sample's
 * unfolded input is more than a quarter of `SLICE_BYTES`), against PyTorch's
 * `F.conv2d` forward and backward: y, dx, dW and db within 1e-4 relative to
 * the largest value. The batch is not a multiple of the slice, so slices of
 * two and one sample (with and without the transposes) both run, at stride
 * 1 through `matmul_im2col` and at stride 2 through `cols`; webgpu,
 * which never slices, runs the same cases. Needs `/usr/bin/python3` with torch
 * (see `_helpers/torch.ts`): ignored with a printed reason without it, a
 * failure under CI=true.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { Conv2d } from "../src/layers/conv2d.ts";
import { samplesPerSlice } from "../src/layers/_batch_slices.ts";
import { ignoreBackend, pattern, withBackend } from "./_helpers/backends.ts";
import { runPython, torchProblem } from "./_helpers/torch.ts";
import type { BackendName } from "../mod.ts";

/** `[N, C, H, W]`, output channels, stride: 3×3 kernels, padding 1. */
const CASES = [
  { shape: [5, 8, 27, 27], out: 4, stride: 1 },
  { shape: [3, 32, 28, 28], out: 8, stride: 2 },
];

/** One case for PyTorch. */
interface TorchCase {
  x: number[];
  w: number[];
  b: number[];
  dy: number[];
  shape: number[];
  out: number;
  stride: number;
}

/** What PyTorch returns for a case. */
interface TorchResult {
  shape: number[];
  y: number[];
  dx: number[];
  dw: number[];
  db: number[];
}

/** Reads the cases from stdin; prints y and the three gradients for each. */
const SCRIPT = `
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
results = []
for c in json.load(sys.stdin):
    n, ch, h, w = c["shape"]
    x = torch.tensor(c["x"]).reshape(c["shape"]).requires_grad_()
    weight = torch.tensor(c["w"]).reshape(c["out"], ch, 3, 3).requires_grad_()
    bias = torch.tensor(c["b"]).requires_grad_()
    y = F.conv2d(x, weight, bias, stride=c["stride"], padding=1)
    y.backward(torch.tensor(c["dy"]).reshape(y.shape))
    results.append({
        "shape": list(y.shape),
        "y": y.detach().flatten().tolist(),
        "dx": x.grad.flatten().tolist(),
        "dw": weight.grad.flatten().tolist(),
        "db": bias.grad.flatten().tolist(),
    })
json.dump(results, sys.stdout)
`;

const problem = await torchProblem();

/** Throws at the first value more than 1e-4 of the largest from PyTorch's. */
function assertClose(actual: Float32Array, expected: number[], what: string) {
  equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1, ...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    ok(
      Math.abs(actual[i] - expected[i]) <= 1e-4 * scale,
      `${what}[${i}]: got ${actual[i]}, PyTorch ${expected[i]}`,
    );
  }
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b);
let expected: Promise<TorchResult[]> | undefined;

for (const name of ["reference", "wasm", "webgpu"] as BackendName[]) {
  Deno.test({
    name: `Conv2d in batch slices equals PyTorch's conv2d on ${name}`,
    ignore: problem !== undefined || await ignoreBackend(name),
    fn: () =>
      withBackend(name, async (backend) => {
        const all: TorchCase[] = CASES.map((c, i) => {
          const depth = c.shape[1] * 9;
          return {
            ...c,
            x: [...pattern(size(c.shape), 41 + i)],
            w: [...pattern(c.out * depth, 51 + i)].map((v) => v / 8),
            b: [...pattern(c.out, 61 + i)],
            dy: [],
          };
        });
        for (const [i, c] of all.entries()) {
          const conv = new Conv2d(c.shape[1], c.out, 3, {
            stride: c.stride,
            padding: 1,
          });
          const out = conv.outputShape(c.shape);
          c.dy = [...pattern(size(out), 71 + i)];
        }
        expected ??= runPython(SCRIPT, all) as Promise<TorchResult[]>;
        const torch = await expected;
        for (const [i, c] of all.entries()) {
          const conv = new Conv2d(c.shape[1], c.out, 3, {
            stride: c.stride,
            padding: 1,
          });
          const out = conv.build(backend, c.shape, 1, "");
          deepEqual(out, torch[i].shape);
          const [n, , outH, outW] = out;
          const bytes = c.shape[1] * 9 * outH * outW * 4;
          if (name !== "webgpu") {
            // The point of the case: slices of 2 and 1 sample.
            equal(samplesPerSlice(backend, n, bytes), 2);
          }
          const [weight, bias] = conv.parameters();
          backend.upload(weight.value, Float32Array.from(c.w));
          backend.upload(bias.value, Float32Array.from(c.b));
          const what = `${name} case ${i}`;
          const x = backend.tensor(Float32Array.from(c.x), c.shape);
          const y = conv.forward(x, { training: true });
          const dy = backend.tensor(Float32Array.from(c.dy), out);
          const dx = conv.backward(dy);
          assertClose(await backend.read(y), torch[i].y, `${what}: y`);
          assertClose(await backend.read(dx), torch[i].dx, `${what}: dx`);
          assertClose(
            await backend.read(weight.grad),
            torch[i].dw,
            `${what}: dW`,
          );
          assertClose(
            await backend.read(bias.grad),
            torch[i].db,
            `${what}: db`,
          );
          for (const t of [x, y, dy, dx]) backend.release(t);
          conv.dispose();
        }
      }),
  });
}
