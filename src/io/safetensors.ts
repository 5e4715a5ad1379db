/**
 * The safetensors file format: encode and decode, checked before anything
 * large is allocated; and weights files of a model's state on any backend.
 *
 * A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
 * {...}}`, padded with spaces), then the tensors' little-endian bytes, offsets
 * counted from the end of the header.
 *
 * @module
 */

import {
  checkMetadata,
  DTYPE_NAMES,
  DTYPES,
  elementCount,
  isSafetensorsDType,
  METADATA,
  readSafetensorsLayout,
  type SafetensorsDType,
  type SafetensorsEntry,
} from "./_safetensors_header.ts";
import type { Tensor } from "../backend.ts";
import { checkTensor, describe, sameShape, showShape } from "../_checks.ts";

// The header reads and checks the dtype, so it declares the type; it is
// public as part of this file's API.
export type { SafetensorsDType } from "./_safetensors_header.ts";

/** The host array of a safetensors tensor's values. */
export type SafetensorsData = Float32Array | Uint32Array | BigInt64Array;

/** One tensor of a safetensors file, on the host. */
export interface SafetensorsTensor {
  /**
   * `F32` with a `Float32Array`, `U32` with a `Uint32Array`, `I64` with a
   * `BigInt64Array`.
   */
  dtype: SafetensorsDType;
  /** Dimensions, outermost first. */
  shape: number[];
  /** The values, `product(shape)` of them. */
  data: SafetensorsData;
}

/** What {@linkcode decodeSafetensors} finds in a file. */
export interface SafetensorsFile {
  /** The tensors by name. */
  tensors: Map<string, SafetensorsTensor>;
  /** The free-form string pairs of `__metadata__` (empty when absent or null). */
  metadata: Record<string, string>;
}

/** The largest header this library reads; bigger ones are refused before decoding. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Writes tensors as a safetensors file: tensors are laid out in name order
 * (code-unit order), each at a 4-byte aligned offset.
 *
 * @param tensors The tensors by name (`__metadata__` is reserved).
 * @param metadata String pairs stored under `__metadata__`.
 * @returns The file's bytes.
 * @throws {TypeError | RangeError} When a name, dtype, shape or data is bad;
 *   the message names the tensor.
 *
 * @example Encode and decode two tensors
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const bytes = encodeSafetensors(new Map([
 *   ["w", { dtype: "F32", shape: [2], data: new Float32Array([1.5, -2]) }],
 *   ["n", { dtype: "U32", shape: [], data: new Uint32Array([7]) }],
 * ]), { format: "pt" });
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * deepEqual([...tensors.get("w")!.data], [1.5, -2]);
 * deepEqual(metadata, { format: "pt" });
 * ```
 */
export function encodeSafetensors(
  tensors: Map<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const what = "write safetensors";
  if (!(tensors instanceof Map)) {
    throw new TypeError(
      `Cannot ${what}: tensors must be a Map, got ${describe(tensors)}`,
    );
  }
  // No prototype: a tensor named "__proto__" stays an ordinary key.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) header[METADATA] = checkMetadata(metadata, what);
  const names = [...tensors.keys()].sort();
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    checkTensorEntry(name, t, what);
    const end = offset + t.data.byteLength;
    header[name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      data_offsets: [offset, end],
    };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Padding keeps the data 8-byte aligned in the file.
  const headerLength = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength);
  const start = 8 + headerLength;
  for (const name of names) {
    const { data } = tensors.get(name)!;
    const [begin] = (header[name] as { data_offsets: number[] }).data_offsets;
    bytes.set(littleEndianBytes(data), start + begin);
  }
  return bytes;
}

