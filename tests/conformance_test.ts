/**
 * One conformance suite: every backend against the reference on the same
 * inputs and seeds. Masks (and so keep thresholds) must be identical; values
 * within 1e-6 relative (the rescale factor's pow may differ by an ulp).
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
import { assertSameBits } from "./_helpers/assert.ts";

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

  Deno.test({
    name:
      `${name}: count_active, jumpout_params and mask_scale kernels match the reference`,
    ignore,
  }, async () => {
    await withBackend(name, async (backend) => {
      for (const n of SIZES) {
        for (
          const [rows, cols] of shapes(n).map((
            s,
          ) => [s[0], n === 0 ? s[1] : n / s[0]])
        ) {
          const data = inputData(rows * cols);
          const run = async (b: Backend) => {
            const x = b.tensor(data, [rows * cols]);
            const counts = b.allocate([rows], "uint32");
            const rate = b.allocate([rows], "uint32");
            const keep = b.allocate([rows], "uint32");
            const scale = b.allocate([rows], "float32");
            const y = b.allocate([rows * cols]);
            b.upload(
              rate,
              Uint32Array.from(
                { length: rows },
                (_, r) => (r * 2654435761) % (1 << 23),
              ),
            );
            b.run("count_active", { x, counts, rows, cols });
            b.run("jumpout_params", {
              counts,
              rate,
              keep,
              scale,
              rows,
              cols,
              maxDrop: 10066330,
              normalize: true,
              power: 0.75,
            });
            b.run("mask_scale", {
              x,
              keep,
              scale,
              y,
              rows,
              cols,
              key: 0xdeadbeef,
              offset: 0,
            });
            const out = {
              counts: await b.read(counts),
              keep: await b.read(keep),
              scale: await b.read(scale),
              y: await b.read(y),
            };
            for (const t of [x, counts, rate, keep, scale, y] as Tensor[]) {
              b.release(t);
            }
            return out;
          };
          const e = await run(reference), a = await run(backend);
          const what = `n=${n} rows=${rows}`;
          deepEqual(a.counts, e.counts, `${what}: counts`);
          deepEqual(a.keep, e.keep, `${what}: keep thresholds`);
          closeRelative(a.scale, e.scale, `${what} scale`);
          deepEqual(
            zeroPattern(a.y),
            zeroPattern(e.y),
            `${what}: masks differ`,
          );
          closeRelative(a.y, e.y, `${what} y`);
        }
      }
    });
  });
}

/**
 * Offsets that stress the mask's index arithmetic: unaligned to 4 and 16,
 * one short of a 2^16 block, a large key-sized one, and two that wrap past
 * 2^32 within the tensor.
 */
const OFFSETS = [1, 7, 16, 65531, 0x89abcdef, 2 ** 32 - 5, 2 ** 32 - 1];

/** [rows, cols]: tiny, short rows, rows that cross 2^16 blocks. */
const OFFSET_SHAPES: [number, number][] = [
  [1, 1],
  [3, 5],
  [7, 1023],
  [2, 65536 + 21],
  [1, 2 ** 17 + 5],
];

/** Runs mask_scale with uploaded keep and scale; returns y. */
async function maskWithOffset(
  b: Backend,
  data: Float32Array,
  keepData: Uint32Array,
  scaleData: Float32Array,
  rows: number,
  cols: number,
  offset: number,
): Promise<Float32Array> {
  const x = b.tensor(data, [rows * cols]);
  const keep = b.allocate([rows], "uint32");
  const scale = b.tensor(scaleData, [rows]);
  const y = b.allocate([rows * cols]);
  b.upload(keep, keepData);
  b.run("mask_scale", {
    x,
    keep,
    scale,
    y,
    rows,
    cols,
    key: 0x5bd1e995,
    offset,
  });
  const out = await b.read(y);
  for (const t of [x, keep, scale, y] as Tensor[]) b.release(t);
  return out;
}

for (const name of ACCELERATED) {
  const ignore = await ignoreBackend(name);
  Deno.test({
    name: `${name}: mask_scale with offsets matches the reference bit for bit`,
    ignore,
  }, async () => {
    await withBackend(name, async (backend) => {
      for (const [rows, cols] of OFFSET_SHAPES) {
        const data = inputData(rows * cols);
        // Thresholds from dropping all to keeping all; the factors are given,
        // so the products (saturated ones too) must agree to the bit.
        const keep = Uint32Array.from(
          { length: rows },
          (_, r) => [11744051, 0, 2 ** 24, 5000000][r % 4],
        );
        const scale = Float32Array.from(
          { length: rows },
          (_, r) => [1.25, 3, 0.5, 1e30][r % 4],
        );
        for (const offset of OFFSETS) {
          const args = [data, keep, scale, rows, cols, offset] as const;
          assertSameBits(
            await maskWithOffset(backend, ...args),
            await maskWithOffset(reference, ...args),
            `rows=${rows} cols=${cols} offset=${offset}: y`,
          );
        }
      }
    });
  });
}
