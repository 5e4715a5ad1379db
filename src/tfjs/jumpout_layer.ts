/**
 * Jumpout as a TensorFlow.js layer.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  JUMPOUT_OPTION_KEYS,
  type JumpoutOptions,
  jumpoutOptionsOf,
  type ResolvedJumpoutOptions,
  resolveJumpoutOptions,
} from "../layers/_jumpout_options.ts";
import { checkStep } from "../layers/_jumpout_stream.ts";
import type { JumpoutStats } from "../layers/jumpout.ts";
import { checkKnownFields, keysOf } from "../io/_spec_fields.ts";
import {
  activeThresholds,
  drawRates,
  planJumpoutStep,
  unitStats,
} from "./_jumpout_plan.ts";
import {
  applyMaskScale,
  countActive,
  deviceMaskScale,
  hostMaskScale,
  type MaskScale,
} from "./_mask_scale.ts";

/** TensorFlow.js's arguments of a layer that has no weights. */
export interface LayerArgs {
  /** The layer's name, unique in its model; TensorFlow.js makes one up when absent. */
  name?: string;
  /** For a model's first layer: the shape of a sample (null: any size). */
  inputShape?: (number | null)[];
  /** For a model's first layer: the input's shape, batch first. */
  batchInputShape?: (number | null)[];
  /** For a model's first layer with `inputShape`: the batch size. */
  batchSize?: number;
  /** The input's data type: only float32 tensors have units to drop. */
  dtype?: "float32";
  /** TensorFlow.js's flag for layers with weights; this layer has none. */
  trainable?: boolean;
}

/**
 * Arguments of {@linkcode JumpoutLayer}: the options of this library's
 * `Jumpout`, TensorFlow.js's layer arguments, and the step to start at.
 */
export interface JumpoutLayerArgs extends JumpoutOptions, LayerArgs {
  /**
   * Training forwards already run: the first one draws the rates and masks
   * of this step. Default 0; `getConfig` writes the current step, so a saved
   * and loaded model continues its mask stream.
   */
  step?: number;
}

/** The layer's name in messages and its class name in saved models. */
const NAME = "Jumpout";

/**
 * TensorFlow.js's backends that keep tensors in the host's memory, where
 * reading the counts of active inputs back costs little: there the layer
 * works out each step on the host, statistics included. On the others
 * (`webgl`, `webgpu`), the counts stay where they are.
 */
const READS_CHEAPLY = ["cpu", "wasm", "tensorflow"];

/** Every field a {@linkcode JumpoutLayerArgs} may have. */
const KNOWN_ARGS = [
  ...JUMPOUT_OPTION_KEYS,
  "step",
  ...keysOf<LayerArgs>({
    name: true,
    inputShape: true,
    batchInputShape: true,
    batchSize: true,
    dtype: true,
    trainable: true,
  }),
];

/**
 * Jumpout (Algorithm 1 of "Jumpout: Improved Dropout for Deep Neural
 * Networks with Rectified Linear Units") as a `tf.layers.Layer`: a drop-in
 * for `tf.layers.dropout` in `tf.sequential()` and functional models, with
 * the options and semantics of this library's `Jumpout`. In a training call
 * (`model.fit`, or `apply(x, { training: true })`), for the whole batch
 * (`scope: "batch"`) or each sample (`scope: "sample"`):
 *
 * 1. p = min(pMin + |z|, pMax), z ~ N(0, sigma²), a fresh draw per step
 *    (`monotone: false`: p = `rate`);
 * 2. q+ = the share of inputs > 0 (NaN counts as inactive);
 * 3. p' = min(p / q+, pMax), 0 when q+ = 0 (`normalize: false`: p' = p);
 * 4. each unit is kept with probability 1 - p' and multiplied by
 *    s = (1 - p')^-rescalePower; dropped units become +0.
 *
 * Masks come from this library's counter-based hash, not from TensorFlow.js's
 * generator: unit i of step t is kept when
 * `hash32(i ^ key(seed, t)) >>> 8 < 2^24 - p'·2^24`, so for the same options,
 * seed, step and input the rates, masks and factors are those of
 * `new Jumpout(options)` on any backend of this library. The host draws the
 * rates and hashes the indices; the masking runs on TensorFlow.js's backend
 * (`where(mask, x · s, 0)`), and so does the backward, through
 * `tf.customGrad`: dy · mask · s with the forward's mask, p and q+ held
 * constant.
 *
 * Where tensors live in the host's memory (TensorFlow.js's `cpu` and `wasm`
 * backends, and tfjs-node's `tensorflow`), the layer reads the counts of
 * active inputs back (one number per scope unit), works out the step as this
 * library does and sends the mask as a boolean tensor: outputs, gradients
 * and {@linkcode JumpoutLayer.lastStats} are the library's, bit for bit. On
 * `webgl` and `webgpu` nothing is read back: the host sends each element's
 * least count of active inputs for which it is kept, and the backend compares
 * its counts with these, so the masks are still the library's; s is worked
 * out there in float32, within float32 rounding of the library's, and the
 * statistics wait for {@linkcode JumpoutLayer.readStats}. With
 * `normalize: false`, every backend gets the whole step from the host.
 *
 * Outside training the layer returns its input and draws nothing. Products
 * follow TensorFlow.js's float32 arithmetic: a finite input whose product
 * with s passes 3.4028235e38 becomes ±∞, where this library's layer holds it
 * at ±3.4028235e38.
 *
 * The layer is serialisable: `getConfig` holds the options, the seed (drawn
 * at construction when not given) and the step, and the class is registered
 * with `tf.serialization` as `"Jumpout"` when this module loads, so
 * `tf.loadLayersModel` rebuilds a saved model that contains it.
 *
 * @example Forward and backward of a training call, and the identity outside training
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { JumpoutLayer } from "./jumpout_layer.ts";
 * import { deepEqual, equal, ok } from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const layer = new JumpoutLayer({ sigma: 0.2, seed: 7 });
 * const x = tf.tensor2d([[1, -1, 2, 0], [3, 4, -5, 6]]);
 * const grad = tf.grad((v: tf.Tensor) => tf.sum(layer.apply(v, { training: true }) as tf.Tensor));
 * const dx = await grad(x).data();
 * const [{ qPlus, scale }] = layer.lastStats!;
 * equal(qPlus, 5 / 8);
 * ok(scale > 1);
 * ok(dx.every((g) => g === 0 || g === scale));
 * const same = layer.apply(x, { training: false }) as tf.Tensor;
 * deepEqual([await same.data(), layer.step], [await x.data(), 1]);
 * ```
 */
