/**
 * Safetensors files: exact round trips (bit for bit), the byte layout checked
 * by hand independently of the encoder, malformed files refused with a clear
 * message, and weights loads that write nothing unless everything matches.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { createBackend, type Tensor } from "../mod.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  loadWeights,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsTensor,
  saveWeights,
} from "../src/io/safetensors.ts";
import { assertSameBits } from "./_helpers/assert.ts";
import { ignoreBackend, withBackend } from "./_helpers/backends.ts";

const backend = await createBackend("reference");

/** Float32 values with awkward bit patterns: NaN payloads, -0, ±Inf, subnormals. */
const AWKWARD_BITS = new Uint32Array([
  0x7fc00001, // quiet NaN with a payload
  0xffc12345, // negative NaN with a payload
  0x7f800001, // signalling NaN
  0x80000000, // -0
  0x00000000,
  0x7f800000, // +Inf
  0xff800000, // -Inf
  0x00000001, // smallest subnormal
  0x7f7fffff, // FLOAT32_MAX
  0x3f800000, // 1
]);

/** A file built byte by byte: 8-byte length, the header text as given, the data. */
function file(header: string, data: number[] = []): Uint8Array {
  const json = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + json.length + data.length);
  let n = json.length;
  for (let i = 0; i < 8; i++, n = Math.floor(n / 256)) bytes[i] = n % 256;
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

Deno.test("a file written byte by byte decodes right", () => {
  const header = JSON.stringify({
    __metadata__: { format: "pt", note: "by hand" },
    "b": { dtype: "U32", shape: [2], data_offsets: [8, 16] },
    "a": { dtype: "F32", shape: [1, 2], data_offsets: [0, 8] },
  });
  const bytes = file(header, [
    ...[0x00, 0x00, 0x80, 0x3f], // 1.0f little-endian
    ...[0x00, 0x00, 0x20, 0xc0], // -2.5f
    ...[0x02, 0x01, 0x00, 0x00], // 258
    ...[0xff, 0xff, 0xff, 0xff], // 2^32 - 1
  ]);
  const { tensors, metadata } = decodeSafetensors(bytes);
  deepEqual(metadata, { format: "pt", note: "by hand" });
  deepEqual([...tensors.keys()].sort(), ["a", "b"]);
  const a = tensors.get("a")!;
  equal(a.dtype, "F32");
  deepEqual(a.shape, [1, 2]);
  ok(a.data instanceof Float32Array);
  deepEqual([...a.data], [1, -2.5]);
  const b = tensors.get("b")!;
  equal(b.dtype, "U32");
  ok(b.data instanceof Uint32Array);
  deepEqual([...b.data], [258, 2 ** 32 - 1]);
});

Deno.test("a file within a larger buffer, at an odd offset, decodes right", () => {
  const inner = file('{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', [
    0x00,
    0x00,
    0xc0,
    0x3f, // 1.5f
  ]);
  const outer = new Uint8Array(inner.length + 3);
  outer.set(inner, 3);
  deepEqual([
    ...decodeSafetensors(outer.subarray(3)).tensors.get("x")!.data,
  ], [1.5]);
});

Deno.test("the encoder's bytes follow the format, checked by hand", () => {
  const bytes = encodeSafetensors(
    new Map<string, SafetensorsTensor>([
      ["z", { dtype: "U32", shape: [1], data: new Uint32Array([0x01020304]) }],
      ["a", { dtype: "F32", shape: [2], data: new Float32Array([1, -2.5]) }],
    ]),
    { k: "v" },
  );
  const n = bytes[0] + bytes[1] * 256 + bytes[2] * 65536 + bytes[3] * 2 ** 24;
  deepEqual([...bytes.subarray(4, 8)], [0, 0, 0, 0]);
  equal(n % 8, 0, "header padded to a multiple of 8");
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  ok(/^\{.*\} *$/.test(text), `header ${JSON.stringify(text)}`);
  deepEqual(JSON.parse(text), {
    __metadata__: { k: "v" },
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    z: { dtype: "U32", shape: [1], data_offsets: [8, 12] },
  });
  // Tensors in name order, little-endian.
  deepEqual([...bytes.subarray(8 + n)], [
    ...[0x00, 0x00, 0x80, 0x3f],
    ...[0x00, 0x00, 0x20, 0xc0],
    ...[0x04, 0x03, 0x02, 0x01],
  ]);
});

