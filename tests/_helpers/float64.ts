/**
 * Float64 re-derivations of a few kernels from their definitions, for
 * checking the reference against something that is not itself.
 */

/** `op(a) · op(b)` in float64, from explicitly transposed copies. */
export function matmul64(
  a: Float32Array,
  b: Float32Array,
  [m, n, k]: number[],
  transA: boolean,
  transB: boolean,
): Float64Array {
  const opA = Array.from(
    { length: m },
    (_, i) =>
      Array.from({ length: k }, (_, p) => transA ? a[p * m + i] : a[i * k + p]),
  );
  const opB = Array.from(
    { length: k },
    (_, p) =>
      Array.from({ length: n }, (_, j) => transB ? b[j * k + p] : b[p * n + j]),
  );
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) c[i * n + j] += opA[i][p] * opB[p][j];
    }
  }
  return c;
}

/** Σ dy · batchnorm(x) in float64, statistics taken from x (training mode). */
export function batchnormLoss(
  x: Float64Array,
  gamma: Float64Array,
  beta: Float64Array,
  dy: Float32Array,
  [outer, channels, inner]: number[],
  epsilon: number,
): number {
  let loss = 0;
  for (let c = 0; c < channels; c++) {
    const at = (o: number, i: number) => (o * channels + c) * inner + i;
    let sum = 0, squares = 0;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) sum += x[at(o, i)];
    }
    const mean = sum / (outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) squares += (x[at(o, i)] - mean) ** 2;
    }
    const r = 1 / Math.sqrt(squares / (outer * inner) + epsilon);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        loss += dy[at(o, i)] * ((x[at(o, i)] - mean) * r * gamma[c] + beta[c]);
      }
    }
  }
  return loss;
}

/** Central differences of `f` at every element of `v` (changed and restored). */
export function numericGradient(
  v: Float64Array,
  f: () => number,
  h: number,
): Float64Array {
  return v.map((_, i) => {
    const keep = v[i];
    v[i] = keep + h;
    const up = f();
    v[i] = keep - h;
    const down = f();
    v[i] = keep;
    return (up - down) / (2 * h);
  });
}

/** Mean softmax cross-entropy in float64, written from its definition. */
export function crossEntropy(
  logits: Float64Array,
  labels: Uint32Array,
  cols: number,
): number {
  const rows = labels.length;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    total += -Math.log(
      Math.exp(row[labels[r]] - max) /
        row.reduce((s, v) => s + Math.exp(v - max), 0),
    );
  }
  return total / rows;
}
