/**
 * The idx format: files built byte by byte (independently of the encoder) read
 * right, plain or gzipped, from bytes, paths and URLs; malformed files are
 * refused with a message that names the file and what is wrong.
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { encodeIdx, parseIdx, readIdx } from "../src/data/idx.ts";

/** An idx file written by hand: magic, big-endian sizes, then the bytes. */
function idxBytes(
  type: number,
  shape: number[],
  data: number[],
): Uint8Array {
  const header = [0, 0, type, shape.length];
  for (const n of shape) {
    header.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  }
  return new Uint8Array([...header, ...data]);
}

/** Gzip-compressed bytes. */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Runs `fn` in a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** 2 images of 3 × 4 pixels: values 0..23 then some near 255. */
const IMAGE_VALUES = [
  ...Array.from({ length: 12 }, (_, i) => i),
  ...Array.from({ length: 12 }, (_, i) => 255 - i),
];

Deno.test("parseIdx: 1-D labels and 3-D images", () => {
  const labels = parseIdx(idxBytes(0x08, [5], [9, 0, 3, 3, 7]), "labels");
  deepEqual(labels.shape, [5]);
  deepEqual([...labels.data], [9, 0, 3, 3, 7]);
  const images = parseIdx(idxBytes(0x08, [2, 3, 4], IMAGE_VALUES), "images");
  deepEqual(images.shape, [2, 3, 4]);
  deepEqual([...images.data], IMAGE_VALUES);
});

Deno.test("parseIdx: sizes are big-endian and may exceed one byte", () => {
  // 300 = 0x012c: a little-endian reader would see 0x2c010000.
  const data = Array.from({ length: 300 }, (_, i) => i % 256);
  const { shape, data: read } = parseIdx(idxBytes(0x08, [300], data), "long");
  deepEqual(shape, [300]);
  deepEqual([...read], data);
});

Deno.test("parseIdx: reads a view at an offset into a larger buffer, and copies", () => {
  const file = idxBytes(0x08, [3], [4, 5, 6]);
  const big = new Uint8Array(file.length + 10).fill(0xee);
  big.set(file, 7);
  const view = big.subarray(7, 7 + file.length);
  const { shape, data } = parseIdx(view, "view");
  deepEqual(shape, [3]);
  deepEqual([...data], [4, 5, 6]);
  big[7 + file.length - 1] = 99;
  equal(data[2], 6, "the result must not alias the input");
});

Deno.test("parseIdx: an empty dimension gives no data", () => {
  const { shape, data } = parseIdx(idxBytes(0x08, [0, 28, 28], []), "empty");
  deepEqual(shape, [0, 28, 28]);
  equal(data.length, 0);
});

Deno.test("parseIdx: bad magic names the file and the bytes", () => {
  const bytes = idxBytes(0x08, [2], [1, 2]);
  bytes[0] = 0x01;
  bytes[1] = 0x2a;
  throws(
    () => parseIdx(bytes, "a.idx"),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot read idx file a.idx: the magic must start with two zero bytes, got 0x01 0x2a",
  );
  // An MNIST file read as little-endian would start with its type byte.
  throws(() => parseIdx(new Uint8Array([8, 0, 0, 0, 3]), "b"), /got 0x08 0x00/);
});

Deno.test("parseIdx: types other than unsigned byte are refused by name", () => {
  throws(
    () => parseIdx(idxBytes(0x0d, [1], [0, 0, 0, 0]), "floats.idx"),
    {
      message:
        "Cannot read idx file floats.idx: the type must be 0x08 (unsigned byte), got 0x0d (float32)",
    },
  );
  throws(
    () => parseIdx(idxBytes(0x09, [1], [1]), "s"),
    /got 0x09 \(signed byte\)/,
  );
  throws(() => parseIdx(idxBytes(0x42, [1], [1]), "s"), /got 0x42$/);
});

Deno.test("parseIdx: zero dimensions and short headers are refused", () => {
  throws(
    () => parseIdx(new Uint8Array([0, 0, 8, 0, 5]), "scalar"),
    {
      message:
        "Cannot read idx file scalar: the number of dimensions must be at least 1, got 0",
    },
  );
  throws(
    () => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), "short"),
    {
      message:
        "Cannot read idx file short: the header must be 16 bytes for 3 dimensions, got 10",
    },
  );
  throws(
    () => parseIdx(new Uint8Array([0, 0]), "tiny"),
    /at least 4 bytes, got 2/,
  );
});

Deno.test("parseIdx: truncated data and trailing bytes are refused", () => {
  const whole = idxBytes(0x08, [2, 3, 4], IMAGE_VALUES);
  throws(
    () => parseIdx(whole.subarray(0, whole.length - 1), "cut.idx"),
    {
      message:
        "Cannot read idx file cut.idx: the data must be 24 bytes for shape [2, 3, 4], got 23 (truncated)",
    },
  );
  throws(
    () => parseIdx(new Uint8Array([...whole, 0, 0, 0]), "long.idx"),
    {
      message:
        "Cannot read idx file long.idx: the data must be 24 bytes for shape [2, 3, 4], got 27 (3 trailing bytes)",
    },
  );
  // Sizes whose product overflows 32 bits must not wrap around to a match.
  throws(
    () => parseIdx(idxBytes(0x08, [65536, 65536], []), "huge"),
    /must be 4294967296 bytes .* got 0 \(truncated\)/,
  );
});