/** int64 values at both ends of the range, and one that needs all 8 bytes. */
const INT64_VALUES = new BigInt64Array([
  -(2n ** 63n),
  2n ** 63n - 1n,
  0x0102030405060708n,
]);

Deno.test("an int64 tensor is 8 little-endian bytes per value, and may follow a 4-byte one", () => {
  const bytes = encodeSafetensors(
    new Map<string, SafetensorsTensor>([
      ["a", { dtype: "U32", shape: [], data: new Uint32Array([7]) }],
      ["b", {
        dtype: "I64",
        shape: [1],
        data: new BigInt64Array([0x0102030405060708n]),
      }],
    ]),
  );
  const n = bytes[0] + bytes[1] * 256;
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  deepEqual(JSON.parse(text).b, {
    dtype: "I64",
    shape: [1],
    data_offsets: [4, 12],
  });
  deepEqual([...bytes.subarray(8 + n + 4)], [8, 7, 6, 5, 4, 3, 2, 1]);
  throws(
    () =>
      encodeSafetensors(
        new Map([["c", {
          dtype: "I64",
          shape: [1],
          data: new Float32Array(1),
        }]]),
      ),
    /tensor "c" must hold a BigInt64Array for dtype I64, got Float32Array/,
  );
});

Deno.test("encode → decode keeps every bit, NaN payloads and -0 included", () => {
  const f32 = new Float32Array(AWKWARD_BITS.buffer.slice(0));
  const bytes = encodeSafetensors(
    new Map<string, SafetensorsTensor>([
      ["f", { dtype: "F32", shape: [2, 5], data: f32 }],
      ["u", { dtype: "U32", shape: [10], data: AWKWARD_BITS }],
      ["empty", { dtype: "F32", shape: [0, 3], data: new Float32Array(0) }],
      ["i", { dtype: "I64", shape: [3], data: INT64_VALUES }],
    ]),
  );
  const { tensors, metadata } = decodeSafetensors(bytes);
  deepEqual(metadata, {});
  deepEqual(tensors.get("i"), { dtype: "I64", shape: [3], data: INT64_VALUES });
  assertSameBits(
    new Uint32Array(tensors.get("f")!.data.buffer),
    AWKWARD_BITS,
    "f",
  );
  assertSameBits(tensors.get("u")!.data as Uint32Array, AWKWARD_BITS, "u");
  deepEqual(tensors.get("empty")!.shape, [0, 3]);
  equal(tensors.get("empty")!.data.length, 0);
});

for (const name of ["reference", "wasm", "webgpu"] as const) {
  Deno.test({
    name: `saveWeights → loadWeights on ${name} is exact, bit for bit`,
    ignore: await ignoreBackend(name),
    fn: () =>
      withBackend(name, async (backend) => {
        const source = new Map([
          [
            "0.weight",
            backend.tensor(new Float32Array(AWKWARD_BITS.buffer), [5, 2]),
          ],
          ["0.bias", backend.tensor(new Float32Array([0.1, -0]), [2])],
        ]);
        const bytes = await saveWeights(source, { epoch: "3" });
        const target = new Map([
          ["0.weight", backend.allocate([5, 2])],
          ["0.bias", backend.allocate([2])],
        ]);
        deepEqual(loadWeights(target, bytes), { epoch: "3" });
        const weight = await backend.read(target.get("0.weight")!);
        assertSameBits(new Uint32Array(weight.buffer), AWKWARD_BITS, "weight");
        const bias = await backend.read(target.get("0.bias")!);
        assertSameBits(
          new Uint32Array(bias.buffer),
          new Uint32Array(new Float32Array([0.1, -0]).buffer),
          "bias",
        );
      }),
  });
}

Deno.test("saveWeights reads tensors of several backends", async () => {
  const other = await createBackend("reference");
  const bytes = await saveWeights(
    new Map([
      ["a", backend.tensor(new Float32Array([1]), [1])],
      ["b", other.tensor(new Float32Array([2, 3]), [2])],
    ]),
  );
  const { tensors } = decodeSafetensors(bytes);
  deepEqual([...tensors.get("b")!.data], [2, 3]);
});

