/**
 * The Jumpout and Dropout layers on every backend against the reference, on
 * the same inputs and seeds: forward, stats and backward over two steps, at
 * both scopes, on rank-2 and rank-4 shapes up to 2^20 + 3 elements (the
 * kernels' own rows are in `kernel_conformance_test.ts`). Masks (and so keep
 * thresholds) must be identical; values within 1e-6 relative (the rescale
 * factor's pow may differ by an ulp).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  type Backend,
  createBackend,
  Dropout,
  Jumpout,
  type Tensor,
} from "../mod.ts";
import {
  ACCELERATED,
  ignoreBackend,
  pattern,
  withBackend,
} from "./_helpers/backends.ts";

const SIZES = [0, 1, 3, 4, 5, 1023, 2 ** 20 + 3];
const reference = await createBackend("reference");

/** Inputs with the awkward values a layer meets: NaN, ±Inf, huge, ±0. */
function inputData(n: number): Float32Array {
  const data = pattern(n, n + 1);
  const special = [NaN, Infinity, -Infinity, 3.3e38, -3.3e38, -0, 0, 1e-45];
  for (let i = 0; i < Math.min(n, 64); i += 7) {
    data[i] = special[(i / 7) % special.length];
  }
  return data;
}

/** A rank-2 and a rank-4 shape of n elements. */
function shapes(n: number): number[][] {
  if (n === 0) return [[0, 7], [2, 0, 3, 3]];
  let f = 2;
  while (f * f <= n && n % f !== 0) f++;
  if (n % f !== 0) f = n; // prime: one row of n, or n rows of 1
  return [[f, n / f], [n / f, 1, f, 1]];
}

function closeRelative(
  actual: Float32Array,
  expected: Float32Array,
  what: string,
): void {
  equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
    ok(
      Math.abs(a - e) <= 1e-6 * Math.abs(e) && Math.sign(a) === Math.sign(e),
      `${what}[${i}]: got ${a}, expected ${e}`,
    );
  }
}

function zeroPattern(values: Float32Array): Uint8Array {
  return Uint8Array.from(values, (v) => (v === 0 ? 1 : 0));
}

/** Forward, stats, backward with dy = 1 (the mask) and with a real dy. */
async function runLayer(
  backend: Backend,
  make: () => Jumpout,
  data: Float32Array,
  dyData: Float32Array,
  shape: number[],
) {
  const layer = make();
  const out = [];
  for (let step = 0; step < 2; step++) {
    const x = backend.tensor(data, shape);
    const y = layer.forward(x, { training: true });
    const stats = await layer.readStats();
    const mask = layer.backward(
      backend.tensor(new Float32Array(data.length).fill(1), shape),
    );
    const dx = layer.backward(backend.tensor(dyData, shape));
    out.push({
      y: await backend.read(y),
      mask: await backend.read(mask),
      dx: await backend.read(dx),
      stats: stats!,
    });
    for (const t of [x, y, mask, dx] as Tensor[]) backend.release(t);
  }
  layer.dispose();
  return out;
}

const layers: [string, (scope: "batch" | "sample") => Jumpout][] = [
  ["jumpout", (scope) => new Jumpout({ sigma: 0.25, seed: 42, scope })],
  ["dropout", (scope) => new Dropout({ rate: 0.3, seed: 42, scope })],
];

for (const name of ACCELERATED) {
  const ignore = await ignoreBackend(name);
  Deno.test({
    name:
      `${name}: Jumpout and Dropout forward, stats and backward match the reference`,
    ignore,
  }, async () => {
    await withBackend(name, async (backend) => {
      for (const n of SIZES) {
        const data = inputData(n);
        const dyData = pattern(n, 2 * n + 5);
        for (const shape of shapes(n)) {
          for (const scope of ["batch", "sample"] as const) {
            for (const [kind, make] of layers) {
              const what = `${kind} n=${n} shape=[${shape}] scope=${scope}`;
              const expected = await runLayer(
                reference,
                () => make(scope),
                data,
                dyData,
                shape,
              );
              const actual = await runLayer(
                backend,
                () => make(scope),
                data,
                dyData,
                shape,
              );
              for (let step = 0; step < expected.length; step++) {
                const e = expected[step], a = actual[step];
                const at = `${what} step ${step}`;
                deepEqual(
                  zeroPattern(a.mask),
                  zeroPattern(e.mask),
                  `${at}: masks differ`,
                );
                closeRelative(a.y, e.y, `${at} y`);
                closeRelative(a.dx, e.dx, `${at} dx`);
                equal(a.stats.length, e.stats.length);
                a.stats.forEach((s, u) => {
                  equal(s.p, e.stats[u].p, `${at} p`);
                  ok(
                    Object.is(s.qPlus, e.stats[u].qPlus) ||
                      s.qPlus === e.stats[u].qPlus,
                    `${at} qPlus`,
                  );
                  equal(s.rate, e.stats[u].rate, `${at} rate`);
                  closeRelative(
                    new Float32Array([s.scale]),
                    new Float32Array([e.stats[u].scale]),
                    `${at} scale`,
                  );
                });
              }
            }
          }
        }
      }
    });
  });
}
