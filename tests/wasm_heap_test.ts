import { equal, notEqual, ok, throws } from "node:assert/strict";
import { BLOCK_ALIGN, WasmHeap } from "../src/backends/_wasm_heap.ts";

const PAGE = 65536;

function heap(pages = 1, maximum = 64, base = 0): WasmHeap {
  return new WasmHeap(
    new WebAssembly.Memory({ initial: pages, maximum }),
    base,
  );
}

Deno.test("WasmHeap.allocate() aligns blocks above the base", () => {
  const h = heap(1, 64, 1000);
  const offsets = [1, 3, 64, 65, 100, 4096].map((n) => h.allocate(n));
  for (const offset of offsets) {
    equal(offset % BLOCK_ALIGN, 0);
    ok(offset >= 1000);
  }
  equal(offsets[0], 1024);
  equal(new Set(offsets).size, offsets.length);
  // Blocks never overlap: each starts past the previous one's bytes.
  for (let i = 1; i < offsets.length; i++) {
    ok(offsets[i] >= offsets[i - 1] + [1, 3, 64, 65, 100][i - 1]);
  }
});

Deno.test("WasmHeap.allocate() gives size-0 blocks distinct offsets", () => {
  const h = heap();
  const a = h.allocate(0);
  const b = h.allocate(0);
  notEqual(a, b);
  h.free(a);
  h.free(b);
  equal(h.used, 0);
});

Deno.test("WasmHeap.allocate() zero-fills reused blocks", () => {
  const h = heap();
  const a = h.allocate(256);
  new Uint8Array(h.memory.buffer, a, 256).fill(0xab);
  h.free(a);
  const b = h.allocate(200);
  equal(b, a);
  ok(new Uint8Array(h.memory.buffer, b, 200).every((v) => v === 0));
});

Deno.test("WasmHeap.allocate(bytes, false) skips the fill of reused blocks", () => {
  const h = heap();
  const a = h.allocate(256);
  new Uint8Array(h.memory.buffer, a, 256).fill(0xab);
  h.free(a);
  equal(h.allocate(256, false), a);
  ok(new Uint8Array(h.memory.buffer, a, 256).every((v) => v === 0xab));
  h.free(a);
  equal(h.allocate(256), a); // the next zeroed block is zero again
  ok(new Uint8Array(h.memory.buffer, a, 256).every((v) => v === 0));
});

Deno.test("WasmHeap.free() lets the lowest fitting block be reused", () => {
  const h = heap();
  const a = h.allocate(128);
  const b = h.allocate(64);
  const c = h.allocate(128);
  h.allocate(64); // keeps c from merging with the end
  h.free(a);
  h.free(c);
  equal(h.allocate(128), a); // first fit
  equal(h.allocate(64), c); // a is taken; c splits
  equal(h.allocate(64), c + 64);
  h.free(b);
  equal(h.allocate(1), b);
});

Deno.test("WasmHeap.free() merges free neighbours", () => {
  const h = heap();
  const a = h.allocate(64);
  const b = h.allocate(64);
  const c = h.allocate(64);
  const fence = h.allocate(64);
  h.free(a);
  h.free(c);
  h.free(b); // merges with a below and c above
  equal(h.allocate(192), a);
  h.free(a);
  h.free(fence); // the last block: the end falls back to the base
  equal(h.end, a);
  equal(h.used, 0);
});

Deno.test("WasmHeap.allocate() grows the memory", () => {
  const h = heap(1);
  const a = h.allocate(100);
  new Float32Array(h.memory.buffer, a, 25).fill(7);
  const big = h.allocate(3 * PAGE);
  ok(h.memory.buffer.byteLength >= big + 3 * PAGE);
  ok(new Uint8Array(h.memory.buffer, big, 3 * PAGE).every((v) => v === 0));
  // Offsets survive the growth; views have to be made afresh.
  ok(new Float32Array(h.memory.buffer, a, 25).every((v) => v === 7));
});

Deno.test("WasmHeap.allocate() throws a RangeError when the memory cannot grow", () => {
  const h = heap(1, 2);
  h.allocate(PAGE);
  throws(
    () => h.allocate(2 * PAGE),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message.startsWith(
        "Cannot allocate a tensor: WebAssembly memory must grow",
      ),
  );
  throws(() => heap().allocate(2 ** 34), RangeError);
  // The heap is still usable.
  equal(h.allocate(64) % BLOCK_ALIGN, 0);
});

Deno.test("WasmHeap rejects bad sizes and offsets", () => {
  const h = heap();
  throws(() => h.allocate(-1), RangeError);
  throws(() => h.allocate(1.5), RangeError);
  throws(() => h.allocate(NaN), RangeError);
  const a = h.allocate(64);
  throws(() => h.free(a + 64), RangeError);
  h.free(a);
  throws(
    () => h.free(a),
    /Cannot free a block: offset must be the start of a live block, got 0/,
  );
});

Deno.test("WasmHeap.reset() frees every block", () => {
  const h = heap();
  const a = h.allocate(64);
  new Uint8Array(h.memory.buffer, a, 64).fill(1);
  h.allocate(1000);
  h.reset();
  equal(h.used, 0);
  equal(h.end, 0);
  equal(h.allocate(64), a);
  ok(new Uint8Array(h.memory.buffer, a, 64).every((v) => v === 0));
});
