import { deepEqual, equal, notDeepEqual, ok, throws } from "node:assert/strict";
import { augmentImages, type AugmentImagesOptions } from "../mod.ts";
import { shardRows } from "../src/parallel/shards.ts";

/** The draw of each image, read off its augmented copy. */
interface Draw {
  dy: number;
  dx: number;
  mirrored: boolean;
}

/** Side of the coded images {@linkcode drawsOf} augments. */
const SIDE = 16;

/**
 * Each image's (dy, dx, mirrored), read off the augmented copies of images
 * whose pixel (i, j) holds 1 + 16i + j: with padding <= 4 the pixels at (8, 7)
 * and (8, 8) always come from inside the image, and name where they came from.
 */
function drawsOf(
  rows: number,
  options: Partial<AugmentImagesOptions> & { seed: number; step: number },
): Draw[] {
  const size = SIDE * SIDE;
  const x = new Float32Array(rows * size);
  for (let k = 0; k < x.length; k++) x[k] = 1 + (k % size);
  const out = augmentImages(x, new Float32Array(x.length), {
    channels: 1,
    height: SIDE,
    width: SIDE,
    ...options,
  });
  return Array.from({ length: rows }, (_, r) => {
    const at = (j: number) => out[r * size + 8 * SIDE + j] - 1;
    const [left, centre] = [at(7), at(8)];
    const mirrored = left % SIDE > centre % SIDE;
    return {
      dy: Math.floor(centre / SIDE) - 8,
      dx: (centre % SIDE) - (mirrored ? 7 : 8),
      mirrored,
    };
  });
}

/** Two images of 2 channels × 3 rows × 4 columns: 1…24, then 101…124. */
const IMAGES = Float32Array.from(
  { length: 48 },
  (_, k) => k < 24 ? 1 + k : 101 + k - 24,
);
const SHAPE = { channels: 2, height: 3, width: 4 };

Deno.test("augmentImages: two known images cropped and flipped exactly", () => {
  // Seed 5, step 0, padding 1 draws (dy, dx, mirrored) = (-1, -1, yes) for
  // image 0 and (1, 0, no) for image 1 (pinned: the draws are part of the
  // contract, as the masks are).
  deepEqual(drawsOf(2, { seed: 5, step: 0, padding: 1 }), [
    { dy: -1, dx: -1, mirrored: true },
    { dy: 1, dx: 0, mirrored: false },
  ]);
  const out = augmentImages(IMAGES, new Float32Array(48), {
    ...SHAPE,
    padding: 1,
    fill: -1,
    seed: 5,
    step: 0,
  });
  const f = -1;
  deepEqual([...out], [
    // Image 0: the padded image cropped at its top-left corner
    // (one row and one column of fill), then mirrored.
    ...[f, f, f, f, 3, 2, 1, f, 7, 6, 5, f],
    ...[f, f, f, f, 15, 14, 13, f, 19, 18, 17, f],
    // Image 1: shifted up one row, the last row fill.
    ...[105, 106, 107, 108, 109, 110, 111, 112, f, f, f, f],
    ...[117, 118, 119, 120, 121, 122, 123, 124, f, f, f, f],
  ]);
  // The default fill is 0.
  const zero = augmentImages(IMAGES, new Float32Array(48), {
    ...SHAPE,
    padding: 1,
    seed: 5,
    step: 0,
  });
  deepEqual([...zero], [...out].map((v) => v === -1 ? 0 : v));
});

