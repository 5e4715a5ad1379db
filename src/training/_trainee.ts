/**
 * What `fit`, `evaluate` and `predict` need of a model, the same for a
 * `Sequential` trained on the calling thread and a `DataParallel` trainer.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import { describe } from "../_checks.ts";
import { release } from "../_release.ts";
import { encodeCheckpoint, restoreCheckpoint } from "../io/checkpoint.ts";
import {
  labelsTensor,
  type LossResult,
  SoftmaxCrossEntropy,
} from "../layers/loss.ts";
import { Sequential } from "../layers/sequential.ts";
import { Optimizer } from "../optim/optimizer.ts";
import { evaluateStep, trainStep } from "../optim/train_step.ts";
import { DataParallel } from "../parallel/data_parallel.ts";
import { softmaxRows } from "../parallel/replica.ts";
import type { Classifier } from "./classifier.ts";

/** A model behind one interface. */
export interface Trainee {
  /** One sample's shape. */
  readonly sampleShape: readonly number[];
  /** Values per sample. */
  readonly sampleSize: number;
  /** Labels lie in `[0, classes)`. */
  readonly classes: number;
  /** The fewest rows a training batch may have. */
  readonly minBatch: number;
  /** The seed of the shuffle when none is given, if the model has one. */
  readonly seed: number | undefined;
  trainStep(x: Float32Array, y: Uint32Array): Promise<LossResult>;
  evaluate(x: Float32Array, y: Uint32Array): Promise<LossResult>;
  predict(x: Float32Array): Promise<Float32Array>;
  /** A checkpoint of the whole training state, with more metadata. */
  save(metadata: Record<string, string>): Promise<Uint8Array>;
  /** Puts the training state back to a checkpoint; nothing changes when it does not fit. */
  restore(bytes: Uint8Array): Promise<void>;
  /** Frees what this wrapper allocated (never the model). */
  dispose(): void;
}

/**
 * The model behind the {@linkcode Trainee} interface, checked.
 *
 * @param what What the caller is doing, for messages.
 * @param model A built `Sequential` or a `DataParallel` trainer.
 * @param optimizer The `Sequential`'s optimiser, to train it; must be left
 *   out with a `DataParallel`, which has its own.
 * @param training Whether the model is to be trained (a `Sequential` needs
 *   its optimiser then).
 * @returns The wrapper.
 */
export function traineeOf(
  what: string,
  model: Classifier,
  optimizer: Optimizer | undefined,
  training: boolean,
): Trainee {
  if (model instanceof DataParallel) {
    if (optimizer !== undefined) {
      throw new TypeError(
        `Cannot ${what}: optimizer must be left out with a DataParallel trainer (it has its own), got ${
          describe(optimizer)
        }`,
      );
    }
    return dataParallelTrainee(model);
  }
  if (!(model instanceof Sequential)) {
    throw new TypeError(
      `Cannot ${what}: model must be a Sequential or a DataParallel trainer, got ${
        describe(model)
      }`,
    );
  }
  const sampleShape = model.sampleShape;
  const backend = sampleShape && backendOf(model);
  if (sampleShape === undefined || backend === undefined) {
    throw new TypeError(
      `Cannot ${what}: model must be built (Sequential.build) and have parameters, got ${
        sampleShape === undefined ? "a model not built" : "no parameters"
      }`,
    );
  }
  if (training && !(optimizer instanceof Optimizer)) {
    throw new TypeError(
      `Cannot ${what}: optimizer must be an optimiser of the model's parameters (SGD or Adam) to train a Sequential, got ${
        describe(optimizer)
      }`,
    );
  }
  if (
    optimizer !== undefined &&
    !model.parameters().every((p) => optimizer.parameters.includes(p))
  ) {
    throw new RangeError(
      `Cannot ${what}: optimizer must update every parameter of the model, got one made for other parameters`,
    );
  }
  const output = model.outputShape([1, ...sampleShape]);
  if (output.length !== 2) {
    throw new RangeError(
      `Cannot ${what}: model must output [N, classes], got [N, ${
        output.slice(1).join(", ")
      }]`,
    );
  }
  return sequentialTrainee(model, optimizer, backend, sampleShape, output[1]);
}

function dataParallelTrainee(trainer: DataParallel): Trainee {
  const sampleShape = trainer.inputShape;
  return {
    sampleShape,
    sampleSize: sampleShape.reduce((a, b) => a * b, 1),
    classes: trainer.classes,
    minBatch: Math.max(1, trainer.workers),
    seed: trainer.seed,
    trainStep: (x, y) => trainer.trainStep(x, y),
    evaluate: (x, y) => trainer.evaluate(x, y),
    predict: (x) => trainer.predict(x),
    save: (metadata) => trainer.checkpoint(metadata),
    restore: async (bytes) => void await trainer.restore(bytes),
    dispose: () => {},
  };
}

function sequentialTrainee(
  model: Sequential,
  optimizer: Optimizer | undefined,
  backend: Backend,
  sampleShape: readonly number[],
  classes: number,
): Trainee {
  const loss = new SoftmaxCrossEntropy();
  /** Runs `use` on the rows as tensors, then frees them. */
  async function withTensors<T>(
    x: Float32Array,
    y: Uint32Array | undefined,
    use: (x: Tensor<"float32">, y: Tensor<"uint32">) => Promise<T>,
  ): Promise<T> {
    const xs = backend.tensor(x, [x.length / sampleSize, ...sampleShape]);
    let ys: Tensor<"uint32"> | undefined;
    try {
      ys = y && labelsTensor(backend, y, classes);
      return await use(xs, ys!);
    } finally {
      release(xs, ys);
    }
  }
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
  return {
    sampleShape,
    sampleSize,
    classes,
    minBatch: 1,
    seed: undefined,
    trainStep: (x, y) =>
      withTensors(
        x,
        y,
        (x, labels) =>
          trainStep({ model, loss, optimizer: optimizer!, x, labels }),
      ),
    evaluate: (x, y) =>
      withTensors(
        x,
        y,
        (x, labels) => evaluateStep({ model, loss, x, labels }),
      ),
    predict: (x) =>
      withTensors(x, undefined, async (xs) => {
        const logits = model.forward(xs, { training: false });
        try {
          return softmaxRows(await backend.read(logits), classes);
        } finally {
          if (logits !== xs) release(logits);
        }
      }),
    save: (metadata) =>
      encodeCheckpoint(model, optimizer!, optimizer!.stepCount, metadata),
    restore: (bytes) => {
      restoreCheckpoint(model, optimizer!, bytes);
      return Promise.resolve();
    },
    dispose: () => loss.dispose(),
  };
}

/** The backend a built model's tensors live on. */
function backendOf(model: Sequential): Backend | undefined {
  const [first] = model.state().values();
  return first?.backend;
}
