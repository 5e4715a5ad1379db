/**
 * Reading a safetensors file's header and checking its layout, before any
 * tensor's data is touched.
 *
 * @module
 */

import { describe, showShape } from "../_checks.ts";

/**
 * Element types this library reads and writes: float32, uint32 and int64
 * (PyTorch's integer tensors, such as BatchNorm's `num_batches_tracked`).
 */
export type SafetensorsDType = "F32" | "U32" | "I64";

/** Each supported dtype's array type and bytes per element: the one table of them. */
export const DTYPES = {
  F32: { array: Float32Array, bytes: 4 },
  U32: { array: Uint32Array, bytes: 4 },
  I64: { array: BigInt64Array, bytes: 8 },
} as const;

/** The supported dtypes as a message lists them: `F32, U32 or I64`. */
export const DTYPE_NAMES = "F32, U32 or I64";

/**
 * Whether `dtype` is one of {@linkcode DTYPES}.
 *
 * @param dtype Any value.
 * @returns True for `F32`, `U32` and `I64`.
 *
 * @example Half precision is not supported
 * ```ts
 * import { isSafetensorsDType } from "./_safetensors_header.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([isSafetensorsDType("I64"), isSafetensorsDType("F16")], [true, false]);
 * ```
 */
export function isSafetensorsDType(dtype: unknown): dtype is SafetensorsDType {
  return typeof dtype === "string" && Object.hasOwn(DTYPES, dtype);
}

/** The header key of the free-form string pairs. */
export const METADATA = "__metadata__";

/** A checked header entry: where a tensor's bytes are in the data section. */
export interface SafetensorsEntry {
  /** The tensor's name. */
  name: string;
  /** Its dtype. */
  dtype: SafetensorsDType;
  /** Its dimensions. */
  shape: number[];
  /** First byte, from the start of the data section. */
  begin: number;
  /** One past the last byte, from the start of the data section. */
  end: number;
}

/** What {@linkcode readSafetensorsLayout} finds: everything but the tensors' values. */
export interface SafetensorsLayout {
  /** The tensors, in header order. */
  entries: SafetensorsEntry[];
  /** The string pairs of `__metadata__` (empty when absent or null). */
  metadata: Record<string, string>;
  /** The data section: a view of the file's bytes, not a copy. */
  data: Uint8Array;
}

/**
 * Checks a safetensors file's framing, header and layout without reading any
 * tensor's values: the header length (against the file and `maxHeaderBytes`),
 * the header as UTF-8 JSON without a byte-order mark, no key twice where the
 * format reads keys, every entry's dtype, shape and offsets (integers written
 * as such, not `4.0` or `1e2`), and that the tensors tile the data section
 * without overlaps or gaps.
 *
 * @param bytes The whole file.
 * @param maxHeaderBytes The largest header length accepted.
 * @returns The entries, the metadata and a view of the data section.
 * @throws {RangeError | TypeError | SyntaxError} When the file is malformed;
 *   the message names the tensor and the problem.
 *
 * @example The layout of a one-tensor file
 * ```ts
 * import { readSafetensorsLayout } from "./_safetensors_header.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const header = '{"x":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}}';
 * const bytes = new Uint8Array([header.length, 0, 0, 0, 0, 0, 0, 0,
 *   ...new TextEncoder().encode(header), 42, 0, 0, 0]);
 * const { entries, data } = readSafetensorsLayout(bytes, 1000);
 * deepEqual(entries, [{ name: "x", dtype: "U32", shape: [1], begin: 0, end: 4 }]);
 * deepEqual([...data], [42, 0, 0, 0]);
 * ```
 */
export function readSafetensorsLayout(
  bytes: Uint8Array,
  maxHeaderBytes: number,
): SafetensorsLayout {
  const what = "read safetensors";
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot ${what}: bytes must be a Uint8Array, got ${describe(bytes)}`,
    );
  }
  if (bytes.length < 8) {
    throw new RangeError(
      `Cannot ${what}: the file must hold at least the 8-byte header length, got ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A BigInt keeps lengths above 2^53 exact in the message.
  const headerLength = view.getBigUint64(0, true);
  const limit = Math.min(maxHeaderBytes, bytes.length - 8);
  if (headerLength > BigInt(limit)) {
    throw new RangeError(
      `Cannot ${what}: header length must be at most ${limit} (${
        limit === maxHeaderBytes ? "the header limit" : "the bytes after it"
      }), got ${headerLength}`,
    );
  }
  const end = 8 + Number(headerLength);
  const header = parseHeader(bytes.subarray(8, end), what);
  const data = bytes.subarray(end);
  const metadata = header[METADATA] === undefined || header[METADATA] === null
    ? {}
    : checkMetadata(header[METADATA], what);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA)
    .map(([name, entry]) => checkEntry(name, entry, data.length, what));
  checkTiling(entries, data.length, what);
  return { entries, metadata, data };
}

