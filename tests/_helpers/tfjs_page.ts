/**
 * The page script of the TensorFlow.js layer's browser test: on a GPU backend
 * of TensorFlow.js (`webgl`, `webgpu`) it runs training calls of the layer
 * on given inputs, and `model.fit` of a small network, and hands back what
 * came out for the test to check against this library's `Jumpout`.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-webgl";
import "@tensorflow/tfjs-backend-webgpu";
import { jumpout } from "../../tfjs.ts";
import type { JumpoutOptions, JumpoutStats } from "../../mod.ts";

/** Training calls of one layer on one input. */
export interface PageCase {
  options: JumpoutOptions;
  shape: number[];
  x: number[];
  /** The gradient of the output, for the backward. */
  dy: number[];
  steps: number;
}

/** What each training call of a {@linkcode PageCase} gave. */
export interface PageCaseResult {
  y: number[][];
  dx: number[][];
  stats: JumpoutStats[][];
}

/** What the page gives back. */
export interface PageResult {
  /** The backend TensorFlow.js ran on. */
  backend: string;
  cases: PageCaseResult[];
  /** `model.fit`'s loss per epoch. */
  losses: number[];
  /** The layer's step after `model.fit`: one per batch. */
  fitSteps: number;
  /** Tensors alive after the training calls, minus before. */
  leaked: number;
}

/** Runs the cases and the training on `backend`. */
async function runTfjsJumpout(
  backend: "webgl" | "webgpu",
  cases: PageCase[],
): Promise<PageResult> {
  if (!(await tf.setBackend(backend))) {
    throw new Error(`Cannot run the page: TensorFlow.js has no ${backend}`);
  }
  const before = tf.memory().numTensors;
  const results: PageCaseResult[] = [];
  for (const c of cases) {
    const layer = jumpout(c.options);
    const x = tf.tensor(c.x, c.shape);
    const dy = tf.tensor(c.dy, c.shape);
    const out: PageCaseResult = { y: [], dx: [], stats: [] };
    for (let step = 0; step < c.steps; step++) {
      const { value, grad } = tf.valueAndGrad((v: tf.Tensor) =>
        layer.apply(v, { training: true }) as tf.Tensor
      )(x, dy);
      out.y.push([...await value.data()]);
      out.dx.push([...await grad.data()]);
      // Read back here, after the call: the counts stay on the GPU till now.
      out.stats.push((await layer.readStats())!);
      tf.dispose([value, grad]);
    }
    tf.dispose([x, dy]);
    results.push(out);
  }
  // Counted before model.fit, which leaves one tensor of its own behind.
  const leaked = tf.memory().numTensors - before;
  const { losses, steps } = await fit();
  return {
    backend: tf.getBackend(),
    cases: results,
    losses,
    fitSteps: steps,
    leaked,
  };
}

/** `model.fit` of a 12-32-3 perceptron with Jumpout on a fixed problem. */
async function fit(): Promise<{ losses: number[]; steps: number }> {
  // A functional model this time: input → dense → Jumpout → dense.
  const regulariser = jumpout({ seed: 3 });
  const glorot = (seed: number) => tfl.initializers.glorotNormal({ seed });
  const input = tfl.input({ shape: [12] });
  const hidden = tfl.layers.dense({
    units: 32,
    activation: "relu",
    kernelInitializer: glorot(1),
  }).apply(input);
  const logits = tfl.layers.dense({ units: 3, kernelInitializer: glorot(2) })
    .apply(regulariser.apply(hidden));
  const model = tfl.model({
    inputs: input,
    outputs: logits as tfl.SymbolicTensor,
  });
  const optimizer = tf.train.adam(0.01);
  model.compile({
    optimizer,
    loss: (labels: tf.Tensor, logits: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(labels, logits),
  });
  // Three classes, each a direction in 12 dimensions plus a fixed wobble.
  const rows = 96;
  const labels = Array.from({ length: rows }, (_, i) => i % 3);
  const data = labels.flatMap((label, i) =>
    Array.from(
      { length: 12 },
      (_, j) => (j % 3 === label ? 1 : 0) + 0.3 * Math.sin(7 * i + 3 * j),
    )
  );
  const x = tf.tensor2d(data, [rows, 12]);
  const y = tf.oneHot(tf.tensor1d(labels, "int32"), 3);
  const history = await model.fit(x, y, {
    epochs: 10,
    batchSize: 32,
    shuffle: false,
    verbose: 0,
  });
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return {
    losses: history.history.loss as number[],
    steps: regulariser.step,
  };
}

declare global {
  /** The page's entry point, for the test to call. */
  var runTfjsJumpout:
    | ((backend: "webgl" | "webgpu", cases: PageCase[]) => Promise<PageResult>)
    | undefined;
}

globalThis.runTfjsJumpout = runTfjsJumpout;
