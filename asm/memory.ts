// The memory's layout: the module's static data (vector constants, small
// tables and buffers), then a scratch area, then the host's heap of tensors.
// The scratch area is not static data, so the module still asks the host for
// a single initial page; it lies below every tensor, so it exists once the
// host has allocated any tensor a kernel is given.

/**
 * Bytes of scratch: the matrix products' packed blocks and tables (see
 * asm/gemm_layout.ts).
 */
export const SCRATCH_BYTES: usize = 336 << 10;

/**
 * The scratch area's first byte: the end of the static data, rounded up to a
 * 64-byte line.
 *
 * @returns A byte offset, 64-byte aligned.
 */
@inline
export function scratchStart(): usize {
  return (__heap_base + 63) & ~(63 as usize);
}

/**
 * `heap_base`: the first byte after the static data and the kernels' scratch
 * area; the host allocates tensors above it.
 *
 * @returns A byte offset, 64-byte aligned.
 */
export function heap_base(): usize {
  return scratchStart() + SCRATCH_BYTES;
}