/**
 * The number of elements of a shape of safe integers, exact: 0 when a
 * dimension is 0, else undefined when the product reaches 2^53 (where
 * float64 products stop being exact).
 *
 * @param shape Non-negative safe integers.
 * @returns The product, or undefined when it is 2^53 or more.
 *
 * @example Exact counts, and none for a product too large to count
 * ```ts
 * import { elementCount } from "./_safetensors_header.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(elementCount([2, 3]), 6);
 * equal(elementCount([2 ** 52, 2 ** 52, 0]), 0);
 * equal(elementCount([2 ** 27, 2 ** 26]), undefined);
 * ```
 */
export function elementCount(shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return count;
}

/**
 * Checks the `__metadata__` value: an object of strings.
 *
 * @param metadata The value to check.
 * @param what Who is asking, for the message.
 * @returns A copy without a prototype chain to trip over (`__proto__` stays a key).
 * @throws {TypeError} When it is not an object of strings.
 *
 * @example Metadata is string pairs
 * ```ts
 * import { checkMetadata } from "./_safetensors_header.ts";
 * import { deepEqual, throws } from "node:assert/strict";
 *
 * deepEqual(checkMetadata({ format: "pt" }, "example"), { format: "pt" });
 * throws(() => checkMetadata({ epoch: 3 }, "example"), /values must be strings/);
 * ```
 */
export function checkMetadata(
  metadata: unknown,
  what: string,
): Record<string, string> {
  if (
    metadata === null || typeof metadata !== "object" ||
    Array.isArray(metadata)
  ) {
    throw new TypeError(
      `Cannot ${what}: ${METADATA} must be an object of strings, got ${
        JSON.stringify(metadata)
      }`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot ${what}: ${METADATA} values must be strings, got ${
          JSON.stringify(key)
        }: ${JSON.stringify(value)}`,
      );
    }
    // defineProperty: a key named "__proto__" stays an ordinary key.
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function parseHeader(json: Uint8Array, what: string): Record<string, unknown> {
  // The reference reader refuses a byte-order mark: so does this one.
  if (json[0] === 0xef && json[1] === 0xbb && json[2] === 0xbf) {
    throw new SyntaxError(
      `Cannot ${what}: the header must be JSON without a byte-order mark, got EF BB BF first`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
      .decode(json);
  } catch {
    throw new SyntaxError(
      `Cannot ${what}: the header must be UTF-8 text, got invalid bytes`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot ${what}: the header must be JSON, got ${
        (error as Error).message
      }`,
    );
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new TypeError(
      `Cannot ${what}: the header must be a JSON object, got ${
        header === null
          ? "null"
          : Array.isArray(header)
          ? "an array"
          : typeof header
      }`,
    );
  }
  checkHeaderText(text, what);
  return header as Record<string, unknown>;
}

/** An object or array open at some point of {@linkcode checkHeaderText}'s scan. */
interface Open {
  /** Whether it is an object (else an array). */
  object: boolean;
  /** The key it is the value of, in its parent object. */
  key: string | undefined;
  /** Where it starts in the text. */
  start: number;
  /** The keys seen so far, for an object. */
  keys: Set<string>;
  /** The latest of them. */
  lastKey: string | undefined;
  /** Whether the next string is a key, for an object. */
  expectKey: boolean;
  /** Whether it holds a number not written as a plain integer. */
  nonInteger: boolean;
}

const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const PLAIN_INTEGER = /^\d+$/;

/**
 * What `JSON.parse` lets through and the format forbids, found in the text
 * of a header that parsed: a key twice at the top or in a tensor entry (the
 * parse keeps only the last), and shape or data_offsets numbers written as
 * decimals or exponents (`4.0`, `1e2`, `-0`), which the parse turns into
 * integers. Metadata keys may repeat (the last wins) and fields the format
 * does not read are not looked into, as in the reference reader.
 */
