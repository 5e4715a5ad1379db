/**
 * A model that runs layers one after another.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import {
  type BeforeLayer,
  isLayerBlock,
  type Layer,
  type Parameter,
  type ShardOptions,
} from "./layer.ts";
import {
  checkSeed,
  checkTensor,
  describe,
  sameShape,
  showShape,
} from "../_checks.ts";
import { checkSampleShape, checkShape } from "./_layer_checks.ts";
import { InputShapeError, sameSample, showBatchShape } from "./_shape.ts";
import { hash32, randomSeed } from "../random.ts";
import { warnMisplacedJumpouts } from "./_jumpout_placement.ts";

/** What a layer must have, as the constructor checks it. */
const METHODS = [
  "build",
  "outputShape",
  "forward",
  "backward",
  "parameters",
  "state",
  "dispose",
] as const;

/** How messages name the backend tensors must be on. */
const MODEL_BACKEND = "the model was built for";

/**
 * How many `Sequential.build` calls are running: a block builds its branches
 * as models of their own, and only the outermost build sees what precedes
 * each branch.
 */
let openBuilds = 0;

/** Options of {@linkcode Sequential.build}. */
export interface SequentialBuildOptions {
  /**
   * Seed of every layer's initialisation (and of the masks of layers made
   * without a seed); drawn at random when absent.
   */
  seed?: number;
  /**
   * Prefix of the parameters' names: layer `i`'s are `${prefix}${i}.…`;
   * `""` by default. A model nested in a block is built with the block's.
   */
  prefix?: string;
}

/** Options of {@linkcode Sequential.forward}. */
export interface SequentialForwardOptions {
  /** Training behaviour; the model's mode ({@linkcode Sequential.train}, {@linkcode Sequential.eval}) when absent. */
  training?: boolean;
}

/** Options of {@linkcode Sequential.forwardAsync}. */
export interface SequentialForwardAsyncOptions
  extends SequentialForwardOptions {
  /** Awaited before each layer; what it returns goes to that layer's call. */
  beforeLayer?: BeforeLayer;
}

/** A layer about to run in a forward pass. */
interface LayerCall {
  index: number;
  layer: Layer;
  input: Tensor<"float32">;
}

/**
 * What the driver of a forward pass hands back for a layer call: options
 * for the layer's forward, or the output of a block it ran itself.
 */
interface CallResult {
  extra?: ShardOptions;
  output?: Tensor<"float32">;
}

/** What `build` fixed. */
interface Built {
  backend: Backend;
  /** Input shape of each layer, then the output shape; all batch first. */
  shapes: number[][];
}

/**
 * The batch `build` works out the layers' shapes for: layers take any
 * batch, so its size does not matter.
 */
const BUILD_BATCH = 1;

/** The activations a training forward keeps for backward. */
interface Pending {
  /** The input of each layer; `inputs[0]` is the caller's `x`. */
  inputs: Tensor<"float32">[];
  /** The output's shape, which `dy` must have. */
  outShape: readonly number[];
}

/**
 * Layers run in order: `forward` feeds each layer's output to the next,
 * `backward` runs them in reverse.
 *
 * Memory: a training forward keeps each layer's input until `backward`,
 * which frees every one as soon as no layer needs it, and every gradient
 * between layers as soon as the next one is computed; an evaluation forward
 * frees each activation once the next layer has read it. Whatever a forward
 * leaves (a training forward with no backward) is freed by the next forward.
 * So a steady loop of steps holds no more tensors after step 20 than after
 * step 1. The output of `forward` and of `backward` is always a fresh tensor
 * that the caller owns and releases; the input `x` and `dy` stay the
 * caller's, and `x` must stay live until `backward` has run.
 *
 * The model starts in training mode, as in PyTorch.
 *
 * @example A two-layer perceptron: build, forward, backward
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { Dense } from "./dense.ts";
 * import { ReLU } from "./relu.ts";
 * import { Sequential } from "./sequential.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const model = new Sequential([new Dense(4, 8), new ReLU(), new Dense(8, 3)]);
 * deepEqual(model.build(backend, [4], { seed: 1 }), [3]);
 * const x = backend.tensor(new Float32Array(8).fill(1), [2, 4]);
 * const y = model.forward(x);
 * const dx = model.backward(backend.tensor(new Float32Array(6).fill(1), [2, 3]));
 * deepEqual([y.shape, dx.shape], [[2, 3], [2, 4]]);
 * deepEqual(model.parameters().map((p) => p.name), ["0.weight", "0.bias", "2.weight", "2.bias"]);
 * ```
 */