export class JumpoutLayer extends tfl.layers.Layer {
  /** The class name TensorFlow.js's serialisation knows the layer by. */
  static className: string = NAME;

  #options: Readonly<ResolvedJumpoutOptions>;
  #step: number;
  #stats: JumpoutStats[] | undefined;
  /** The last training call's counts, where they were not read back. */
  #counts:
    | { counts: tf.Tensor; rates: Uint32Array; cols: number; backend: string }
    | undefined;

  /**
   * Makes the layer; every option is checked here, by name, with the
   * messages of this library's `Jumpout`.
   *
   * @param args Jumpout's options (see {@linkcode JumpoutOptions}), `step`,
   *   and TensorFlow.js's layer arguments (`name`, `inputShape`, …).
   * @throws {RangeError | TypeError} When an option is out of range or of
   *   the wrong type, or `args` has a field no layer takes.
   */
  constructor(args: JumpoutLayerArgs = {}) {
    // Checked before the layer exists, so bad options make nothing.
    const { options, step, layer } = splitArgs(args);
    super(layer);
    this.#options = Object.freeze(options);
    this.#step = step;
    this.supportsMasking = true;
  }

  /** The options with defaults filled in, the seed included. */
  get options(): Readonly<ResolvedJumpoutOptions> {
    return this.#options;
  }

  /**
   * Training calls run so far: the mask stream's counter. The next training
   * call draws the rates and masks of this step; setting it resumes a stream.
   */
  get step(): number {
    return this.#step;
  }

  /**
   * Sets the step the next training call uses.
   *
   * @param value A safe integer >= 0.
   * @throws {RangeError} When `value` is not a safe integer >= 0.
   */
  set step(value: number) {
    this.#step = checkStep(`set ${NAME} step`, value);
  }

  /**
   * Statistics of the last training call, one entry per scope unit, as this
   * library's `Jumpout.lastStats` gives them; undefined before the first.
   * Read synchronously: on `webgl` and `webgpu` with `normalize`, use
   * {@linkcode JumpoutLayer.readStats}.
   *
   * @throws {Error} When the last call's counts are on a GPU backend.
   */
  get lastStats(): JumpoutStats[] | undefined {
    if (this.#stats === undefined && this.#counts !== undefined) {
      throw new Error(
        `Cannot read lastStats: the ${this.#counts.backend} backend reads asynchronously, got a synchronous read; use await layer.readStats()`,
      );
    }
    return this.#stats;
  }