Deno.test("readIdx: plain and gzipped, from bytes, a path and file: URLs", async () => {
  await inTempDir(async (dir) => {
    const plain = idxBytes(0x08, [2, 3, 4], IMAGE_VALUES);
    const gzipped = await gzip(plain);
    ok(gzipped[0] === 0x1f && gzipped[1] === 0x8b);
    await Deno.writeFile(`${dir}/images.idx`, plain);
    await Deno.writeFile(`${dir}/images.idx.gz`, gzipped);
    const url = new URL(`file://${dir}/images.idx.gz`);
    for (
      const source of [
        plain,
        gzipped,
        `${dir}/images.idx`,
        `${dir}/images.idx.gz`,
        url,
        url.href,
      ]
    ) {
      const { shape, data } = await readIdx(source);
      deepEqual(shape, [2, 3, 4], `shape from ${source}`);
      deepEqual([...data], IMAGE_VALUES, `data from ${source}`);
    }
  });
});

Deno.test("readIdx: errors name the path, URL or given name", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/labels.idx`;
    await Deno.writeFile(path, idxBytes(0x08, [3], [1, 2]));
    await rejects(
      readIdx(path),
      {
        message:
          `Cannot read idx file ${path}: the data must be 3 bytes for shape [3], got 2 (truncated)`,
      },
    );
    const gzipped = await gzip(idxBytes(0x08, [3], [1, 2, 3, 4]));
    await rejects(
      readIdx(gzipped, "labels.gz"),
      /^RangeError: Cannot read idx file labels.gz: .* got 4 \(1 trailing bytes\)$/,
    );
    await rejects(
      readIdx(`${dir}/absent.idx`),
      (e: Error) =>
        e.message.startsWith(`Cannot read idx file ${dir}/absent.idx: `) &&
        e.cause instanceof Deno.errors.NotFound,
    );
    await rejects(
      readIdx(new URL(`file://${dir}/absent.idx`)),
      (e: Error) =>
        e.message.startsWith(`Cannot read idx file file://${dir}/absent.idx: `),
    );
  });
});

Deno.test("readIdx: corrupt or truncated gzip data is refused by name", async () => {
  const gzipped = await gzip(idxBytes(0x08, [2, 3, 4], IMAGE_VALUES));
  const flipped = gzipped.slice();
  flipped[12] ^= 0xff; // inside the deflate stream, past the 10-byte header
  await rejects(
    readIdx(flipped, "flipped.gz"),
    /^Error: Cannot read idx file flipped.gz: the gzip data must be whole and valid, got /,
  );
  await rejects(
    readIdx(gzipped.subarray(0, gzipped.length - 4), "cut.gz"),
    /^Error: Cannot read idx file cut.gz: the gzip data must be whole and valid, got /,
  );
  // Only the gzip magic switches to gunzipping: other bytes go to the parser.
  await rejects(
    readIdx(new Uint8Array([0x1f, 0x8c, 8, 1]), "not-gzip"),
    /the magic must start with two zero bytes, got 0x1f 0x8c/,
  );
});

Deno.test("readIdx: fetches http URLs, and names the URL on a failed fetch", async () => {
  const file = idxBytes(0x08, [3], [7, 8, 9]);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) =>
      new URL(request.url).pathname === "/labels.idx"
        ? new Response(file as Uint8Array<ArrayBuffer>)
        : new Response("no", { status: 404, statusText: "Not Found" }),
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const { shape, data } = await readIdx(`${base}/labels.idx`);
    deepEqual(shape, [3]);
    deepEqual([...data], [7, 8, 9]);
    await rejects(
      readIdx(new URL(`${base}/absent.idx`)),
      {
        message:
          `Cannot read idx file ${base}/absent.idx: the fetch must succeed, got 404 Not Found`,
      },
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("encodeIdx: writes the bytes a hand-built file has", () => {
  deepEqual(
    encodeIdx({ shape: [2, 3, 4], data: new Uint8Array(IMAGE_VALUES) }),
    idxBytes(0x08, [2, 3, 4], IMAGE_VALUES),
  );
  deepEqual(
    encodeIdx({ shape: [300], data: new Uint8Array(300) }).subarray(0, 8),
    new Uint8Array([0, 0, 8, 1, 0, 0, 1, 0x2c]),
  );
});

Deno.test("encodeIdx: refuses shapes that do not fit the data or the format", () => {
  throws(
    () => encodeIdx({ shape: [2, 2], data: new Uint8Array(3) }),
    {
      message:
        "Cannot write idx file: data must hold 4 values for shape [2, 2], got 3",
    },
  );
  throws(() => encodeIdx({ shape: [], data: new Uint8Array(1) }), /1 to 255/);
  throws(
    () => encodeIdx({ shape: [1.5], data: new Uint8Array(1) }),
    /got \[1.5\]/,
  );
  throws(
    () => encodeIdx({ shape: [2 ** 32], data: new Uint8Array(0) }),
    /2\^32/,
  );
});
