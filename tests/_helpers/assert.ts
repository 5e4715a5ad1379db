/** Assertions shared by the kernel tests. */
import { equal, fail } from "node:assert/strict";

/** Throws at the first element whose bits differ (a NaN matches any NaN). */
export function assertSameBits(
  actual: Float32Array | Uint32Array,
  expected: Float32Array | Uint32Array,
  what: string,
): void {
  equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(
    expected.buffer,
    expected.byteOffset,
    expected.length,
  );
  for (let i = 0; i < e.length; i++) {
    if (a[i] === e[i]) continue;
    if (Number.isNaN(actual[i]) && Number.isNaN(expected[i])) continue;
    fail(
      `${what}[${i}]: got ${show(actual[i])}, expected ${show(expected[i])}`,
    );
  }
}

/** A number as a message shows it, -0 included. */
function show(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}