  /**
   * Statistics of the last training call on any backend; the counts a GPU
   * backend kept for them are read and freed.
   *
   * @returns The stats, or undefined before the first training call.
   */
  async readStats(): Promise<JumpoutStats[] | undefined> {
    const kept = this.#counts;
    if (kept !== undefined) {
      const counts = await kept.counts.data();
      // A training call while reading replaced the counts: those are newer.
      if (this.#counts !== kept) return this.readStats();
      this.#stats = unitStats(this.#options, kept.rates, counts, kept.cols);
      this.#releaseCounts();
    }
    return this.#stats;
  }

  /**
   * Applies the layer (TensorFlow.js calls this from `apply` and the models).
   *
   * @param inputs One float32 tensor, any shape, batch first.
   * @param kwargs `training: true` drops units; otherwise the input is
   *   returned as is.
   * @returns The output, of the input's shape.
   * @throws {TypeError} When given more than one tensor, or in training a
   *   tensor that is not float32.
   */
  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: { training?: boolean },
  ): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const list = Array.isArray(inputs) ? inputs : [inputs];
      if (list.length !== 1) {
        throw new TypeError(
          `Cannot run ${NAME} forward: inputs must be one tensor, got ${list.length}`,
        );
      }
      const x = list[0];
      return kwargs?.training ? this.#train(x) : x;
    });
  }

  /** The training forward: host plan, then the masking on the backend. */
  #train(x: tf.Tensor): tf.Tensor {
    if (x.dtype !== "float32") {
      throw new TypeError(
        `Cannot run ${NAME} forward: x must be a float32 tensor, got ${x.dtype}`,
      );
    }
    const o = this.#options;
    const rows = o.scope === "sample" ? (x.shape[0] ?? 1) : 1;
    const cols = rows === 0 ? 0 : x.size / rows;
    const step = this.#step;
    this.#releaseCounts();
    let tensors: MaskScale;
    if (!o.normalize || rows === 0 || READS_CHEAPLY.includes(tf.getBackend())) {
      const counts = o.normalize && rows > 0
        ? countActive(x, rows, cols).dataSync()
        : undefined;
      const plan = planJumpoutStep(o, step, rows, cols, counts);
      this.#stats = plan.stats;
      tensors = hostMaskScale(plan, x.shape);
    } else {
      // No read back: the backend compares its counts with the thresholds.
      const rates = drawRates(o, step, rows);
      const counts = tf.keep(countActive(x, rows, cols));
      this.#stats = undefined;
      this.#counts = { counts, rates, cols, backend: tf.getBackend() };
      tensors = deviceMaskScale(
        counts,
        activeThresholds(o, step, rows, cols, rates),
        rates,
        cols,
        o,
        x.shape,
      );
    }
    this.#step = step + 1;
    return applyMaskScale(x, tensors);
  }

  /** Frees the counts kept for the statistics of the last training call. */
  #releaseCounts(): void {
    this.#counts?.counts.dispose();
    this.#counts = undefined;
  }

  /**
   * Frees what the layer holds when its model is disposed: no weights, but
   * the counts of the last training call on a GPU backend.
   *
   * @returns The number of weights freed: 0.
   */
  protected override disposeWeights(): number {
    this.#releaseCounts();
    return super.disposeWeights();
  }

  /**
   * Rebuilds a layer from {@linkcode JumpoutLayer.getConfig}'s output, as
   * `tf.loadLayersModel` does; the `customObjects` that TensorFlow.js's
   * deserialisation adds to every configuration are not an argument here.
   *
   * @param cls The class to make.
   * @param config A configuration.
   * @returns The layer.
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { customObjects: _, ...args } = config;
    return new cls(args);
  }

  /**
   * The layer's configuration: TensorFlow.js's layer fields, every Jumpout
   * option, the seed and the current step.
   *
   * @returns A plain object that the constructor accepts.
   */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...jumpoutOptionsOf(this.#options, this.#options.seed),
      step: this.#step,
      ...super.getConfig(),
    };
  }
}

tf.serialization.registerClass(JumpoutLayer);

/**
 * Checks a layer's arguments and sorts them into Jumpout's options (resolved),
 * the step, and TensorFlow.js's layer arguments.
 */
function splitArgs(args: unknown): {
  options: ResolvedJumpoutOptions;
  step: number;
  layer: LayerArgs;
} {
  if (args === null || typeof args !== "object") {
    // Refused with the message of this library's layer.
    resolveJumpoutOptions(args as JumpoutOptions, NAME);
  }
  const given = args as Record<string, unknown>;
  checkKnownFields(
    given,
    KNOWN_ARGS,
    `create ${NAME}`,
    "options",
    "Jumpout options and layer arguments",
  );
  const jumpout: Record<string, unknown> = {};
  const layer: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (key === "step") continue;
    const isOption = (JUMPOUT_OPTION_KEYS as readonly string[]).includes(key);
    (isOption ? jumpout : layer)[key] = value;
  }
  return {
    options: resolveJumpoutOptions(jumpout, NAME),
    step: given.step === undefined
      ? 0
      : checkStep(`create ${NAME}`, given.step),
    layer,
  };
}
