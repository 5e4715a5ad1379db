/**
 * Test helpers for data-parallel training: a small model, a fixed data set,
 * and the tensors of a checkpoint.
 */
import {
  decodeSafetensors,
  type LayerSpec,
  type OptimizerSpec,
} from "../../mod.ts";

/** Features of each sample. */
export const FEATURES = 20;

/** Classes. */
export const CLASSES = 3;

/** A ReLU network with a Jumpout layer after each hidden layer. */
export const LAYERS: LayerSpec[] = [
  { type: "dense", inFeatures: FEATURES, outFeatures: 48 },
  { type: "relu" },
  { type: "jumpout" },
  { type: "dense", inFeatures: 48, outFeatures: 32 },
  { type: "relu" },
  { type: "jumpout" },
  { type: "dense", inFeatures: 32, outFeatures: CLASSES },
];

/** SGD with momentum, which has state to keep in step too. */
export const OPTIMIZER: OptimizerSpec = {
  type: "sgd",
  lr: 0.05,
  momentum: 0.9,
};

/** A noisy three-class problem: class c raises every third feature. */
export function batches(
  count: number,
  rows: number,
  seed = 1,
): { x: Float32Array; labels: number[] }[] {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: count }, () => {
    const x = new Float32Array(rows * FEATURES);
    const labels: number[] = [];
    for (let i = 0; i < rows; i++) {
      const c = Math.floor(uniform() * CLASSES);
      labels.push(c);
      for (let j = 0; j < FEATURES; j++) {
        x[i * FEATURES + j] = uniform() - 0.5 + (j % CLASSES === c ? 0.7 : 0);
      }
    }
    return { x, labels };
  });
}

/** A checkpoint's tensors by name. */
export function tensorsOf(bytes: Uint8Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of decodeSafetensors(bytes).tensors) {
    out.set(name, t.data as Float32Array);
  }
  return out;
}

/** Whether two byte arrays are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
