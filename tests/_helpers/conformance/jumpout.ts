/**
 * Rows of the Jumpout kernels. Tolerances: masks are identical on every
 * backend, so `count_active`'s counts and `mask_scale`'s outputs (given the
 * same keep and scale) must be bit-identical, saturated and non-finite
 * products included; `jumpout_params` gives identical keep thresholds, and
 * scales bit-identical on wasm (its pow rounds as the reference's does) and
 * within 1e-6 relative on webgpu (WGSL's pow may be an ulp or two off).
 */
import { FLOAT32_MAX, RATE_ONE } from "../../../mod.ts";
import { hash32 } from "../../../src/random.ts";
import { assertSameBits } from "../assert.ts";
import { assertWithin } from "../kernels.ts";
import { exact, garbage, type KernelSpec, type Row } from "./_spec.ts";

/** Why rows with a size of 2^32 or more skip webgpu. */
const U32_SIZES = "WGSL passes sizes as u32";

/** Why rows with powers above 2.5 skip webgpu. */
const STEEP_POWERS = "WGSL's pow(x, y) is exp2(y · log2(x)), whose error " +
  "grows with y: within 1e-6 relative for powers up to 2.5, not at 40";

/** Deterministic values in [0, 1) from i, for one seed. */
function units(seed: number): (i: number) => number {
  const h = hash32(seed);
  return (i) => hash32((h ^ i) >>> 0) / 2 ** 32;
}

/** Values a layer meets that are not ordinary: ±0, NaN, ±Inf, huge, tiny. */
const SPECIALS = [
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  3.4e38,
  -3.4e38,
  3.3e38,
  -3.3e38,
  1.1754944e-38, // the smallest normal
  -1e-30,
  1e-45,
  -1e-45,
  1e-40,
  -1e-41,
];

/**
 * Mixed data: about 1 in 5 a special value, 1 in 30 a huge finite one, the
 * rest ordinary positives and negatives from 1e-3 to 1e3.
 */
function mixed(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  const [kind, value, magnitude] = [0, 1, 2].map((k) => units(seed + k));
  for (let i = 0; i < n; i++) {
    const u = kind(i);
    out[i] = u < 0.2
      ? SPECIALS[Math.floor(u * 5 * SPECIALS.length)]
      : u < 0.233
      ? (value(i) - 0.5) * 2e38
      : (value(i) - 0.45) * 10 ** (6 * magnitude(i) - 3);
  }
  return out;
}

/**
 * `[rows, cols]`: empty, tiny, the wasm SIMD tails (n mod 4 and 16), one
 * long row, many short rows, rows that straddle webgpu workgroups, and 2-D
 * dispatch grids (more than 256 workgroups, 2^20 + 3 elements).
 */
const SHAPES: [number, number][] = [
  [0, 0],
  [0, 5],
  [0, 7],
  [1, 0],
  [2, 0],
  [3, 0],
  [1, 1],
  [1, 3],
  [3, 1],
  [1, 4],
  [2, 2],
  [4, 1],
  [1, 5],
  [5, 1],
  [1, 15],
  [3, 5],
  [15, 1],
  [1, 16],
  [2, 8],
  [4, 4],
  [16, 1],
  [1, 17],
  [17, 1],
  [1, 33],
  [3, 11],
  [33, 1],
  [1, 1023],
  [3, 341],
  [341, 3],
  [1023, 1],
  [5, 1023],
  [1000, 7],
  [7, 4097],
  [4096, 256],
  [1, 2 ** 20 + 3],
  [7, 149_797],
  [149_797, 7],
  [2 ** 20 + 3, 1],
  [5, 2 ** 18 + 1],
];

/** `[rows, cols]` across the wasm mask's 2^16-element index blocks. */
const BLOCK_SHAPES: [number, number][] = [
  [3, 2 * 65_536 + 7],
  [5, 65_535],
  [2, 65_536 + 16],
];

function shapeName(rows: number, cols: number): string {
  return `rows=${rows} cols=${cols}`;
}

export const count_active: KernelSpec = {
  rows: () => [
    ...[...SHAPES, ...BLOCK_SHAPES].map(([rows, cols]): Row => ({
      what: shapeName(rows, cols),
      // Stale counts, which the kernel must overwrite.
      tensors: {
        x: mixed(rows * cols, rows * 31 + cols),
        counts: new Uint32Array(rows).fill(7),
      },
      scalars: { rows, cols },
    })),
    {
      what: "+Inf and subnormals are active, NaN and -0 not",
      tensors: {
        x: new Float32Array([
          NaN,
          -0,
          0,
          Infinity,
          -Infinity,
          1e-45,
          -1e-45,
          2,
        ]),
        counts: new Uint32Array(8).fill(7),
      },
      scalars: { rows: 8, cols: 1 },
      expect: { counts: new Uint32Array([0, 0, 0, 1, 0, 1, 0, 1]) },
    },
  ],
  check: exact("counts"),
};