/**
 * Reads a safetensors file. Everything is checked before any tensor is
 * allocated: the header length against the file (and
 * {@linkcode SAFETENSORS_MAX_HEADER_BYTES}), the header as UTF-8 JSON (no
 * byte-order mark, no tensor or field twice), every entry's dtype, shape and
 * offsets (integers written as such: `4.0` is refused), and that the tensors
 * tile the data without overlaps or gaps. A `"__metadata__": null` reads as
 * no metadata, as in the reference implementation.
 *
 * @param bytes The whole file.
 * @returns The tensors (fresh arrays) and the metadata.
 * @throws {RangeError | TypeError | SyntaxError} When the file is malformed;
 *   the message names the tensor and the problem.
 *
 * @example Read a file written byte by byte
 * ```ts
 * import { decodeSafetensors } from "./safetensors.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const header = '{"x":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}}';
 * const bytes = new Uint8Array([header.length, 0, 0, 0, 0, 0, 0, 0,
 *   ...new TextEncoder().encode(header), 42, 0, 0, 0]);
 * deepEqual([...decodeSafetensors(bytes).tensors.get("x")!.data], [42]);
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  const { entries, metadata, data } = readSafetensorsLayout(
    bytes,
    SAFETENSORS_MAX_HEADER_BYTES,
  );
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of entries) {
    const { name, dtype, shape } = entry;
    tensors.set(name, { dtype, shape, data: copyData(data, entry) });
  }
  return { tensors, metadata };
}

/** A tensor's values as a fresh array, in host byte order. */
function copyData(
  data: Uint8Array,
  { dtype, begin, end }: SafetensorsEntry,
): SafetensorsData {
  const { array, bytes } = DTYPES[dtype];
  const out = new array((end - begin) / bytes);
  const outBytes = new Uint8Array(out.buffer);
  outBytes.set(data.subarray(begin, end));
  if (!LITTLE_ENDIAN) swapBytes(outBytes, bytes);
  return out;
}

/**
 * A float32 tensor's values for an upload: a view of the file where the host
 * is little-endian and the bytes are 4-byte aligned in an ArrayBuffer, else
 * a copy.
 */
function float32Data(data: Uint8Array, entry: SafetensorsEntry): Float32Array {
  const at = data.byteOffset + entry.begin;
  if (LITTLE_ENDIAN && at % 4 === 0 && data.buffer instanceof ArrayBuffer) {
    return new Float32Array(data.buffer, at, (entry.end - entry.begin) / 4);
  }
  return copyData(data, entry) as Float32Array;
}

function checkTensorEntry(
  name: string,
  t: SafetensorsTensor,
  what: string,
): void {
  const fail = (Err: typeof RangeError, detail: string): never => {
    throw new Err(`Cannot ${what}: tensor ${JSON.stringify(name)} ${detail}`);
  };
  if (typeof name !== "string" || name === "" || name === METADATA) {
    throw new TypeError(
      `Cannot ${what}: tensor names must be non-empty strings other than ${METADATA}, got ${
        JSON.stringify(name)
      }`,
    );
  }
  if (t === null || typeof t !== "object") {
    fail(TypeError, `must be { dtype, shape, data }, got ${String(t)}`);
  }
  const type = isSafetensorsDType(t.dtype) ? DTYPES[t.dtype].array : fail(
    TypeError,
    `has dtype ${String(t.dtype)}, expected ${DTYPE_NAMES}`,
  );
  if (!(t.data instanceof type)) {
    fail(
      TypeError,
      `must hold a ${type.name} for dtype ${t.dtype}, got ${describe(t.data)}`,
    );
  }
  if (
    !Array.isArray(t.shape) ||
    !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  ) {
    fail(
      RangeError,
      `must have a shape of non-negative integers, got ${
        JSON.stringify(t.shape)
      }`,
    );
  }
  const count = elementCount(t.shape);
  if (count === undefined) {
    fail(
      RangeError,
      `must have a shape of fewer than 2^53 elements, got ${
        showShape(t.shape)
      }`,
    );
  }
  if (count !== t.data.length) {
    fail(
      RangeError,
      `must have ${count} values for shape ${
        showShape(t.shape)
      }, got ${t.data.length}`,
    );
  }
}

/** A typed array's bytes in little-endian order (a view when the host is little-endian). */
function littleEndianBytes(data: SafetensorsData): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

/**
 * Reverses each group of `size` bytes in place (bit patterns, NaN payloads
 * included, are kept).
 */
function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) {
    bytes.subarray(i, i + size).reverse();
  }
}

/**
 * Writes a model's (or an optimiser's) state as a safetensors file, reading
 * each tensor from whichever backend holds it.
 *
 * @param state Float32 tensors by name, e.g. a model's `state()`.
 * @param metadata String pairs stored under `__metadata__`.
 * @returns The file's bytes.
 * @throws {TypeError} When a value is not a live float32 tensor.
 *
 * @example Save and reload two tensors
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { loadWeights, saveWeights } from "./safetensors.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const w = backend.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * const b = backend.tensor(new Float32Array([0.5, -0.5]), [2]);
 * const bytes = await saveWeights(new Map([["0.weight", w], ["0.bias", b]]));
 * const w2 = backend.allocate([2, 2]);
 * const b2 = backend.allocate([2]);
 * loadWeights(new Map([["0.weight", w2], ["0.bias", b2]]), bytes);
 * deepEqual([...(await backend.read(w2))], [1, 2, 3, 4]);
 * ```
 */
