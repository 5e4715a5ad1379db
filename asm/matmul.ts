/**
 * `matmul`: `c = op(a) · op(b)` (see `KernelArgs.matmul` in src/backend.ts).
 * Placeholder loop; the tuned kernel replaces it.
 */
export function matmul(
  a: usize,
  b: usize,
  c: usize,
  m: u32,
  n: u32,
  k: u32,
  transA: u32,
  transB: u32,
): void {
  for (let i: u32 = 0; i < m; i++) {
    for (let j: u32 = 0; j < n; j++) {
      let s: f32 = 0;
      for (let t: u32 = 0; t < k; t++) {
        const ai = transA ? t * m + i : i * k + t;
        const bi = transB ? j * k + t : t * n + j;
        s += load<f32>(a + ((ai as usize) << 2)) * load<f32>(b + ((bi as usize) << 2));
      }
      store<f32>(c + (((i * n + j) as usize) << 2), s);
    }
  }
}