/** Keep thresholds from drop-all to past keep-all, cycled over the rows. */
const KEEPS = [
  Math.floor(0.7 * RATE_ONE),
  RATE_ONE,
  0,
  1,
  2 ** 23,
  12_582_912,
  RATE_ONE + 5,
  0xffffffff,
  5_000_000,
  11_744_051,
];

/** Finite factors: exact ones, 0, and ones that overflow huge inputs. */
const SCALES = [8, 1, 0, 2.5, 1e30, 1.98804, 1.25, 1.7320508, 2 ** 20, 3, 0.5];

/** Per-row keep thresholds (every 11th random) and factors. */
function maskParams(
  rows: number,
  seed: number,
  scales = SCALES,
): { keep: Uint32Array; scale: Float32Array } {
  const keep = new Uint32Array(rows), scale = new Float32Array(rows);
  const unit = units(seed);
  for (let r = 0; r < rows; r++) {
    const k = (r + seed) % (KEEPS.length + 1);
    keep[r] = k < KEEPS.length
      ? KEEPS[k]
      : Math.floor((0.4 + 0.6 * unit(r)) * RATE_ONE);
    scale[r] = scales[(3 * r + seed) % scales.length];
  }
  return { keep, scale };
}

/** Keys: zero, all ones, the low 16 bits set (a wasm index block), others. */
const KEYS = [0, 0x9e3779b9, 0xdeadbeef, 0xffffffff, 0x0000ffff, 0x12345678];

/**
 * Offsets that stress the index arithmetic: unaligned to 4 and 16, one short
 * of a 2^16 block, past 2^31, and ones that wrap past 2^32 within the tensor.
 */
const OFFSETS = [
  1,
  3,
  7,
  16,
  65_531,
  0x89abcdef,
  2 ** 31 + 5,
  2 ** 32 - 5,
  2 ** 32 - 1,
];

/** `[rows, cols]` of the offset rows: tiny, short rows, rows that cross 2^16 blocks. */
const OFFSET_SHAPES: [number, number][] = [
  [1, 1],
  [3, 5],
  [7, 1023],
  [5, 1023],
  [1000, 7],
  [2, 65_536 + 21],
  [3, 65_536 + 9],
  [1, 2 ** 17 + 5],
];

/** A mask_scale row on fresh x and y. */
function maskRow(
  what: string,
  x: Float32Array,
  params: { keep: Uint32Array; scale: Float32Array },
  scalars: { rows: number; cols: number; key: number; offset: number },
): Row {
  return {
    what: `${what} key=${scalars.key} offset=${scalars.offset}`,
    tensors: { x, ...params, y: garbage(x.length) },
    scalars,
  };
}

/**
 * One element of 1 per row, each row's threshold at or just above the hash
 * of its own index (wrapped at 2^32): exactly the odd rows are kept.
 */
function thresholdRow(key: number, offset: number): Row {
  const rows = 64;
  const keep = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    keep[r] = (hash32((((r + offset) % 2 ** 32) ^ key) >>> 0) >>> 8) + (r % 2);
  }
  return {
    what: `a hash just below keep is kept key=${key} offset=${offset}`,
    tensors: {
      x: new Float32Array(rows).fill(1),
      keep,
      scale: new Float32Array(rows).fill(1),
      y: garbage(rows),
    },
    scalars: { rows, cols: 1, key, offset },
    expect: { y: Float32Array.from({ length: rows }, (_, r) => r % 2) },
  };
}

/** Finite x times 10 saturates, ±Inf and NaN pass, dropped elements are +0. */
function saturationRow(keep: number): Row {
  const x = [3e38, -3e38, Infinity, -Infinity, NaN, 1, 0, -0, 2, 1e38];
  const max = FLOAT32_MAX;
  return {
    what: `saturation keep=${keep}`,
    tensors: {
      x: new Float32Array(x),
      keep: new Uint32Array([keep]),
      scale: new Float32Array([10]),
      y: garbage(x.length),
    },
    scalars: { rows: 1, cols: x.length, key: 1, offset: 0 },
    expect: {
      y: keep === 0 ? new Float32Array(x.length) : new Float32Array([
        max,
        -max,
        Infinity,
        -Infinity,
        NaN,
        10,
        0,
        -0,
        20,
        max,
      ]),
    },
  };
}