Deno.test("augmentImages: no padding and no flip copies; no padding flips or copies", () => {
  const copy = augmentImages(IMAGES, new Float32Array(48), {
    ...SHAPE,
    padding: 0,
    flip: false,
    seed: 1,
    step: 0,
  });
  deepEqual(copy, IMAGES);
  const mirror = (image: number[]) =>
    Array.from({ length: image.length }, (_, k) => {
      const j = k % 4;
      return image[k - j + 3 - j];
    });
  const seen = new Set<string>();
  for (let step = 0; step < 8; step++) {
    const out = augmentImages(IMAGES, new Float32Array(48), {
      ...SHAPE,
      padding: 0,
      seed: 1,
      step,
    });
    for (const r of [0, 1]) {
      const image = [...IMAGES.subarray(24 * r, 24 * r + 24)];
      const got = [...out.subarray(24 * r, 24 * r + 24)];
      const same = got.join() === image.join();
      ok(same || got.join() === mirror(image).join(), `step ${step}`);
      seen.add(same ? "copy" : "mirror");
    }
  }
  deepEqual([...seen].sort(), ["copy", "mirror"]);
});

Deno.test("augmentImages: shards with their row offsets get the whole batch's draws, however it is split", () => {
  const rows = 11;
  const size = 3 * 8 * 8;
  const x = Float32Array.from({ length: rows * size }, (_, k) => k % 97);
  const shape = { channels: 3, height: 8, width: 8, seed: 9, step: 4 };
  const whole = augmentImages(x, new Float32Array(x.length), shape);
  for (const parts of [1, 2, 3, 4, 11]) {
    const joined = new Float32Array(x.length);
    for (const { offset, rows: count } of shardRows(rows, parts)) {
      const part = x.subarray(offset * size, (offset + count) * size);
      joined.set(
        augmentImages(part, new Float32Array(part.length), {
          ...shape,
          rowOffset: offset,
        }),
        offset * size,
      );
    }
    deepEqual(joined, whole, `${parts} shards`);
  }
  // Not the same as numbering each shard from 0.
  const second = x.subarray(6 * size);
  notDeepEqual(
    augmentImages(second, new Float32Array(second.length), shape),
    whole.subarray(6 * size),
  );
});

Deno.test("augmentImages: each step and seed draws afresh; the same ones draw the same", () => {
  const at = (seed: number, step: number) => drawsOf(64, { seed, step });
  deepEqual(at(3, 7), at(3, 7));
  notDeepEqual(at(3, 7), at(3, 8));
  notDeepEqual(at(3, 7), at(4, 7));
  // Most images move between two steps, not just a few.
  const [a, b] = [at(3, 7), at(3, 8)];
  const moved = a.filter((d, i) => JSON.stringify(d) !== JSON.stringify(b[i]));
  ok(moved.length > 48, String(moved.length));
  // Turning the flip off keeps the crops.
  deepEqual(
    drawsOf(64, { seed: 3, step: 7, flip: false }),
    a.map((d) => ({ ...d, mirrored: false })),
  );
});

Deno.test("augmentImages: offsets are uniform over [-4, 4]² and flips fair (chi-square, fixed seed)", () => {
  const draws = [0, 1, 2, 3].flatMap((step) =>
    drawsOf(5000, { seed: 2024, step, rowOffset: 1000 * step })
  );
  const n = draws.length;
  const cells = new Array(81).fill(0);
  let mirrored = 0;
  for (const d of draws) {
    ok(Math.abs(d.dy) <= 4 && Math.abs(d.dx) <= 4, JSON.stringify(d));
    cells[(d.dy + 4) * 9 + d.dx + 4]++;
    if (d.mirrored) mirrored++;
  }
  const expected = n / 81;
  const chi2 = cells.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  // The 0.999 quantile of chi-square with 80 degrees of freedom.
  ok(chi2 < 124.84, `chi-square ${chi2.toFixed(1)} over 81 cells`);
  ok(cells.every((c) => c > 0));
  // Within 4 standard deviations of n/2.
  ok(
    Math.abs(mirrored - n / 2) < 4 * Math.sqrt(n / 4),
    `${mirrored} of ${n} mirrored`,
  );
});

