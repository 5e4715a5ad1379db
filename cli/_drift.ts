/**
 * How far dropout moves the mean and variance of the next linear layer's
 * outputs away from their test-time values (Figures 3 and 5 of the paper,
 * in kind), for a given rate and rescale power.
 *
 * @module
 */

import {
  type Backend,
  Conv2d,
  createBackend,
  Dense,
  Jumpout,
  type Layer,
  type LayerSpec,
  modelFromSpec,
  optimizerFromSpec,
  type OptimizerSpec,
  restoreCheckpoint,
  type Tensor,
} from "../mod.ts";

/** One measured drift. */
export interface DriftRow {
  /** Index of the dropout position (a Jumpout layer) in the model. */
  layer: number;
  /** The fixed dropout rate applied there. */
  p: number;
  /** The rescale power: kept units are scaled by (1 - p)^-power. */
  power: number;
  /** E[y] with the mask over E[y] without (bias excluded), weighted over channels. */
  meanRatio: number;
  /** Var[y] with the mask over Var[y] without, summed over channels. */
  varRatio: number;
}

/** Masks drawn per measurement. */
const DRAWS = 4;

/**
 * Measures the drift at every Jumpout position of a trained model: the
 * layer is replaced by dropout at rate `p` with kept units scaled by
 * (1 - p)^-power, everything else in evaluation mode, and y is the output of
 * the next Dense or Conv2d layer, compared with the same output without the
 * mask.
 *
 * @param specs The model's layers.
 * @param inputShape One sample's shape.
 * @param optimizer The optimiser spec the checkpoint was written with.
 * @param checkpoint The trained model's checkpoint.
 * @param images Standardised inputs, rows of the sample size.
 * @param ps The rates.
 * @param powers The rescale powers.
 * @returns One row per position, rate and power.
 */
export async function measureDrift(
  specs: LayerSpec[],
  inputShape: number[],
  optimizer: OptimizerSpec,
  checkpoint: Uint8Array,
  images: Float32Array,
  ps: number[],
  powers: number[],
): Promise<DriftRow[]> {
  const backend = await createBackend("wasm");
  try {
    const size = inputShape.reduce((a, b) => a * b, 1);
    const rows = images.length / size;
    const model = modelFromSpec(specs);
    model.build(backend, inputShape, { seed: 0 });
    restoreCheckpoint(
      model,
      optimizerFromSpec(optimizer, model.parameters()),
      checkpoint,
    );
    const layers = model.layers;
    const out: DriftRow[] = [];
    const x = backend.tensor(images, [rows, ...inputShape]);
    const held: Tensor[] = [x];
    try {
      let h = x as Tensor<"float32">;
      for (const [j, layer] of layers.entries()) {
        if (!(layer instanceof Jumpout)) {
          h = keep(held, layer.forward(h, { training: false }));
          continue;
        }
        const next = layers.findIndex((l, i) =>
          i > j && (l instanceof Dense || l instanceof Conv2d)
        );
        if (next < 0) continue;
        const path = layers.slice(j + 1, next + 1);
        const bias = biasOf(backend, layers[next]);
        const clean = channelStats(backend, run(held, path, h), bias);
        for (const p of ps) {
          for (const power of powers) {
            let mean = 0;
            let variance = 0;
            for (let draw = 0; draw < DRAWS; draw++) {
              const mask = new Jumpout({
                monotone: false,
                normalize: false,
                rate: p,
                rescalePower: power,
                seed: 1000 * draw + j,
              });
              const dropped = keep(held, mask.forward(h, { training: true }));
              const noisy = channelStats(
                backend,
                run(held, path, dropped),
                bias,
              );
              mean += weightedRatio(noisy.means, clean.means) / DRAWS;
              variance += sum(noisy.vars) / sum(clean.vars) / DRAWS;
            }
            out.push({
              layer: j,
              p,
              power,
              meanRatio: mean,
              varRatio: variance,
            });
          }
        }
      }
    } finally {
      // Views share their base's storage: free each base once.
      for (const base of new Set(held.map((t) => t.base ?? t))) {
        if (!base.released) backend.release(base);
      }
    }
    return out;
  } finally {
    backend.dispose();
  }
}

/** Runs layers in evaluation mode. */
function run(
  held: Tensor[],
  path: Layer[],
  x: Tensor<"float32">,
): Tensor<"float32"> {
  let a = x;
  for (const layer of path) {
    a = keep(held, layer.forward(a, { training: false }));
  }
  return a;
}

/** Remembers a tensor to free at the end (views and their bases alike). */
function keep(held: Tensor[], t: Tensor<"float32">): Tensor<"float32"> {
  held.push(t);
  return t;
}

/** A layer's bias values, or zeros. */
function biasOf(backend: Backend, layer: Layer): Float32Array | undefined {
  const bias = layer.parameters().find((p) => p.name.endsWith(".bias"));
  return bias ? backend.readSync!(bias.value) as Float32Array : undefined;
}

/** Per channel (axis 1) mean without the bias, and variance. */
function channelStats(
  backend: Backend,
  y: Tensor<"float32">,
  bias: Float32Array | undefined,
): { means: Float64Array; vars: Float64Array } {
  const values = backend.readSync!(y) as Float32Array;
  const [n, channels] = y.shape;
  const inner = y.size / (n * channels);
  const means = new Float64Array(channels);
  const vars = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * channels + c) * inner;
      for (let k = 0; k < inner; k++) {
        const v = values[base + k];
        s += v;
        s2 += v * v;
      }
    }
    const count = n * inner;
    const m = s / count;
    means[c] = m - (bias ? bias[c] : 0);
    vars[c] = s2 / count - m * m;
  }
  return { means, vars };
}

/** Σ sign(b)·a / Σ |b|: the ratio a/b per channel, weighted by |b|. */
function weightedRatio(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let c = 0; c < a.length; c++) {
    num += Math.sign(b[c]) * a[c];
    den += Math.abs(b[c]);
  }
  return num / den;
}

function sum(a: Float64Array): number {
  return a.reduce((s, v) => s + v, 0);
}