export const mask_scale: KernelSpec = {
  rows() {
    const rows: Row[] = [];
    const shapes = [...SHAPES, ...BLOCK_SHAPES];
    for (const [i, [r, c]] of shapes.entries()) {
      const x = mixed(r * c, r * c + 99), params = maskParams(r, c);
      // Every key on small shapes and index blocks; two on other large
      // shapes, all six over them.
      const keys = r * c < 2 ** 16 || i >= SHAPES.length
        ? KEYS
        : [KEYS[i % 6], KEYS[(i + 3) % 6]];
      for (const key of keys) {
        rows.push(maskRow(shapeName(r, c), x, params, {
          rows: r,
          cols: c,
          key,
          offset: 0,
        }));
      }
    }
    // 2^24 + 3 elements in one row: 16385 workgroups in 65 grid rows.
    const big = 2 ** 24 + 3;
    rows.push(maskRow(shapeName(1, big), mixed(big, 7), maskParams(1, 0), {
      rows: 1,
      cols: big,
      key: 0xdeadbeef,
      offset: 0,
    }));
    for (const [r, c] of OFFSET_SHAPES) {
      const x = mixed(r * c, r * c + 17), params = maskParams(r, 3);
      // And one that wraps past 2^32 two rows before the tensor's end.
      for (const offset of [...OFFSETS, 2 ** 32 - 2 * c]) {
        rows.push(maskRow(shapeName(r, c), x, params, {
          rows: r,
          cols: c,
          key: 0x5bd1e995,
          offset,
        }));
      }
    }
    const wasmOnly = {
      webgpu: "WGSL may assume arithmetic meets no NaN or infinity, and " +
        "jumpout_params makes only finite scales",
    };
    for (const [r, c] of [[4, 5], [3, 341], [7, 149_797]]) {
      const x = mixed(r * c, 5), params = maskParams(r, 1, [Infinity, NaN, 2]);
      rows.push({
        ...maskRow(`${shapeName(r, c)} non-finite scales`, x, params, {
          rows: r,
          cols: c,
          key: 0x9e3779b9,
          offset: 0,
        }),
        skip: wasmOnly,
      });
    }
    rows.push(
      thresholdRow(0x12345678, 0),
      thresholdRow(0x2545f491, 2 ** 32 - 30),
      saturationRow(RATE_ONE),
      saturationRow(0),
    );
    return rows;
  },
  check: exact("y"),
};

/** Tolerance of jumpout_params's scale, relative, by backend. */
const SCALE_TOL = { reference: 0, wasm: 0, webgpu: 1e-6 };

/** A jumpout_params row over the given per-row counts and rates. */
function paramsRow(
  counts: Uint32Array,
  rate: Uint32Array,
  options: { cols: number; maxDrop: number; normalize: boolean; power: number },
): Row {
  const rows = rate.length;
  return {
    what: `rows=${rows} ${JSON.stringify(options)}`,
    tensors: { counts, rate, ...prefilled(rows) },
    scalars: { rows, ...options },
    skip: options.cols >= 2 ** 32
      ? { webgpu: U32_SIZES }
      : options.power > 2.5
      ? { webgpu: STEEP_POWERS }
      : undefined,
  };
}

const outputs = new Map<number, { keep: Uint32Array; scale: Float32Array }>();

/**
 * Stale keep thresholds and scales, for the kernel to overwrite; one pair per
 * size, shared by the rows (nothing writes host arrays).
 */
function prefilled(rows: number): { keep: Uint32Array; scale: Float32Array } {
  let pair = outputs.get(rows);
  if (pair === undefined) {
    pair = { keep: new Uint32Array(rows).fill(7), scale: garbage(rows) };
    outputs.set(rows, pair);
  }
  return pair;
}

/** Every rate against every count: 64 rows, rates and counts at their edges. */
function edgeRows(): { counts: Uint32Array; rate: Uint32Array } {
  const rates = [
    0,
    1,
    5_033_165,
    2 ** 23,
    RATE_ONE - 1,
    RATE_ONE,
    RATE_ONE + 1,
  ];
  const counts = [0, 1, 7, 1000, 2 ** 20, 0xffffffff, 3, 12_345];
  rates.push(0xffffffff);
  const n = rates.length * counts.length;
  return {
    rate: Uint32Array.from({ length: n }, (_, r) => rates[r % rates.length]),
    counts: Uint32Array.from(
      { length: n },
      (_, r) => counts[Math.floor(r / rates.length)],
    ),
  };
}

