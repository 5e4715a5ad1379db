/**
 * The Jumpout layer (Algorithm 1 of "Jumpout: Improved Dropout for Deep Neural
 * Networks with Rectified Linear Units").
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import { RATE_ONE } from "../backends/kernels.ts";
import type { Layer, Parameter } from "./layer.ts";
import {
  type JumpoutOptions,
  type ResolvedJumpoutOptions,
  resolveJumpoutOptions,
} from "./_jumpout_options.ts";
import {
  type Built,
  checkBackward,
  checkBuild,
  checkForward,
  checkShape,
} from "./_layer_checks.ts";
import { type JumpoutShard, resolveShard } from "./_jumpout_shard.ts";
import { checkTensor } from "../_checks.ts";
import { release } from "../_release.ts";
import { maskKey } from "../random.ts";
import { checkStep, drawRate } from "./_jumpout_stream.ts";

export type {
  JumpoutOptions,
  JumpoutScope,
  ResolvedJumpoutOptions,
} from "./_jumpout_options.ts";
export type { JumpoutShard } from "./_jumpout_shard.ts";

/** What one scope unit (the batch, or one sample) got in a training forward. */
export interface JumpoutStats {
  /** The drawn rate p (after quantisation to 2^-24). */
  p: number;
  /**
   * q+: the share of inputs > 0 in the unit (NaN when the layer does not
   * normalise); the whole batch's when the forward was given `activeCount`.
   */
  qPlus: number;
  /** p': the rate actually applied, min(p / q+, pMax), quantised to 2^-24. */
  rate: number;
  /** s: the factor kept units were multiplied by, (1 - p')^-rescalePower. */
  scale: number;
}

/**
 * Options of a forward call.
 *
 * Data-parallel replicas that each run a contiguous slice of a batch give
 * `shard` (and, with `scope: "batch"`, `activeCount`) so that their slices
 * together get exactly the masks, rates and factors that one layer would
 * give the whole batch. Both are checked in inference too, where they change
 * nothing.
 */
export interface ForwardOptions {
  /** Drop units (true) or pass the input through (false, the default). */
  training?: boolean;
  /**
   * This call's rows are rows `[rowOffset, rowOffset + x.shape[0])` of a
   * batch of `batchRows` rows. Mask indices then count from the shard's
   * first element in the whole batch, and with `scope: "sample"` each row
   * draws its rate as that whole-batch row; with `scope: "batch"` every
   * shard draws the same rate. Without `activeCount`, q+ is this call's own.
   */
  shard?: JumpoutShard;
  /**
   * The inputs > 0 in the whole batch, all shards together (see
   * {@linkcode Jumpout.countActive}): q+ becomes
   * `activeCount / (batchRows × units per row)`, the whole batch's, and this
   * call counts nothing. Needs `shard`, `scope: "batch"` and `normalize`;
   * an integer in `[0, batchRows × units per row]`.
   */
  activeCount?: number;
}

/** What backward and the statistics need from the last training forward. */
interface ForwardState {
  backend: Backend;
  shape: readonly number[];
  rows: number;
  cols: number;
  key: number;
  /** Index of the call's first element in the whole batch (0 unsharded). */
  offset: number;
  /** Units per row that q+ divides the counts by. */
  qCols: number;
  p: Float64Array;
  counts: Tensor<"uint32">;
  rate: Tensor<"uint32">;
  keep: Tensor<"uint32">;
  scale: Tensor<"float32">;
  stats?: JumpoutStats[];
}

