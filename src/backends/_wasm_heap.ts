/**
 * The allocator behind the wasm backend's tensors: blocks of a
 * `WebAssembly.Memory`, first fit from a free list that merges neighbours,
 * growing the memory when no free block fits.
 *
 * @module
 */

/** Block alignment and granularity in bytes: one cache line, four v128s. */
export const BLOCK_ALIGN = 64;

/** Bytes per WebAssembly page. */
const PAGE = 65536;
/** The most bytes a 32-bit WebAssembly memory can address. */
const MAX_BYTES = 2 ** 32;

/** A free run of bytes: `[offset, offset + size)`. */
interface FreeBlock {
  offset: number;
  size: number;
}

/**
 * Hands out zero-filled, {@linkcode BLOCK_ALIGN}-aligned blocks of a
 * WebAssembly memory by byte offset. Offsets stay valid when the memory grows;
 * typed-array views of it do not, so make them afresh after every allocation.
 *
 * @example Allocate, free and reuse
 * ```ts
 * import { WasmHeap } from "./_wasm_heap.ts";
 * import { equal } from "node:assert/strict";
 *
 * const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 16 }));
 * const a = heap.allocate(100);
 * equal(a % 64, 0);
 * heap.free(a);
 * equal(heap.allocate(64), a);
 * ```
 */
export class WasmHeap {
  /** The memory the blocks live in. */
  readonly memory: WebAssembly.Memory;
  readonly #base: number;
  /** Sorted by offset, never adjacent to each other or to `#end`. */
  readonly #free: FreeBlock[] = [];
  /** Live blocks: offset to size (a multiple of BLOCK_ALIGN). */
  readonly #live = new Map<number, number>();
  /** First byte above every block. */
  #end: number;
  /** Bytes from here up were never handed out, so they are still zero. */
  #clean: number;
  #used = 0;

  /**
   * Manages `memory` from `base` up; the bytes from `base` up must be zero.
   *
   * @param memory The memory to carve; it grows as needed.
   * @param base The first byte the heap may use (rounded up to
   *   {@linkcode BLOCK_ALIGN}), above any static data.
   */
  constructor(memory: WebAssembly.Memory, base = 0) {
    if (!Number.isSafeInteger(base) || base < 0 || base >= MAX_BYTES) {
      throw new RangeError(
        `Cannot create a heap: base must be a byte offset below 2^32, got ${base}`,
      );
    }
    this.memory = memory;
    this.#base = roundUp(base);
    this.#end = this.#base;
    this.#clean = this.#base;
  }

  /** Bytes held by live blocks, padding included. */
  get used(): number {
    return this.#used;
  }

  /** The first byte above every block; freeing the last block lowers it. */
  get end(): number {
    return this.#end;
  }

  /**
   * Reserves a block, zero-filled unless `zeroed` is false.
   *
   * @param bytes How many bytes; 0 gives a block of its own too.
   * @param zeroed Whether the block must read as zeros.
   * @returns The block's byte offset, a multiple of {@linkcode BLOCK_ALIGN}.
   * @throws {RangeError} When `bytes` is not a non-negative integer, or the
   *   memory cannot grow enough.
   */
  allocate(bytes: number, zeroed = true): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new RangeError(
        `Cannot allocate a tensor: size must be a non-negative integer number of bytes, got ${bytes}`,
      );
    }
    const size = Math.max(BLOCK_ALIGN, roundUp(bytes));
    const offset = this.#takeFree(size) ?? this.#takeEnd(size, bytes);
    const dirtyEnd = Math.min(offset + bytes, this.#clean);
    if (zeroed && offset < dirtyEnd) {
      new Uint8Array(this.memory.buffer, offset, dirtyEnd - offset).fill(0);
    }
    this.#clean = Math.max(this.#clean, offset + size);
    this.#live.set(offset, size);
    this.#used += size;
    return offset;
  }

  /**
   * Returns a block to the heap, merging it with free neighbours.
   *
   * @param offset What {@linkcode WasmHeap.allocate} returned.
   * @throws {RangeError} When `offset` is not a live block.
   */
  free(offset: number): void {
    const size = this.#live.get(offset);
    if (size === undefined) {
      throw new RangeError(
        `Cannot free a block: offset must be the start of a live block, got ${offset}`,
      );
    }
    this.#live.delete(offset);
    this.#used -= size;
    const free = this.#free;
    // The first free block above this one.
    let lo = 0;
    let hi = free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (free[mid].offset < offset) lo = mid + 1;
      else hi = mid;
    }
    let at = lo;
    let block: FreeBlock;
    const before = free[at - 1];
    if (before !== undefined && before.offset + before.size === offset) {
      block = before;
      block.size += size;
      at--;
    } else {
      block = { offset, size };
      free.splice(at, 0, block);
    }
    const after = free[at + 1];
    if (after !== undefined && block.offset + block.size === after.offset) {
      block.size += after.size;
      free.splice(at + 1, 1);
    }
    if (block.offset + block.size === this.#end) {
      this.#end = block.offset;
      free.splice(at, 1);
    }
  }

  /** Frees every block at once. */
  reset(): void {
    this.#free.length = 0;
    this.#live.clear();
    this.#end = this.#base;
    this.#used = 0;
  }

  /** First fit from the free list, or undefined. */
  #takeFree(size: number): number | undefined {
    const free = this.#free;
    for (let i = 0; i < free.length; i++) {
      const block = free[i];
      if (block.size < size) continue;
      const offset = block.offset;
      if (block.size === size) {
        free.splice(i, 1);
      } else {
        block.offset += size;
        block.size -= size;
      }
      return offset;
    }
    return undefined;
  }

  /** A block at the end, growing the memory to hold it. */
  #takeEnd(size: number, bytes: number): number {
    const offset = this.#end;
    const end = offset + size;
    const capacity = this.memory.buffer.byteLength;
    if (end > capacity) {
      const pages = Math.ceil((end - capacity) / PAGE);
      try {
        if (end > MAX_BYTES) throw new RangeError("past 4 GiB");
        this.memory.grow(pages);
      } catch (cause) {
        throw new RangeError(
          `Cannot allocate a tensor: WebAssembly memory must grow to ${end} bytes for it and cannot (${
            (cause as Error).message
          }), got a request for ${bytes} bytes with ${this.#used} bytes in use`,
          { cause },
        );
      }
    }
    this.#end = end;
    return offset;
  }
}

/** `n` rounded up to a multiple of BLOCK_ALIGN. */
function roundUp(n: number): number {
  return Math.ceil(n / BLOCK_ALIGN) * BLOCK_ALIGN;
}
