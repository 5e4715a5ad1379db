/**
 * `heap_base`: the first byte after the module's static data (the vector
 * constants and `Math.pow`'s tables); the host allocates tensors above it.
 *
 * @returns A byte offset, 16-byte aligned.
 */
export function heap_base(): usize {
  return __heap_base;
}