/**
 * Jumpout: dropout whose rate is drawn each step from a truncated half-normal,
 * divided by the share of active units, with kept units rescaled by
 * (1 - p')^-0.75.
 *
 * In a training forward, for each scope unit (the whole call with
 * `scope: "batch"`, each row / image with `scope: "sample"`):
 *
 * 1. p = min(pMin + |z|, pMax), z ~ N(0, sigma²), a fresh draw per layer per
 *    step (with `monotone: false`, p = `rate`, unbounded by pMin and pMax);
 * 2. q+ = #{inputs > 0} / #inputs; NaN counts as inactive;
 * 3. p' = min(p / q+, pMax), and p' = 0 when q+ = 0 (with `normalize: false`,
 *    p' = p, uncapped);
 * 4. each unit is kept with probability 1 - p' and multiplied by
 *    s = (1 - p')^-rescalePower; dropped units become 0.
 *
 * Rates are fixed-point numbers in units of 2^-24, and p / q+ is rounded down,
 * so the keep/drop decision is made in integer arithmetic: masks are
 * bit-identical on every backend. Unit i of step t is kept when
 * `hash32(i ^ key(seed, t)) >>> 8 < 2^24 - p'·2^24`: masks are fresh at every
 * step, reproducible under a seed, and regenerated in backward (0 bytes stored
 * per element). Two layers with the same options and seed give the same masks.
 * A batch split across replicas gets the whole batch's masks and rates when
 * each replica's forward says where its rows sit (see
 * {@linkcode ForwardOptions}): unit i of a shard is then hashed as its index
 * in the whole batch.
 *
 * Inference (`training: false`) returns the input tensor itself and consumes no
 * randomness. Backward computes dx = dy · mask · s for the last training
 * forward, with p and q+ held constant. A finite input never becomes infinite:
 * products saturate at ±3.4028235e38.
 *
 * As a {@linkcode Layer} it has no parameters and keeps every input shape. A
 * layer made without a `seed` takes the seed its `build` is given, so a
 * model built with a seed draws the same masks in every run.
 *
 * @example Train-mode forward and backward on the reference backend
 * ```ts
 * import { createBackend, Jumpout } from "../../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const x = backend.tensor(new Float32Array([1, -1, 2, 0, 3, 4]), [2, 3]);
 * const layer = new Jumpout({ sigma: 0.1, seed: 7 });
 * const y = layer.forward(x, { training: true });
 * const dx = layer.backward(backend.tensor(new Float32Array(6).fill(1), [2, 3]));
 * const [stats] = layer.lastStats!;
 * deepEqual(stats.qPlus, 4 / 6);
 * const values = await backend.read(y);
 * const grads = await backend.read(dx);
 * // Kept units are scaled by s in both directions; dropped ones are 0.
 * values.forEach((v, i) => deepEqual(v, grads[i] === 0 ? 0 : Math.fround([1, -1, 2, 0, 3, 4][i] * stats.scale)));
 * ```
 */
export class Jumpout implements Layer {
  #options: Readonly<ResolvedJumpoutOptions>;
  /** Whether the seed came from the options (else `build` may set it). */
  readonly #seedGiven: boolean;
  /** What the last `build` fixed, which forward then insists on. */
  #built: Built | undefined;
  #step = 0;
  /** The last training forward's per-row tensors; kept for the statistics. */
  #state: ForwardState | undefined;
  /** Whether `#state` belongs to the last forward, which backward needs. */
  #pending = false;