export async function saveWeights(
  state: Map<string, Tensor<"float32">>,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  const what = "save weights";
  checkState(state, what);
  const names = [...state.keys()];
  const values = await Promise.all(
    names.map((name) => state.get(name)!.backend.read(state.get(name)!)),
  );
  const tensors = new Map<string, SafetensorsTensor>();
  names.forEach((name, i) => {
    tensors.set(name, {
      dtype: "F32",
      shape: [...state.get(name)!.shape],
      data: values[i],
    });
  });
  return encodeSafetensors(tensors, metadata);
}

/** Options of {@linkcode loadWeights}. */
export interface LoadWeightsOptions {
  /** Whether a tensor of the file that `state` lacks is skipped (else refused). */
  ignore?: (name: string) => boolean;
}

/**
 * Loads a safetensors file into existing tensors. Every check comes first —
 * the file's format, every expected name present with the same shape and
 * dtype F32, no unexpected names — so on any error nothing has been written
 * and no tensor's values have been copied. The values are then uploaded
 * straight from `bytes` (copied first only where they are not 4-byte
 * aligned in memory, or on a big-endian host).
 *
 * @param state The tensors to overwrite, by name, e.g. a model's `state()`.
 * @param bytes The file.
 * @param options `ignore`: names the file may hold besides `state`'s, which
 *   are then skipped rather than refused (e.g. a checkpoint's optimiser
 *   state, when only the model is wanted).
 * @returns The file's metadata.
 * @throws {RangeError | TypeError | SyntaxError} When the file is malformed or
 *   does not match `state`; the message lists every missing, unexpected and
 *   mismatched name.
 *
 * @example A file that lacks a tensor writes nothing
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { loadWeights, saveWeights } from "./safetensors.ts";
 * import { deepEqual, throws } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const w = backend.tensor(new Float32Array([1, 2]), [2]);
 * const bytes = await saveWeights(new Map([["w", w]]));
 * const target = new Map([["w", backend.allocate([2])], ["b", backend.allocate([1])]]);
 * throws(() => loadWeights(target, bytes), /missing "b"/);
 * deepEqual([...(await backend.read(target.get("w")!))], [0, 0]);
 * ```
 */
export function loadWeights(
  state: Map<string, Tensor<"float32">>,
  bytes: Uint8Array,
  options: LoadWeightsOptions = {},
): Record<string, string> {
  const what = "load weights";
  checkState(state, what);
  // The layout is checked and compared first; only then are values read, each
  // straight from the file where it can be.
  const { entries, metadata, data } = readSafetensorsLayout(
    bytes,
    SAFETENSORS_MAX_HEADER_BYTES,
  );
  const tensors = new Map(entries.map((e) => [e.name, e]));
  const problems: string[] = [];
  for (const [name, target] of state) {
    const found = tensors.get(name);
    if (found === undefined) {
      problems.push(`missing ${JSON.stringify(name)}`);
    } else if (found.dtype !== "F32") {
      problems.push(
        `${
          JSON.stringify(name)
        } has dtype ${found.dtype} in the file, expected F32`,
      );
    } else if (!sameShape(found.shape, target.shape)) {
      problems.push(
        `${JSON.stringify(name)} has shape ${
          showShape(found.shape)
        } in the file, expected ${showShape(target.shape)}`,
      );
    }
  }
  const ignore = options.ignore ?? (() => false);
  for (const name of tensors.keys()) {
    if (!state.has(name) && !ignore(name)) {
      problems.push(`unexpected ${JSON.stringify(name)}`);
    }
  }
  if (problems.length > 0) {
    throw new RangeError(
      `Cannot ${what}: the file must hold exactly the expected tensors, got ${
        problems.join("; ")
      }`,
    );
  }
  for (const [name, target] of state) {
    target.backend.upload(target, float32Data(data, tensors.get(name)!));
  }
  return metadata;
}

/** Throws unless `state` maps names to live float32 tensors. */
function checkState(state: Map<string, Tensor<"float32">>, what: string) {
  if (!(state instanceof Map)) {
    throw new TypeError(
      `Cannot ${what}: state must be a Map of tensors, got ${describe(state)}`,
    );
  }
  for (const [name, t] of state) {
    checkTensor(t, what, `state ${JSON.stringify(name)}`);
  }
}