export class Sequential {
  /** The layers, in order. */
  readonly layers: readonly Layer[];
  #training = true;
  #built: Built | undefined;
  #pending: Pending | undefined;
  /**
   * Storage this model allocated and still holds: the bases of the
   * activations of the last forward.
   */
  readonly #held = new Set<Tensor>();

  /**
   * Makes a model; nothing is allocated until {@linkcode Sequential.build}.
   *
   * @param layers The layers, in order; each used by this model only, and
   *   once: a layer keeps the state of its own last forward, so a second
   *   place in the model would overwrite what backward needs of the first.
   * @throws {TypeError} When `layers` is not an array of distinct layers.
   */
  constructor(layers: Layer[]) {
    const what = "create Sequential";
    if (!Array.isArray(layers)) {
      throw new TypeError(
        `Cannot ${what}: layers must be an array of layers, got ${
          describe(layers)
        }`,
      );
    }
    layers.forEach((layer, i) => {
      const fields = layer as unknown as Record<string, unknown> | null;
      const missing = METHODS.find((m) => typeof fields?.[m] !== "function");
      if (missing !== undefined) {
        throw new TypeError(
          `Cannot ${what}: layers[${i}] must be a layer, got ${
            describe(layer)
          } without ${missing}()`,
        );
      }
      const nameType = typeof layer.name;
      if (nameType !== "string") {
        throw new TypeError(
          `Cannot ${what}: layers[${i}] must be a layer with a string name, got a name of type ${nameType}`,
        );
      }
      const first = layers.indexOf(layer);
      if (first !== i) {
        throw new TypeError(
          `Cannot ${what}: layers[${i}] must be a layer not already in the model, got the same object as layers[${first}]`,
        );
      }
    });
    this.layers = Object.freeze([...layers]);
  }

  /**
   * One sample's shape as the model was built for it: the `inputShape` of
   * `build`; undefined before build.
   */
  get sampleShape(): number[] | undefined {
    return this.#built?.shapes[0].slice(1);
  }

  /** Whether `forward` runs in training mode by default. */
  get training(): boolean {
    return this.#training;
  }

  /**
   * Makes training the default mode of `forward` (dropout masks, batch
   * statistics).
   *
   * @returns This model.
   */
  train(): this {
    this.#training = true;
    return this;
  }

  /**
   * Makes evaluation the default mode of `forward` (no dropout, running
   * statistics).
   *
   * @returns This model.
   */
  eval(): this {
    this.#training = false;
    return this;
  }

  /**
   * The output shape for inputs of `batchShape`, with every layer's checks
   * and errors, as `build` makes them; it builds nothing. Unlike `build`,
   * it takes and returns shapes batch first, as a layer's `outputShape`
   * does (a block such as `Residual` asks its branches this way).
   *
   * @param batchShape The input's shape, batch first.
   * @returns The output shape, batch first.
   * @throws {RangeError} When a layer does not take its input, naming it.
   *
   * @example A flatten and a dense layer
   * ```ts
   * import { Dense, Flatten, Sequential } from "../../mod.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const model = new Sequential([new Flatten(), new Dense(12, 2)]);
   * deepEqual(model.outputShape([5, 3, 2, 2]), [5, 2]);
   * ```
   */
  outputShape(batchShape: readonly number[]): number[] {
    const shapes = this.#shapes(batchShape);
    return [...shapes[shapes.length - 1]];
  }