  /**
   * Makes a layer; it allocates nothing until its first training forward.
   *
   * @param options The layer's options; see {@linkcode JumpoutOptions}.
   * @throws {RangeError | TypeError} When an option is out of range or of the wrong type.
   */
  constructor(options: JumpoutOptions = {}) {
    this.#options = Object.freeze(
      resolveJumpoutOptions(options, this.layerName),
    );
    this.#seedGiven = options.seed !== undefined;
  }

  /** The options with defaults filled in (the seed included). */
  get options(): Readonly<ResolvedJumpoutOptions> {
    return this.#options;
  }

  /**
   * The seed the layer was made with, or undefined when it takes its seed
   * from the model's build.
   */
  get givenSeed(): number | undefined {
    return this.#seedGiven ? this.#options.seed : undefined;
  }

  /** The layer's name in a model's messages: `"Jumpout"` or `"Dropout"`. */
  get name(): string {
    return this.layerName;
  }

  /** The name used in error messages. */
  protected get layerName(): string {
    return "Jumpout";
  }

  /**
   * How many training forwards this layer has run; the mask stream's counter.
   * Setting it resumes a stream, e.g. from a checkpoint: the next training
   * forward draws the rates and masks of that step. `build` sets it to 0.
   * The random streams see the step modulo 2^32.
   */
  get step(): number {
    return this.#step;
  }

  /**
   * Sets the step the next training forward uses.
   *
   * @param value A safe integer >= 0.
   * @throws {RangeError} When `value` is not a safe integer >= 0.
   *
   * @example Resume a layer's mask stream at step 5
   * ```ts
   * import { createBackend, Jumpout } from "../../mod.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const x = backend.tensor(new Float32Array([1, 2, 3, 4]), [1, 4]);
   * const trained = new Jumpout({ seed: 9 });
   * for (let i = 0; i < 5; i++) trained.forward(x, { training: true });
   * const resumed = new Jumpout({ seed: 9 });
   * resumed.step = trained.step;
   * const a = await backend.read(trained.forward(x, { training: true }));
   * const b = await backend.read(resumed.forward(x, { training: true }));
   * deepEqual([b, resumed.step], [a, 6]);
   * ```
   */
  set step(value: number) {
    this.#step = checkStep(`set ${this.layerName} step`, value);
  }

  /**
   * The output shape for inputs of `batchShape`: the same shape.
   *
   * @param batchShape Any shape, batch first.
   * @returns A copy of `batchShape`.
   * @throws {RangeError} When `batchShape` is not a shape.
   */
  outputShape(batchShape: readonly number[]): number[] {
    return checkShape(`build ${this.layerName}`, batchShape);
  }

  /**
   * Prepares the layer for a model: it remembers the backend and the input
   * shape (forward then rejects tensors of another backend or sample shape)
   * and, when made without a `seed`, takes `seed`. It frees the state of
   * earlier forwards and restarts the mask stream at step 0, so a rebuilt
   * layer draws the masks of a fresh one. It allocates nothing.
   *
   * @param backend Where the layer runs.
   * @param batchShape Any shape, batch first.
   * @param seed The seed of the masks, unless the options gave one.
   * @param prefix Unused: the layer has no parameters.
   * @returns The input shape.
   * @throws {RangeError} When the shape or the seed is invalid.
   * @throws {TypeError} When `prefix` is not a string.
   *
   * @example Jumpout keeps every shape
   * ```ts
   * import { createBackend, Jumpout } from "../../mod.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const layer = new Jumpout();
   * deepEqual(layer.build(backend, [8, 3, 4, 4], 5, "2."), [8, 3, 4, 4]);
   * deepEqual([layer.options.seed, layer.parameters().length], [5, 0]);
   * ```
   */
  build(
    backend: Backend,
    batchShape: readonly number[],
    seed: number,
    prefix: string,
  ): number[] {
    const what = `build ${this.layerName}`;
    const shape = checkBuild(what, batchShape, seed, prefix);
    const out = this.outputShape(shape);
    if (!this.#seedGiven) {
      this.#options = Object.freeze({ ...this.#options, seed });
    }
    this.#releaseState();
    this.#step = 0;
    this.#built = { backend, input: shape };
    return out;
  }

  /**
   * Jumpout has no parameters.
   *
   * @returns An empty list.
   */
  parameters(): Parameter[] {
    return [];
  }

  /**
   * Jumpout stores nothing in weights files.
   *
   * @returns An empty map.
   */
  state(): Map<string, Tensor<"float32">> {
    return new Map();
  }

  /**
   * Applies the layer.
   *
   * @param x Input (any rank; NCHW for images). Rows are `x.shape[0]` for `scope: "sample"`.
   * @param options `{ training: true }` to drop units; otherwise `x` is
   *   returned as is. `shard` and `activeCount` place the call in a batch
   *   split across replicas (see {@linkcode ForwardOptions}).
   * @returns A new tensor on x's backend (or `x` itself in inference).
   * @throws {TypeError} When `x` is not a live float32 tensor, or not on
   *   the backend the layer was built for; when `shard` is not an object;
   *   when `activeCount` comes without `shard`, or with `scope: "sample"` or
   *   `normalize: false`.
   * @throws {RangeError} When the layer was built and `x`'s shape differs
   *   from the built one past the batch; when `shard` or `activeCount` is out
   *   of range. A call that throws changes nothing.
   *
   * @example Two replicas, each with half the batch, give the whole batch's output
   * ```ts
   * import { createBackend, Jumpout } from "../../mod.ts";
   * import { deepEqual } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const data = new Float32Array([1, -2, 3, 4, 0, 5, -6, 7]);
   * const whole = new Jumpout({ sigma: 0.3, seed: 5 })
   *   .forward(backend.tensor(data, [4, 2]), { training: true });
   *
   * const halves = [data.subarray(0, 4), data.subarray(4)];
   * const layers = halves.map(() => new Jumpout({ sigma: 0.3, seed: 5 }));
   * // The replicas exchange their counts of active inputs first.
   * const counts = await Promise.all(
   *   halves.map((h, i) => layers[i].countActive(backend.tensor(h, [2, 2]))),
   * );
   * const activeCount = counts[0] + counts[1];
   * const parts = await Promise.all(halves.map((h, i) =>
   *   backend.read(layers[i].forward(backend.tensor(h, [2, 2]), {
   *     training: true,
   *     shard: { rowOffset: 2 * i, batchRows: 4 },
   *     activeCount,
   *   }))
   * ));
   * deepEqual([...parts[0], ...parts[1]], [...(await backend.read(whole))]);
   * ```
   */
  forward(x: Tensor, options: ForwardOptions = {}): Tensor<"float32"> {
    const name = this.layerName;
    // Built, the layer holds to its build as every layer does; unbuilt, it
    // takes any live float32 tensor.
    const input = this.#built === undefined
      ? checkTensor(x, `run ${name} forward`, "x")
      : checkForward(name, this.#built, x);
    const o = this.options;
    const shard = resolveShard(
      `run ${name} forward`,
      input.shape,
      options.shard,
      options.activeCount,
      o,
    );
    // Inference keeps the statistics but leaves nothing to differentiate.
    this.#pending = false;
    if (!options.training) return input;
    const backend = x.backend;
    const rows = o.scope === "sample" ? (x.shape[0] ?? 1) : 1;
    const cols = rows === 0 ? 0 : x.size / rows;
    const state = this.#prepare(backend, x.shape, rows, cols);
    const step = this.#step++;
    // A sample's rate is drawn as its whole-batch row; the batch's, as unit 0.
    const firstUnit = o.scope === "sample" ? (shard?.rowOffset ?? 0) : 0;
    const rate = new Uint32Array(rows);
    for (let r = 0; r < rows; r++) {
      rate[r] = drawRate(o, step, firstUnit + r);
      state.p[r] = rate[r] / RATE_ONE;
    }
    state.key = maskKey(o.seed, step);
    state.offset = shard === undefined ? 0 : shard.rowOffset * shard.units;
    state.qCols = cols;
    state.stats = undefined;
    backend.upload(state.rate, rate);
    if (shard?.activeCount !== undefined) {
      // The whole batch's q+: its count over its units (scope "batch").
      state.qCols = shard.batchRows * shard.units;
      backend.upload(state.counts, new Uint32Array([shard.activeCount]));
    } else if (o.normalize) {
      backend.run("count_active", {
        x: input,
        counts: state.counts,
        rows,
        cols,
      });
    }
    backend.run("jumpout_params", {
      counts: state.counts,
      rate: state.rate,
      keep: state.keep,
      scale: state.scale,
      rows,
      cols: state.qCols,
      maxDrop: Math.round(o.pMax * RATE_ONE),
      normalize: o.normalize,
      power: o.rescalePower,
    });
    const y = backend.allocate(x.shape, "float32", "uninitialized");
    backend.run("mask_scale", {
      x: input,
      keep: state.keep,
      scale: state.scale,
      y,
      rows,
      cols,
      key: state.key,
      offset: state.offset,
    });
    this.#pending = true;
    return y;
  }

  /**
   * How many elements of `x` are > 0 (NaN is not), counted on `x`'s
   * backend: what data-parallel replicas add up into a forward's
   * `activeCount`.
   *
   * @param x A live float32 tensor (on the built backend once built).
   * @returns The count.
   * @throws {TypeError} When `x` is not a live float32 tensor, or not on
   *   the backend the layer was built for.
   *
   * @example Count the active inputs of a shard
   * ```ts
   * import { createBackend, Jumpout } from "../../mod.ts";
   * import { equal } from "node:assert/strict";
   *
   * const backend = await createBackend("reference");
   * const x = backend.tensor(new Float32Array([1, -1, 0, NaN, 2, 3]), [2, 3]);
   * equal(await new Jumpout().countActive(x), 3);
   * ```
   */
  async countActive(x: Tensor): Promise<number> {
    const input = checkTensor(
      x,
      `run ${this.layerName} countActive`,
      "x",
      { backend: this.#built?.backend, where: "the layer was built for" },
    );
    const backend = input.backend;
    const counts = backend.allocate([1], "uint32", "uninitialized");
    try {
      backend.run("count_active", {
        x: input,
        counts,
        rows: 1,
        cols: input.size,
      });
      return (await backend.read(counts))[0];
    } finally {
      backend.release(counts);
    }
  }

  /**
   * Gradient of the last training forward: dx = dy · mask · s.
   *
   * @param dy Gradient of the loss with respect to the forward's output.
   * @returns dx, a new tensor on the same backend.
   * @throws {TypeError} Without a training forward since the last build
   *   or inference forward, or when dy is on another backend.
   * @throws {RangeError} When dy's shape differs from the forward's input.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const s = this.#pending ? this.#state : undefined;
    // Unbuilt, the forward's backend is the one dy must be on.
    const grad = checkBackward(
      this.layerName,
      this.#built ?? (s && { backend: s.backend, input: s.shape }),
      s?.shape,
      dy,
      this.#built === undefined ? "of the forward" : undefined,
    );
    const { backend, keep, scale, rows, cols, key, offset } = s!;
    const dx = backend.allocate(grad.shape, "float32", "uninitialized");
    backend.run("mask_scale", {
      x: grad,
      keep,
      scale,
      y: dx,
      rows,
      cols,
      key,
      offset,
    });
    return dx;
  }

  /**
   * Statistics of the last training forward, one entry per scope unit, read
   * synchronously. Available on CPU backends (`reference`, `wasm`); on
   * `webgpu` use {@linkcode Jumpout.readStats}.
   *
   * @returns The stats, or undefined before any training forward.
   * @throws {Error} On a backend without synchronous reads.
   */
  get lastStats(): JumpoutStats[] | undefined {
    const s = this.#state;
    if (s === undefined) return undefined;
    if (s.stats) return s.stats;
    const readSync = s.backend.readSync?.bind(s.backend);
    if (!readSync) {
      throw new Error(
        `Cannot read lastStats: the ${s.backend.name} backend reads asynchronously, got a synchronous read; use await layer.readStats()`,
      );
    }
    s.stats = this.#stats(
      s,
      readSync(s.counts),
      readSync(s.keep),
      readSync(s.scale),
    );
    return s.stats;
  }

  /**
   * Statistics of the last training forward on any backend.
   *
   * @returns The stats, or undefined before any training forward.
   */
  async readStats(): Promise<JumpoutStats[] | undefined> {
    const s = this.#state;
    if (s === undefined) return undefined;
    if (!s.stats) {
      const [counts, keep, scale] = await Promise.all([
        s.backend.read(s.counts),
        s.backend.read(s.keep),
        s.backend.read(s.scale),
      ]);
      s.stats = this.#stats(s, counts, keep, scale);
    }
    return s.stats;
  }

  /**
   * Frees the layer's per-row tensors and forgets the build (backend and
   * shape); the layer can still run again, on any backend and shape.
   */
  dispose(): void {
    this.#releaseState();
    this.#built = undefined;
  }

  /** Frees the per-row tensors of the last training forward. */
  #releaseState(): void {
    const s = this.#state;
    this.#state = undefined;
    this.#pending = false;
    if (s !== undefined) release(s.counts, s.rate, s.keep, s.scale);
  }

  #stats(
    s: ForwardState,
    counts: Uint32Array,
    keep: Uint32Array,
    scale: Float32Array,
  ): JumpoutStats[] {
    return Array.from({ length: s.rows }, (_, r) => ({
      p: s.p[r],
      qPlus: this.options.normalize
        ? (s.qCols === 0 ? 0 : counts[r] / s.qCols)
        : NaN,
      rate: 1 - keep[r] / RATE_ONE,
      scale: scale[r],
    }));
  }

  /** Reuses the per-row tensors when backend and row count match. */
  #prepare(
    backend: Backend,
    shape: readonly number[],
    rows: number,
    cols: number,
  ): ForwardState {
    const s = this.#state;
    if (s && s.backend === backend && s.rows === rows && !s.keep.released) {
      s.shape = shape;
      s.cols = cols;
      return s;
    }
    this.#releaseState();
    this.#state = {
      backend,
      shape,
      rows,
      cols,
      key: 0,
      offset: 0,
      qCols: cols,
      p: new Float64Array(rows),
      // Kept from call to call (and for backward): no scope releases them.
      counts: backend.keep(backend.allocate([rows], "uint32")),
      rate: backend.keep(backend.allocate([rows], "uint32")),
      keep: backend.keep(backend.allocate([rows], "uint32")),
      scale: backend.keep(backend.allocate([rows], "float32")),
    };
    return this.#state;
  }
}