function checkHeaderText(text: string, what: string): void {
  const stack: Open[] = [];
  const top = () => stack[stack.length - 1];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") {
      const parent = top();
      stack.push({
        object: c === "{",
        key: parent?.object ? parent.lastKey : undefined,
        start: i,
        keys: new Set(),
        lastKey: undefined,
        expectKey: c === "{",
        nonInteger: false,
      });
    } else if (c === "}" || c === "]") {
      const closed = stack.pop()!;
      if (closed.nonInteger) {
        const entry = stack[1];
        throw new RangeError(
          `Cannot ${what}: tensor ${JSON.stringify(entry.key)} must have ${
            closed.key === "shape" ? "a shape" : "data_offsets [begin, end]"
          } of non-negative integers, got ${text.slice(closed.start, i + 1)}`,
        );
      }
    } else if (c === ",") {
      const open = top();
      if (open.object) open.expectKey = true;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const open = top();
      if (open.object && open.expectKey) {
        open.expectKey = false;
        checkKey(stack, JSON.parse(text.slice(i, j + 1)), what);
      }
      i = j;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      const token = NUMBER.exec(text)![0];
      const open = top();
      if (
        stack.length === 3 && !open.object && stack[1].key !== METADATA &&
        (open.key === "shape" || open.key === "data_offsets") &&
        !PLAIN_INTEGER.test(token)
      ) {
        open.nonInteger = true;
      }
      i += token.length - 1;
    }
  }
}

/** Records a key of the innermost open object; throws when the format reads it and it is there already. */
function checkKey(stack: Open[], key: string, what: string): void {
  const open = stack[stack.length - 1];
  const depth = stack.length;
  if (open.keys.has(key)) {
    if (depth === 1) {
      throw new SyntaxError(
        `Cannot ${what}: ${
          key === METADATA ? METADATA : `tensor ${JSON.stringify(key)}`
        } appears twice in the header`,
      );
    }
    if (depth === 2 && open.key !== METADATA) {
      throw new SyntaxError(
        `Cannot ${what}: tensor ${
          JSON.stringify(open.key)
        } must have each field once, got ${JSON.stringify(key)} twice`,
      );
    }
  }
  open.keys.add(key);
  open.lastKey = key;
}

function checkEntry(
  name: string,
  entry: unknown,
  dataLength: number,
  what: string,
): SafetensorsEntry {
  const fail = (Err: typeof RangeError, detail: string): never => {
    throw new Err(`Cannot ${what}: tensor ${JSON.stringify(name)} ${detail}`);
  };
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    fail(TypeError, `must be an object, got ${JSON.stringify(entry)}`);
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<
    string,
    unknown
  >;
  if (!isSafetensorsDType(dtype)) {
    fail(TypeError, `has dtype ${String(dtype)}, expected ${DTYPE_NAMES}`);
  }
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  ) {
    fail(
      RangeError,
      `must have a shape of non-negative integers, got ${
        JSON.stringify(shape)
      }`,
    );
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    fail(
      RangeError,
      `must have data_offsets [begin, end] of non-negative integers, got ${
        JSON.stringify(offsets)
      }`,
    );
  }
  const [begin, end] = offsets as number[];
  if (begin > end || end > dataLength) {
    fail(
      RangeError,
      `must have data_offsets with begin <= end <= ${dataLength} (the data size), got [${begin}, ${end}]`,
    );
  }
  const dims = showShape(shape as number[]);
  const count = elementCount(shape as number[]);
  if (count === undefined) {
    fail(
      RangeError,
      `must have a shape of fewer than 2^53 elements, got ${dims} (2^53 elements or more)`,
    );
  }
  // Exact even where count · bytes passes 2^53.
  const bytes = DTYPES[dtype as SafetensorsDType].bytes;
  const size = BigInt(count!) * BigInt(bytes);
  if (size !== BigInt(end - begin)) {
    fail(
      RangeError,
      `must have ${count} × ${bytes} = ${size} bytes for shape ${dims}, got data_offsets [${begin}, ${end}] (${
        end - begin
      } bytes)`,
    );
  }
  return {
    name,
    dtype: dtype as SafetensorsDType,
    shape: [...(shape as number[])],
    begin,
    end,
  };
}

/** The tensors must cover the data exactly: no overlaps, no gaps, nothing after. */
function checkTiling(
  entries: SafetensorsEntry[],
  dataLength: number,
  what: string,
): void {
  const sorted = [...entries].sort((a, b) =>
    a.begin - b.begin || a.end - b.end
  );
  let covered = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of sorted) {
    if (e.begin < covered) {
      throw new RangeError(
        `Cannot ${what}: tensor ${JSON.stringify(e.name)} overlaps tensor ${
          JSON.stringify(previous!.name)
        }, got data_offsets [${e.begin}, ${e.end}] and [${previous!.begin}, ${
          previous!.end
        }]`,
      );
    }
    if (e.begin > covered) {
      throw new RangeError(
        `Cannot ${what}: tensor ${
          JSON.stringify(e.name)
        } must start where the previous data ends, at ${covered}, got a gap: data_offsets [${e.begin}, ${e.end}]`,
      );
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) {
    throw new RangeError(
      `Cannot ${what}: the tensors must cover all ${dataLength} data bytes, got ${
        dataLength - covered
      } bytes after the last tensor`,
    );
  }
}