Deno.test("malformed files give clear errors", () => {
  const entry = (dtype: string, shape: number[], offsets: number[]) =>
    JSON.stringify({ dtype, shape, data_offsets: offsets });
  const cases: [Uint8Array, RegExp][] = [
    [
      new Uint8Array(5),
      /^RangeError: Cannot read safetensors: the file must hold at least the 8-byte header length, got 5 bytes$/,
    ],
    [
      file("{}").subarray(0, 9),
      /header length must be at most 1 \(the bytes after it\), got 2/,
    ],
    [
      // A length of 2^40: refused from the 8 bytes alone.
      new Uint8Array([0, 0, 0, 0, 0, 1, 0, 0, 0x7b, 0x7d]),
      /header length must be at most 2 \(the bytes after it\), got 1099511627776/,
    ],
    [
      file(`{"0.weight":${entry("F16", [2], [0, 4])}}`, [0, 0, 0, 0]),
      /^TypeError: Cannot read safetensors: tensor "0.weight" has dtype F16, expected F32, U32 or I64$/,
    ],
    [
      file(`{"w":${entry("F32", [3], [0, 8])}}`, new Array(8).fill(0)),
      /tensor "w" must have 3 × 4 = 12 bytes for shape \[3\], got data_offsets \[0, 8\] \(8 bytes\)/,
    ],
    [
      file(`{"w":${entry("F32", [4], [0, 16])}}`, new Array(8).fill(0)),
      /tensor "w" must have data_offsets with begin <= end <= 8 \(the data size\), got \[0, 16\]/,
    ],
    [
      file(`{"w":${entry("F32", [0], [4, 0])}}`, new Array(4).fill(0)),
      /tensor "w" must have data_offsets with begin <= end <= 4 .*got \[4, 0\]/,
    ],
    [
      file(
        `{"a":${entry("F32", [2], [0, 8])},"b":${entry("F32", [2], [4, 12])}}`,
        new Array(12).fill(0),
      ),
      /tensor "b" overlaps tensor "a", got data_offsets \[4, 12\] and \[0, 8\]/,
    ],
    [
      file(`{"a":${entry("F32", [1], [4, 8])}}`, new Array(8).fill(0)),
      /tensor "a" must start where the previous data ends, at 0, got a gap/,
    ],
    [
      file(`{"a":${entry("F32", [1], [0, 4])}}`, new Array(8).fill(0)),
      /the tensors must cover all 8 data bytes, got 4 bytes after the last tensor/,
    ],
    [
      file(`{"a":${entry("F32", [-1], [0, 0])}}`),
      /tensor "a" must have a shape of non-negative integers, got \[-1\]/,
    ],
    [
      file(`{"a":${entry("F32", [1.5], [0, 0])}}`),
      /tensor "a" must have a shape of non-negative integers, got \[1\.5\]/,
    ],
    [
      file(`{"a":{"dtype":"F32","shape":[1]}}`, [0, 0, 0, 0]),
      /tensor "a" must have data_offsets \[begin, end\] of non-negative integers, got undefined/,
    ],
    [
      file(`{"a":${entry("F32", [2 ** 40, 2 ** 40], [0, 0])}}`),
      /^RangeError: Cannot read safetensors: tensor "a" must have a shape of fewer than 2\^53 elements, got \[1099511627776, 1099511627776\] \(2\^53 elements or more\)$/,
    ],
    [
      file(`{"a":${entry("F32", [1], [0, 4])}`, [0, 0, 0, 0]),
      /^SyntaxError: Cannot read safetensors: the header must be JSON, got /,
    ],
    [file("[1, 2]"), /the header must be a JSON object, got an array/],
    [
      file('{"__metadata__":{"epoch":3}}'),
      /__metadata__ values must be strings, got "epoch": 3/,
    ],
  ];
  for (const [bytes, pattern] of cases) {
    throws(() => decodeSafetensors(bytes), pattern);
  }
  // Invalid UTF-8 in the header.
  const bad = file('{"a":1}');
  bad[10] = 0xff;
  throws(
    () => decodeSafetensors(bad),
    /the header must be UTF-8 text, got invalid bytes/,
  );
});