  /**
   * The input shape of each layer, then the output shape, all checked and
   * batch first.
   */
  #shapes(batchShape: readonly number[]): number[][] {
    const shapes = [checkShape("build Sequential", batchShape)];
    this.layers.forEach((layer, i) => {
      shapes.push(
        atLayer(i, layer, shapes[i], () => layer.outputShape(shapes[i])),
      );
    });
    return shapes;
  }

  /**
   * Builds every layer in order for samples of `inputShape`: layer `i` gets
   * the previous output shape, the name prefix `"i."` and a seed derived
   * from `seed` and `i`. Building again starts afresh. Every layer's shape
   * is checked before any layer is (re)built, so a build that throws leaves
   * the model as it was. A Jumpout that does not get a ReLU's output (where
   * q+ means nothing) is warned about with `console.warn`, once per layer.
   *
   * `inputShape` is one sample's shape, without the batch, as in
   * `DataParallel.create`, `summary` and `loadModel` (like Keras's
   * `inputShape`): `[784]` for flat images, `[1, 28, 28]` for MNIST as
   * images; `[]` is one number per sample. `forward` then takes any batch.
   *
   * @param backend Where the model's tensors live.
   * @param inputShape One sample's shape, without the batch.
   * @param options `{ seed }`.
   * @returns One sample's output shape, without the batch.
   * @throws {RangeError} When a layer cannot take its input shape; the
   *   message names the layer's index, the layer and both shapes (the batch
   *   written `N`). Also when `inputShape` holds anything but non-negative
   *   integers, or the seed is out of range.
   * @throws {TypeError} When `inputShape` is not an array.
   *
   * @example One sample's shape in, one sample's shape out
   * ```ts
   * import { createBackend } from "../../mod.ts";
   * import { Dense } from "./dense.ts";
   * import { Flatten } from "./flatten.ts";
   * import { Sequential } from "./sequential.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const model = new Sequential([new Flatten(), new Dense(784, 10)]);
   * deepEqual(model.build(backend, [1, 28, 28], { seed: 1 }), [10]);
   * const y = model.forward(backend.allocate([32, 1, 28, 28]));
   * deepEqual([model.sampleShape, y.shape], [[1, 28, 28], [32, 10]]);
   * ```
   *
   * @example A shape mismatch names the layer
   * ```ts
   * import { createBackend } from "../../mod.ts";
   * import { Dense } from "./dense.ts";
   * import { Sequential } from "./sequential.ts";
   * import { throws } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const model = new Sequential([new Dense(784, 1024), new Dense(512, 10)]);
   * throws(
   *   () => model.build(backend, [784]),
   *   /layer 1 \(Dense\(512 → 10\)\) needs inputs \[N, 512\], got \[N, 1024\]/,
   * );
   * ```
   */
  build(
    backend: Backend,
    inputShape: readonly number[],
    options: SequentialBuildOptions = {},
  ): number[] {
    const what = "build Sequential";
    const seed = checkSeed(what, options.seed ?? randomSeed());
    const prefix = options.prefix ?? "";
    if (typeof prefix !== "string") {
      throw new TypeError(
        `Cannot ${what}: prefix must be a string, got ${describe(prefix)}`,
      );
    }
    const shapes = this.#sampleShapes(checkSampleShape(what, inputShape));
    // Every shape fits: only now is anything freed or rebuilt.
    this.#releaseActivations();
    this.#built = undefined;
    openBuilds++;
    try {
      this.layers.forEach((layer, i) => {
        atLayer(
          i,
          layer,
          shapes[i],
          () =>
            layer.build(
              backend,
              shapes[i],
              layerSeed(seed, i),
              `${prefix}${i}.`,
            ),
        );
      });
    } finally {
      openBuilds--;
    }
    if (openBuilds === 0) warnMisplacedJumpouts(this.layers);
    this.#built = { backend, shapes };
    return shapes[shapes.length - 1].slice(1);
  }

  /**
   * `#shapes` for samples of `sample`. When they do not fit but `sample`
   * without its first dimension would, the message says `inputShape` takes
   * no batch: that is what a batch-first shape looks like.
   */
  #sampleShapes(sample: readonly number[]): number[][] {
    try {
      return this.#shapes([BUILD_BATCH, ...sample]);
    } catch (error) {
      if (!(error instanceof RangeError) || !this.#fits(sample.slice(1))) {
        throw error;
      }
      throw new RangeError(
        `${error.message}; inputShape is one sample's shape, without the batch: ${
          showShape(sample.slice(1))
        } would fit`,
        { cause: error },
      );
    }
  }

  /** Whether every layer takes samples of `sample`. */
  #fits(sample: readonly number[]): boolean {
    try {
      this.#shapes([BUILD_BATCH, ...sample]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs the layers in order.
   *
   * @param x Input of the built shape (any batch) on the built backend; in
   *   training it must stay live until `backward`.
   * @param options `{ training }`, the model's mode by default.
   * @returns The output, a fresh tensor owned by the caller.
   * @throws {TypeError} Before build, or when `x` is not a live float32
   *   tensor of the built backend.
   * @throws {RangeError} When `x`'s shape does not fit the first layer.
   */
  forward(
    x: Tensor,
    options: SequentialForwardOptions = {},
  ): Tensor<"float32"> {
    const run = this.#run(x, options.training ?? this.#training);
    let next = run.next();
    while (!next.done) next = run.next({});
    return next.value;
  }

  /**
   * Runs the layers in order like {@linkcode Sequential.forward}, awaiting
   * `beforeLayer` before each layer: what it returns is added to that
   * layer's forward options. Data-parallel replicas use it to agree on a
   * whole-batch statistic (Jumpout's q+) between layers.
   *
   * @param x Input of the built shape (any batch) on the built backend; in
   *   training it must stay live until `backward`.
   * @param options `{ training, beforeLayer }`.
   * @returns The output, a fresh tensor owned by the caller.
   * @throws {TypeError} Before build, or when `x` is not a live float32
   *   tensor of the built backend.
   * @throws {RangeError} When `x`'s shape does not fit the first layer.
   *
   * @example Tell each Jumpout layer where its rows sit in a bigger batch
   * ```ts
   * import { createBackend, Dense, Jumpout, ReLU, Sequential } from "../../mod.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const model = new Sequential([new Dense(2, 4), new ReLU(), new Jumpout()]);
   * model.build(backend, [2], { seed: 3 });
   * const seen: string[] = [];
   * const y = await model.forwardAsync(backend.tensor(new Float32Array([1, 2]), [1, 2]), {
   *   beforeLayer: (i, layer) => {
   *     seen.push(`${i}:${layer.name}`);
   *     const shard = { rowOffset: 1, batchRows: 2 };
   *     return layer instanceof Jumpout ? { shard, activeCount: undefined } : undefined;
   *   },
   * });
   * deepEqual([seen, y.shape], [["0:Dense(2 → 4)", "1:ReLU", "2:Jumpout"], [1, 4]]);
   * ```
   */
  async forwardAsync(
    x: Tensor,
    options: SequentialForwardAsyncOptions = {},
  ): Promise<Tensor<"float32">> {
    const run = this.#run(x, options.training ?? this.#training);
    let next = run.next();
    const training = options.training ?? this.#training;
    const { beforeLayer } = options;
    while (!next.done) {
      const { index, layer, input } = next.value;
      // A block runs its own layers, calling the hook before each of them.
      next = run.next(
        beforeLayer !== undefined && isLayerBlock(layer)
          ? {
            output: await layer.forwardAsync(input, { training, beforeLayer }),
          }
          : { extra: await beforeLayer?.(index, layer, input) },
      );
    }
    return next.value;
  }

  /**
   * The forward pass, pausing before each layer for shard options to add to
   * its call; what `forward` and `forwardAsync` share.
   */
  *#run(
    x: Tensor,
    training: boolean,
  ): Generator<LayerCall, Tensor<"float32">, CallResult> {
    const built = this.#checkForward(x);
    this.#releaseActivations();
    const batch = x.shape[0];
    const inputs: Tensor<"float32">[] = [];
    let a = x as Tensor<"float32">;
    for (const [i, layer] of this.layers.entries()) {
      const given = yield { index: i, layer, input: a };
      inputs.push(a);
      const y = given.output ?? layer.forward(a, { ...given.extra, training });
      this.#checkResult(
        y,
        built.shapes[i + 1],
        batch,
        `layer ${i} (${layer.name}) forward`,
      );
      if (baseOf(y) !== baseOf(x)) this.#held.add(baseOf(y));
      // Evaluation keeps nothing for backward: free each input once read.
      if (!training && baseOf(a) !== baseOf(y)) this.#drop(baseOf(a));
      a = y;
    }
    if (training) this.#pending = { inputs, outShape: a.shape };
    return this.#handOff(a, training ? inputs : [], baseOf(x));
  }

  /**
   * Back-propagates through the last training forward, writing every
   * parameter's gradient, and frees that forward's activations.
   *
   * @param dy Gradient with respect to the output; it stays the caller's.
   * @returns The gradient with respect to the input, a fresh tensor owned
   *   by the caller.
   * @throws {TypeError} Without a training forward since the last backward.
   * @throws {RangeError} When `dy`'s shape differs from the output's.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const pending = this.#pending;
    const what = "run Sequential backward";
    if (pending === undefined || this.#built === undefined) {
      throw new TypeError(
        `Cannot ${what}: dy needs a training forward first, got backward without a pending forward with training: true`,
      );
    }
    checkTensor(dy, what, "dy", {
      backend: this.#built.backend,
      where: MODEL_BACKEND,
    });
    if (!sameShape(dy.shape, pending.outShape)) {
      throw new RangeError(
        `Cannot ${what}: dy must have the output's shape ${
          showShape(pending.outShape)
        }, got ${showShape(dy.shape)}`,
      );
    }
    this.#pending = undefined;
    const { inputs } = pending;
    const dyBase = baseOf(dy);
    let g = dy as Tensor<"float32">;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      const gi = layer.backward(g);
      this.#checkResult(
        gi,
        inputs[i].shape,
        inputs[i].shape[0],
        `layer ${i} (${layer.name}) backward`,
      );
      if (baseOf(g) !== dyBase && baseOf(g) !== baseOf(gi)) {
        this.#built.backend.release(baseOf(g));
      }
      // Layer i was the last to need its input unless an earlier layer's
      // input shares its storage (a view, or a layer that passed it through).
      const input = baseOf(inputs[i]);
      if (!inputs.slice(0, i).some((t) => baseOf(t) === input)) {
        this.#drop(input);
      }
      g = gi;
    }
    const dx = this.#handOff(g, [], dyBase);
    if (baseOf(g) !== dyBase && baseOf(g) !== dx) {
      this.#built.backend.release(baseOf(g));
    }
    return dx;
  }

  /**
   * Every layer's parameters, in layer order.
   *
   * @returns The parameters (none before build).
   */
  parameters(): Parameter[] {
    return this.layers.flatMap((layer) => layer.parameters());
  }

  /**
   * Every named tensor a weights file holds: parameters and statistics such
   * as BatchNorm's running mean, named `"<layer index>.<name>"`.
   *
   * @returns The tensors by name, in layer order.
   */
  state(): Map<string, Tensor<"float32">> {
    return new Map(this.layers.flatMap((layer) => [...layer.state()]));
  }

  /** Frees the activations and every layer's tensors; build again to reuse. */
  dispose(): void {
    this.#releaseActivations();
    for (const layer of this.layers) layer.dispose();
    this.#built = undefined;
  }

  /** Throws unless built and `x` fits the first layer; returns the build. */
  #checkForward(x: Tensor): Built {
    const what = "run Sequential forward";
    const built = this.#built;
    if (built === undefined) {
      throw new TypeError(
        `Cannot ${what}: the model must be built first, got forward before build`,
      );
    }
    checkTensor(x, what, "x", { backend: built.backend, where: MODEL_BACKEND });
    const expected = built.shapes[0];
    if (!sameSample(x.shape, expected)) {
      const first = this.layers.length === 0
        ? "the model"
        : `layer 0 (${this.layers[0].name})`;
      throw new RangeError(
        `Cannot ${what}: x must have shape ${
          showBatchShape(expected)
        } as built for ${first}, got ${showShape(x.shape)}`,
      );
    }
    return built;
  }

  /** Throws unless a layer returned a live float32 tensor of the expected shape. */
  #checkResult(
    t: Tensor,
    shape: readonly number[],
    batch: number,
    what: string,
  ): void {
    const expected = [batch, ...shape.slice(1)];
    checkTensor(
      t,
      `run Sequential: ${what}`,
      "its result",
      { backend: this.#built!.backend, where: MODEL_BACKEND },
    );
    if (!sameShape(t.shape, expected)) {
      throw new RangeError(
        `Cannot run Sequential: ${what} must return shape ${
          showShape(expected)
        }, got ${showShape(t.shape)}`,
      );
    }
  }

  /**
   * `t` as a tensor the caller owns: `t` itself when it is storage of its
   * own that nothing else needs, else a copy (then `t`'s storage is freed
   * unless `keep` or the caller still needs it).
   */
  #handOff(
    t: Tensor<"float32">,
    keep: readonly Tensor[],
    callers: Tensor,
  ): Tensor<"float32"> {
    const base = baseOf(t);
    const needed = base === callers || keep.some((k) => baseOf(k) === base);
    if (t === base && !needed) {
      this.#held.delete(base);
      return t;
    }
    const backend = this.#built!.backend;
    const copy = backend.allocate(t.shape, "float32", "uninitialized");
    backend.run("axpby", { x: t, y: copy, n: t.size, alpha: 1, beta: 0 });
    if (!needed) this.#drop(base);
    return copy;
  }

  /** Frees storage this model holds. */
  #drop(base: Tensor): void {
    if (this.#held.delete(base) && !base.released) base.backend.release(base);
  }

  /** Frees whatever the last forward left. */
  #releaseActivations(): void {
    for (const base of this.#held) {
      if (!base.released) base.backend.release(base);
    }
    this.#held.clear();
    this.#pending = undefined;
  }
}

/** The storage a tensor uses: itself, or the tensor it views. */
function baseOf<T extends Tensor>(t: T): T {
  return (t.base ?? t) as T;
}

/**
 * `run()`, with a layer's shape errors restated to name its index: what
 * `outputShape` and `build` throw alike.
 */
function atLayer<T>(
  i: number,
  layer: Layer,
  shape: readonly number[],
  run: () => T,
): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof InputShapeError) {
      throw new RangeError(
        `Cannot build Sequential: layer ${i} (${layer.name}) needs inputs ${error.expected}, got ${
          showBatchShape(error.got)
        }`,
        { cause: error },
      );
    }
    if (error instanceof RangeError) {
      throw new RangeError(
        `Cannot build Sequential: layer ${i} (${layer.name}) does not take inputs ${
          showBatchShape(shape)
        }: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** A layer's seed: the model seed and the index, hashed together. */
function layerSeed(seed: number, index: number): number {
  return hash32(hash32(seed ^ 0x6c617972) ^ hash32(index + 0x9e3779b9));
}