/** Random counts (a fifth 0, some above cols) and rates (a seventh 2^24). */
function randomRows(
  rows: number,
  cols: number,
): { counts: Uint32Array; rate: Uint32Array } {
  const counts = new Uint32Array(rows), rate = new Uint32Array(rows);
  const countUnit = units(cols), rateUnit = units(rows);
  for (let r = 0; r < rows; r++) {
    counts[r] = r % 5 === 0 ? 0 : Math.floor(countUnit(r) * (cols + 1));
    rate[r] = r % 7 === 0 ? RATE_ONE : Math.floor(rateUnit(r) * RATE_ONE);
  }
  return { counts, rate };
}

/**
 * Rows where `rate · cols / count` lands on, just below and just above
 * `maxDrop`, with products from below 2^32 to above 2^56: webgpu divides
 * them in 64-bit integer steps of its own.
 */
function divisionRows(): { counts: Uint32Array; rate: Uint32Array } {
  const maxDrop = 15_099_494, cols = 2 ** 32 - 1;
  const counts: number[] = [], rate: number[] = [];
  for (const count of [1, 3, 255, 65_537, 2 ** 24 + 1, 2 ** 31 + 11, cols]) {
    for (const target of [0, 1, maxDrop - 1, maxDrop, maxDrop + 1, 2 ** 32]) {
      // The smallest rate with floor(rate * cols / count) >= target, and
      // one more.
      const r = Number(
        (BigInt(target) * BigInt(count) + BigInt(count) - 1n) / BigInt(cols),
      );
      for (const v of [r, r + 1, RATE_ONE, 2 ** 32 - 1]) {
        counts.push(count);
        rate.push(Math.min(v, 2 ** 32 - 1));
      }
    }
  }
  return { counts: new Uint32Array(counts), rate: new Uint32Array(rate) };
}

export const jumpout_params: KernelSpec = {
  rows() {
    const rows: Row[] = [];
    const edges = edgeRows();
    for (const cols of [0, 1, 7, 1000, 2 ** 20, 2 ** 32 + 5, 2 ** 53 - 1]) {
      for (const normalize of [true, false]) {
        for (const maxDrop of [0, 2 ** 23, RATE_ONE, RATE_ONE + 5]) {
          for (const power of [0, 0.5, 0.75, 1, 1.7, 2, 40, 1e-300]) {
            rows.push(
              paramsRow(edges.counts, edges.rate, {
                cols,
                maxDrop,
                normalize,
                power,
              }),
            );
          }
        }
      }
    }
    const maxDrop = Math.round(0.95 * RATE_ONE);
    for (const n of [0, 1, 3, 4, 5, 1023, 2 ** 20 + 3]) {
      for (const cols of [1, 7, 1023, 2 ** 24 + 3, 2 ** 32 - 1]) {
        const { counts, rate } = randomRows(n, cols);
        for (const normalize of [true, false]) {
          for (const power of [0, 0.75, 2.5]) {
            if (n > 5000 && (power !== 0.75 || cols !== 1023)) continue;
            rows.push(
              paramsRow(counts, rate, { cols, maxDrop, normalize, power }),
            );
          }
        }
      }
    }
    const division = divisionRows();
    for (
      const [cols, maxDrop] of [
        [2 ** 32 - 1, 15_099_494],
        [2 ** 20, 15_099_494],
        [2 ** 32 - 1, 0],
        [2 ** 32 - 1, 2 ** 32 - 1],
      ]
    ) {
      rows.push(
        paramsRow(division.counts, division.rate, {
          cols,
          maxDrop,
          normalize: true,
          power: 0.75,
        }),
      );
    }
    // Every keep threshold from 1 to 2^24 once, for powers with and without
    // a shortcut in pow. No keep or scale is 0 here, so outputs of zeros
    // (allocated, not uploaded: these rows are 64 MB a tensor) show an
    // element the kernel skips.
    const every = new Uint32Array(RATE_ONE), none = new Uint32Array(RATE_ONE);
    for (let r = 0; r < RATE_ONE; r++) every[r] = r;
    const zeros = new Float32Array(RATE_ONE);
    for (const power of [0.25, 0.3, 0.75, 1.5, 2]) {
      const row = paramsRow(none, every, {
        cols: 1,
        maxDrop: 0,
        normalize: false,
        power,
      });
      rows.push({
        ...row,
        tensors: { ...row.tensors, keep: none, scale: zeros },
      });
    }
    return rows;
  },
  check(c, actual, expected, backend) {
    assertSameBits(actual.keep, expected.keep, `${c.what}: keep`);
    const tol = SCALE_TOL[backend], what = `${c.what}: scale`;
    if (tol === 0) assertSameBits(actual.scale, expected.scale, what);
    else {
      assertWithin(
        actual.scale,
        expected.scale,
        expected.scale.map(Math.abs),
        tol,
        what,
      );
    }
  },
};