Deno.test("a header length above the limit is refused before decoding", () => {
  // A file big enough that only the 100 MB limit stops it.
  const bytes = new Uint8Array(SAFETENSORS_MAX_HEADER_BYTES + 16);
  new DataView(bytes.buffer).setUint32(
    0,
    SAFETENSORS_MAX_HEADER_BYTES + 1,
    true,
  );
  throws(
    () => decodeSafetensors(bytes),
    /header length must be at most 100000000 \(the header limit\), got 100000001/,
  );
});

Deno.test("the encoder refuses bad tensors", () => {
  const enc = (name: string, t: unknown) =>
    encodeSafetensors(new Map([[name, t as SafetensorsTensor]]));
  throws(
    () => enc("w", { dtype: "F32", shape: [3], data: new Float32Array(2) }),
    /^RangeError: Cannot write safetensors: tensor "w" must have 3 values for shape \[3\], got 2$/,
  );
  throws(
    () => enc("w", { dtype: "F32", shape: [2], data: new Uint32Array(2) }),
    /tensor "w" must hold a Float32Array for dtype F32, got Uint32Array/,
  );
  throws(
    () => enc("w", { dtype: "F64", shape: [1], data: new Float32Array(1) }),
    /tensor "w" has dtype F64, expected F32, U32 or I64/,
  );
  throws(
    () =>
      enc("__metadata__", {
        dtype: "F32",
        shape: [1],
        data: new Float32Array(1),
      }),
    /tensor names must be non-empty strings other than __metadata__/,
  );
});

Deno.test("loadWeights writes nothing unless every name and shape match", async () => {
  const source = new Map([
    ["0.weight", backend.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3])],
    ["0.bias", backend.tensor(new Float32Array([7, 8]), [2])],
  ]);
  const bytes = await saveWeights(source);
  const fresh = () =>
    new Map<string, Tensor<"float32">>([
      ["0.weight", backend.allocate([2, 3])],
      ["0.bias", backend.allocate([2])],
    ]);
  async function untouched(state: Map<string, Tensor<"float32">>) {
    for (const [name, t] of state) {
      ok(
        (await backend.read(t)).every((v) => v === 0),
        `${name} was written`,
      );
    }
  }

  const missing = fresh();
  missing.set("1.weight", backend.allocate([4]));
  throws(
    () => loadWeights(missing, bytes),
    /^RangeError: Cannot load weights: the file must hold exactly the expected tensors, got missing "1.weight"$/,
  );
  await untouched(missing);

  const extra = fresh();
  extra.delete("0.bias");
  throws(() => loadWeights(extra, bytes), /got unexpected "0.bias"$/);
  await untouched(extra);

  const shaped = fresh();
  shaped.set("0.weight", backend.allocate([3, 2]));
  throws(
    () => loadWeights(shaped, bytes),
    /got "0.weight" has shape \[2, 3\] in the file, expected \[3, 2\]$/,
  );
  await untouched(shaped);

  const several = new Map([["x", backend.allocate([1])]]);
  throws(
    () => loadWeights(several, bytes),
    /got missing "x"; unexpected "0.bias"; unexpected "0.weight"$/,
  );

  const u32 = encodeSafetensors(
    new Map([["0.bias", {
      dtype: "U32" as const,
      shape: [2],
      data: new Uint32Array(2),
    }]]),
  );
  const biasOnly = new Map([["0.bias", backend.allocate([2])]]);
  throws(
    () => loadWeights(biasOnly, u32),
    /"0.bias" has dtype U32 in the file, expected F32/,
  );

  // A malformed file writes nothing either.
  const target = fresh();
  throws(() => loadWeights(target, bytes.subarray(0, bytes.length - 1)));
  await untouched(target);

  // And a good one writes everything.
  const good = fresh();
  loadWeights(good, bytes);
  deepEqual([...(await backend.read(good.get("0.bias")!))], [7, 8]);
});

Deno.test("a released target tensor is refused before anything is written", async () => {
  const bytes = await saveWeights(
    new Map([
      ["a", backend.tensor(new Float32Array([1]), [1])],
      ["b", backend.tensor(new Float32Array([2]), [1])],
    ]),
  );
  const a = backend.allocate([1]);
  const b = backend.allocate([1]);
  backend.release(b);
  throws(
    () => loadWeights(new Map([["a", a], ["b", b]]), bytes),
    /^TypeError: Cannot load weights: state "b" was released, got a released tensor of shape \[1\]$/,
  );
  deepEqual([...(await backend.read(a))], [0]);
});