Deno.test("augmentImages: an empty batch, and subarrays of one buffer that do not overlap", () => {
  const opts = { ...SHAPE, seed: 1, step: 0, padding: 1 };
  equal(
    augmentImages(new Float32Array(0), new Float32Array(0), opts).length,
    0,
  );
  const buffer = new Float32Array(96);
  buffer.set(IMAGES);
  augmentImages(buffer.subarray(0, 48), buffer.subarray(48), opts);
  deepEqual(
    buffer.subarray(48),
    augmentImages(IMAGES, new Float32Array(48), opts),
  );
});

Deno.test("augmentImages: every bad argument is refused, naming it", () => {
  const base: AugmentImagesOptions = { ...SHAPE, padding: 1, seed: 1, step: 0 };
  const x = IMAGES;
  const refused = (
    args: [unknown, unknown, unknown],
    Err: typeof TypeError | typeof RangeError,
    detail: string,
  ) =>
    throws(
      () => augmentImages(...(args as Parameters<typeof augmentImages>)),
      (e: unknown) => {
        ok(e instanceof Err, `expected a ${Err.name}, got ${e}`);
        equal((e as Error).message, `Cannot augment images: ${detail}`);
        return true;
      },
    );
  const out = new Float32Array(48);
  const bad = (changes: Record<string, unknown>) =>
    [x, out, {
      ...base,
      ...changes,
    }] as [unknown, unknown, unknown];
  refused(
    [[1, 2], out, base],
    TypeError,
    "x must be a Float32Array, got Array",
  );
  refused(
    [x, new Float64Array(48), base],
    TypeError,
    "out must be a Float32Array, got Float64Array",
  );
  refused([x, out, null], TypeError, "options must be an object, got null");
  refused(
    bad({ channels: 0 }),
    RangeError,
    "channels must be an integer >= 1, got 0",
  );
  refused(
    bad({ height: 1.5 }),
    RangeError,
    "height must be an integer >= 1, got 1.5",
  );
  refused(
    bad({ width: "4" }),
    RangeError,
    "width must be an integer >= 1, got 4",
  );
  refused(
    bad({ padding: -1 }),
    RangeError,
    "padding must be an integer in [0, 3] (the image's smaller side), got -1",
  );
  refused(
    bad({ padding: 4 }),
    RangeError,
    "padding must be an integer in [0, 3] (the image's smaller side), got 4",
  );
  refused(
    [x, out, { ...SHAPE, seed: 1, step: 0 }],
    RangeError,
    "padding must be an integer in [0, 3] (the image's smaller side), got 4",
  ); // the default, too big for 3 × 4 images
  refused(
    bad({ padding: 0.5 }),
    RangeError,
    "padding must be an integer in [0, 3] (the image's smaller side), got 0.5",
  );
  refused(
    bad({ flip: "yes" }),
    TypeError,
    'flip must be a boolean, got "yes"',
  );
  refused(
    bad({ fill: NaN }),
    RangeError,
    "fill must be a finite number, got NaN",
  );
  refused(
    bad({ fill: "0" }),
    RangeError,
    'fill must be a finite number, got "0"',
  );
  refused(
    bad({ seed: -1 }),
    RangeError,
    "seed must be an integer in [0, 2^32), got -1",
  );
  refused(
    bad({ step: -1 }),
    RangeError,
    "step must be an integer >= 0, got -1",
  );
  refused(
    bad({ rowOffset: 0.5 }),
    RangeError,
    "rowOffset must be an integer >= 0, got 0.5",
  );
  refused(
    bad({ pad: 4 }),
    TypeError,
    "pad is not an option (padding, flip, fill, channels, height, width, seed, step, rowOffset), got 4",
  );
  refused(
    [x.subarray(0, 40), out.subarray(0, 40), base],
    RangeError,
    "x must hold a whole number of 2 × 3 × 4 images (24 values each), got 40 values",
  );
  refused(
    [x, new Float32Array(24), base],
    RangeError,
    "out must have as many values as x (48), got 24",
  );
  const shared = new Float32Array(60);
  refused(
    [shared.subarray(0, 48), shared.subarray(12), base],
    RangeError,
    "out must not share memory with x, got overlapping views of one buffer",
  );
});
