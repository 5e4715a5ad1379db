/**
 * The idx file format of MNIST-style data sets: read (plain or gzipped, from a
 * path, a URL or bytes) and write.
 *
 * A file is two zero bytes, a type byte (0x08: unsigned byte), the number of
 * dimensions, one big-endian uint32 size per dimension (outermost first), then
 * the values in row-major order.
 *
 * @module
 */

import { readLocalFile } from "./_local_files.ts";

/** An n-dimensional array of unsigned bytes, as an idx file holds it. */
export interface IdxArray {
  /** Dimensions, outermost first. */
  shape: number[];
  /** The values in row-major order, `product(shape)` of them. */
  data: Uint8Array;
}

/** The type byte of unsigned-byte data, the only type read here. */
const UNSIGNED_BYTE = 0x08;

/** Names of the other idx types, so a refusal says what the file holds. */
const TYPE_NAMES: Record<number, string> = {
  0x08: "unsigned byte",
  0x09: "signed byte",
  0x0b: "int16",
  0x0c: "int32",
  0x0d: "float32",
  0x0e: "float64",
};

/**
 * Decodes the bytes of an uncompressed idx file of unsigned bytes.
 *
 * @param bytes The whole file (not gzipped; {@linkcode readIdx} gunzips).
 * @param name What the bytes are, for error messages (a file name).
 * @returns The shape and a copy of the values.
 * @throws {RangeError} When the magic, type, number of dimensions or sizes
 *   are wrong, or the data is truncated or followed by trailing bytes; the
 *   message names the file.
 *
 * @example Decode a 2 × 3 array
 * ```ts
 * import { parseIdx } from "./idx.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const bytes = new Uint8Array([
 *   0, 0, 0x08, 2, // magic: unsigned bytes, two dimensions
 *   0, 0, 0, 2, 0, 0, 0, 3, // sizes 2 and 3, big-endian
 *   1, 2, 3, 4, 5, 6,
 * ]);
 * const { shape, data } = parseIdx(bytes, "tiny.idx");
 * deepEqual(shape, [2, 3]);
 * deepEqual([...data], [1, 2, 3, 4, 5, 6]);
 * ```
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  const fail = (detail: string): never => {
    throw new RangeError(`Cannot read idx file ${name}: ${detail}`);
  };
  if (bytes.length < 4) {
    fail(`the header must be at least 4 bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(
      `the magic must start with two zero bytes, got ${hex(bytes[0])} ${
        hex(bytes[1])
      }`,
    );
  }
  const type = bytes[2];
  if (type !== UNSIGNED_BYTE) {
    const known = TYPE_NAMES[type] ? ` (${TYPE_NAMES[type]})` : "";
    fail(
      `the type must be ${hex(UNSIGNED_BYTE)} (unsigned byte), got ${
        hex(type)
      }${known}`,
    );
  }
  const rank = bytes[3];
  if (rank === 0) fail("the number of dimensions must be at least 1, got 0");
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    fail(
      `the header must be ${headerLength} bytes for ${rank} dimensions, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  // A product past 2^53 is inexact, but then it is far beyond any byte length.
  const expected = shape.reduce((a, b) => a * b, 1);
  const got = bytes.length - headerLength;
  if (got !== expected) {
    const why = got < expected
      ? "truncated"
      : `${got - expected} trailing bytes`;
    fail(
      `the data must be ${expected} bytes for shape [${
        shape.join(", ")
      }], got ${got} (${why})`,
    );
  }
  return { shape, data: bytes.slice(headerLength) };
}

/**
 * Reads an idx file of unsigned bytes, gunzipping it first when it starts
 * with the gzip magic (1f 8b).
 *
 * @param source A file path, a URL (`URL`, or a string starting `file:`,
 *   `http:`, `https:`, `data:` or `blob:`; fetched), or the file's bytes.
 * @param name What the file is, for error messages (defaults to the path or
 *   URL, or `bytes`).
 * @returns The shape and the values.
 * @throws {Error} When the file cannot be read, its gzip data is corrupt, or
 *   {@linkcode parseIdx} refuses it; the message names the file.
 *
 * @example Read a gzipped file from its bytes
 * ```ts
 * import { encodeIdx, readIdx } from "./idx.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const plain = encodeIdx({ shape: [4], data: new Uint8Array([3, 1, 4, 1]) });
 * const gzipped = await new Response(
 *   new Blob([plain]).stream().pipeThrough(new CompressionStream("gzip")),
 * ).bytes();
 * const { shape, data } = await readIdx(gzipped, "labels.idx.gz");
 * deepEqual(shape, [4]);
 * deepEqual([...data], [3, 1, 4, 1]);
 * ```
 */
export async function readIdx(
  source: string | URL | Uint8Array,
  name?: string,
): Promise<IdxArray> {
  const label = name ??
    (source instanceof Uint8Array ? "bytes" : String(source));
  let bytes: Uint8Array;
  if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    try {
      bytes = await readSource(source);
    } catch (error) {
      throw new Error(
        `Cannot read idx file ${label}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = await gunzip(bytes, label);
  }
  return parseIdx(bytes, label);
}

/**
 * The bytes of an idx file of unsigned bytes (uncompressed).
 *
 * @param array The shape (1 to 255 dimensions, each below 2^32) and values.
 * @returns The file's bytes.
 * @throws {RangeError} When the shape is out of range or does not match the
 *   number of values.
 *
 * @example Write and read back
 * ```ts
 * import { encodeIdx, parseIdx } from "./idx.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const array = { shape: [1, 2, 2], data: new Uint8Array([0, 64, 128, 255]) };
 * deepEqual(parseIdx(encodeIdx(array), "round trip"), array);
 * ```
 */
export function encodeIdx(array: IdxArray): Uint8Array<ArrayBuffer> {
  const { shape, data } = array;
  if (
    shape.length < 1 || shape.length > 255 ||
    !shape.every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32)
  ) {
    throw new RangeError(
      `Cannot write idx file: shape must have 1 to 255 integer sizes in [0, 2^32), got [${
        shape.join(", ")
      }]`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(
      `Cannot write idx file: data must hold ${count} values for shape [${
        shape.join(", ")
      }], got ${data.length}`,
    );
  }
  const headerLength = 4 + 4 * shape.length;
  const bytes = new Uint8Array(headerLength + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(2, UNSIGNED_BYTE);
  view.setUint8(3, shape.length);
  shape.forEach((n, i) => view.setUint32(4 + 4 * i, n, false));
  bytes.set(data, headerLength);
  return bytes;
}

/** A byte as `0x..`, for messages. */
function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/** Strings that name a URL rather than a path. */
const URL_SCHEME = /^(file|https?|data|blob):/i;

/** The bytes behind a path (read from disk) or a URL (fetched). */
async function readSource(source: string | URL): Promise<Uint8Array> {
  if (typeof source === "string" && !URL_SCHEME.test(source)) {
    return await readLocalFile(source);
  }
  const response = await fetch(source);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(
      `the fetch must succeed, got ${response.status} ${response.statusText}`,
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** Decompresses gzip data, naming the file when it is corrupt. */
async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  // Blob takes no views of shared memory: those are copied first.
  const owned = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
  const stream = new Blob([owned]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new Error(
      `Cannot read idx file ${name}: the gzip data must be whole and valid, got ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
}