Deno.test("header length and element count messages are exact", () => {
  // A length of 2^64 - 1: above 2^53, printed exactly.
  const bytes = new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255, 0x7b]);
  throws(
    () => decodeSafetensors(bytes),
    /header length must be at most 1 \(the bytes after it\), got 18446744073709551615$/,
  );
  const entry = (shape: string, end: number) =>
    `{"a":{"dtype":"U32","shape":${shape},"data_offsets":[0,${end}]}}`;
  // 2^53 - 1 squared: no NaN, no rounded product.
  const big = 2 ** 53 - 1;
  throws(
    () => decodeSafetensors(file(entry(`[${big},${big}]`, 4), [1, 0, 0, 0])),
    /tensor "a" must have a shape of fewer than 2\^53 elements, got \[9007199254740991, 9007199254740991\]/,
  );
  // 2^52 elements need 2^54 bytes, printed exactly.
  throws(
    () =>
      decodeSafetensors(
        file(entry(`[${2 ** 26},${2 ** 26}]`, 4), [1, 0, 0, 0]),
      ),
    /must have 4503599627370496 × 4 = 18014398509481984 bytes for shape/,
  );
  // A zero dimension makes no elements, however large the others.
  const huge = Array(25).fill(2 ** 52);
  const empty = decodeSafetensors(file(entry(`[${huge},0]`, 0)));
  deepEqual(empty.tensors.get("a")!.shape, [...huge, 0]);
  equal(empty.tensors.get("a")!.data.length, 0);
  const written = encodeSafetensors(
    new Map([["a", {
      dtype: "U32",
      shape: [...huge, 0],
      data: new Uint32Array(0),
    }]]),
  );
  deepEqual(decodeSafetensors(written).tensors.get("a")!.shape, [...huge, 0]);
  throws(
    () =>
      encodeSafetensors(
        new Map([["a", {
          dtype: "U32",
          shape: [big, 2],
          data: new Uint32Array(0),
        }]]),
      ),
    /^RangeError: Cannot write safetensors: tensor "a" must have a shape of fewer than 2\^53 elements, got \[9007199254740991, 2\]$/,
  );
});

Deno.test("the header is read as the reference implementation reads it", () => {
  const a = '"a":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}';
  const one = [1, 0, 0, 0];
  // "__metadata__": null is no metadata.
  deepEqual(
    decodeSafetensors(file(`{"__metadata__":null,${a}}`, one)).metadata,
    {},
  );
  // A byte-order mark is refused.
  throws(
    () => decodeSafetensors(file(`\ufeff{${a}}`, one)),
    /^SyntaxError: Cannot read safetensors: the header must be JSON without a byte-order mark, got EF BB BF first$/,
  );
  // Offsets and dimensions must be written as integers.
  for (
    const [offsets, shape] of [
      ["[0,4.0]", "[1]"],
      ["[0,4e0]", "[1]"],
      ["[0.0,4]", "[1]"],
      ["[-0,4]", "[1]"],
      ["[0,4]", "[1.0]"],
      ["[0,4]", "[1E0]"],
    ]
  ) {
    const header =
      `{"a":{"dtype":"U32","shape":${shape},"data_offsets":${offsets}}}`;
    const bad = offsets.match(/[.eE-]/) ? offsets : shape;
    const field = bad === offsets ? "data_offsets \\[begin, end\\]" : "a shape";
    throws(
      () => decodeSafetensors(file(header, one)),
      new RegExp(
        `^RangeError: Cannot read safetensors: tensor "a" must have ${field} of non-negative integers, got ${
          bad.replace(/[.[\]]/g, "\\$&")
        }$`,
      ),
      header,
    );
  }
  // Fields the format does not read may hold anything.
  const extra =
    `{"a":{"dtype":"U32","shape":[1],"data_offsets":[0,4],"x":[1.5,{"q":1,"q":2}]}}`;
  deepEqual([...decodeSafetensors(file(extra, one)).tensors.get("a")!.data], [
    1,
  ]);
  // Keys read by the format appear once; metadata keys may repeat, the last wins.
  for (
    const [header, message] of [
      [
        `{${a},${a}}`,
        /^SyntaxError: Cannot read safetensors: tensor "a" appears twice in the header$/,
      ],
      [`{${a},"\\u0061":{}}`, /tensor "a" appears twice in the header/],
      [
        `{"__metadata__":{},${a},"__metadata__":{}}`,
        /^SyntaxError: Cannot read safetensors: __metadata__ appears twice in the header$/,
      ],
      [
        `{"a":{"dtype":"U32","dtype":"U32","shape":[1],"data_offsets":[0,4]}}`,
        /^SyntaxError: Cannot read safetensors: tensor "a" must have each field once, got "dtype" twice$/,
      ],
    ] as const
  ) {
    throws(() => decodeSafetensors(file(header, one)), message, header);
  }
  deepEqual(
    decodeSafetensors(file(`{"__metadata__":{"k":"1","k":"2"},${a}}`, one))
      .metadata,
    { k: "2" },
  );
  // Quotes, escapes and brackets inside strings are text, not structure.
  const tricky = new Map([
    ['x"{[1.5]},', {
      dtype: "U32" as const,
      shape: [1],
      data: new Uint32Array([7]),
    }],
    ["\\", { dtype: "F32" as const, shape: [0], data: new Float32Array(0) }],
  ]);
  const metadata = { '"shape":[1.0]': "}{", '\\"': "[,]" };
  const decoded = decodeSafetensors(encodeSafetensors(tricky, metadata));
  deepEqual([...decoded.tensors.keys()].sort(), [...tricky.keys()].sort());
  deepEqual(decoded.metadata, metadata);
});

Deno.test("loadWeights uploads straight from the file, copying only unaligned data", async () => {
  const source = new Map([
    ["w", backend.tensor(new Float32Array([1, 2, 3]), [3])],
    ["b", backend.tensor(new Float32Array([4]), [1])],
  ]);
  const bytes = await saveWeights(source);
  const target = await createBackend("reference");
  const uploads: Float32Array[] = [];
  const upload = target.upload.bind(target);
  target.upload = ((t, data) => {
    uploads.push(data as Float32Array);
    upload(t, data);
  }) as typeof target.upload;
  const state = () =>
    new Map([["w", target.allocate([3])], ["b", target.allocate([1])]]);

  // In place in its own buffer, every tensor is 4-byte aligned: views, no copies.
  const aligned = state();
  loadWeights(aligned, bytes);
  equal(uploads.length, 2);
  ok(
    uploads.every((data) => data.buffer === bytes.buffer),
    "views of the file",
  );
  deepEqual([...(await target.read(aligned.get("w")!))], [1, 2, 3]);
  deepEqual([...(await target.read(aligned.get("b")!))], [4]);

  // One byte into a larger buffer, nothing is aligned: copies, same values.
  uploads.length = 0;
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const unaligned = state();
  loadWeights(unaligned, shifted.subarray(1));
  equal(uploads.length, 2);
  ok(uploads.every((data) => data.buffer !== shifted.buffer), "copies");
  deepEqual([...(await target.read(unaligned.get("w")!))], [1, 2, 3]);
  deepEqual([...(await target.read(unaligned.get("b")!))], [4]);

  // A mismatch uploads nothing.
  uploads.length = 0;
  const wrong = state();
  wrong.set("b", target.allocate([2]));
  throws(() => loadWeights(wrong, bytes), /"b" has shape \[1\] in the file/);
  equal(uploads.length, 0);
  target.dispose();
});

Deno.test("loadWeights: ignore skips the file's extra tensors it names, and only those", async () => {
  const w = backend.tensor(new Float32Array([1, 2]), [2]);
  const bytes = await saveWeights(
    new Map([
      ["w", w],
      ["optimizer.w.velocity", backend.tensor(new Float32Array([3, 4]), [2])],
      ["extra", backend.tensor(new Float32Array([5]), [1])],
    ]),
  );
  const target = backend.allocate([2]);
  const optimizerOnly = (name: string) => name.startsWith("optimizer.");
  throws(
    () =>
      loadWeights(new Map([["w", target]]), bytes, { ignore: optimizerOnly }),
    /got unexpected "extra"$/,
  );
  deepEqual([...await backend.read(target)], [0, 0]);
  loadWeights(new Map([["w", target]]), bytes, {
    ignore: (name) => optimizerOnly(name) || name === "extra",
  });
  deepEqual([...await backend.read(target)], [1, 2]);
});
