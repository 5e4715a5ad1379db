/**
 * The Jumpout layer (Algorithm 1 of "Jumpout: Improved Dropout for Deep Neural
 * Networks with Rectified Linear Units").
 *
 * @module
 */

import { type Backend, RATE_ONE } from "./backend.ts";
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
} from "./layers/_checks.ts";
import { checkTensor, release } from "./_tensors.ts";
import { maskKey, normal } from "./random.ts";
import type { Tensor } from "./tensor.ts";

export type {
  JumpoutOptions,
  JumpoutScope,
  ResolvedJumpoutOptions,
} from "./_jumpout_options.ts";

/** What one scope unit (the batch, or one sample) got in a training forward. */
export interface JumpoutStats {
  /** The drawn rate p (after quantisation to 2^-24). */
  p: number;
  /** q+: the share of inputs > 0 in the unit (NaN when the layer does not normalise). */
  qPlus: number;
  /** p': the rate actually applied, min(p / q+, pMax), quantised to 2^-24. */
  rate: number;
  /** s: the factor kept units were multiplied by, (1 - p')^-rescalePower. */
  scale: number;
}

/** Options of a forward call. */
export interface ForwardOptions {
  /** Drop units (true) or pass the input through (false, the default). */
  training?: boolean;
}

/** What backward and the statistics need from the last training forward. */
interface ForwardState {
  backend: Backend;
  shape: readonly number[];
  rows: number;
  cols: number;
  key: number;
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
 * import { createBackend, Jumpout } from "../mod.ts";
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

  /** The layer's name in a model's messages: `"Jumpout"` or `"Dropout"`. */
  get name(): string {
    return this.layerName;
  }

  /** The name used in error messages. */
  protected get layerName(): string {
    return "Jumpout";
  }

  /** How many training forwards this layer has run; the mask stream's counter. */
  get step(): number {
    return this.#step;
  }

  /**
   * The output shape for inputs of `inputShape`: the same shape.
   *
   * @param inputShape Any shape, batch first.
   * @returns A copy of `inputShape`.
   * @throws {RangeError} When `inputShape` is not a shape.
   */
  outputShape(inputShape: readonly number[]): number[] {
    return checkShape(`build ${this.layerName}`, inputShape);
  }

  /**
   * Prepares the layer for a model: it remembers the backend and the input
   * shape (forward then rejects tensors of another backend or sample shape)
   * and, when made without a `seed`, takes `seed`. It frees the state of
   * earlier forwards and restarts the mask stream at step 0, so a rebuilt
   * layer draws the masks of a fresh one. It allocates nothing.
   *
   * @param backend Where the layer runs.
   * @param inputShape Any shape, batch first.
   * @param seed The seed of the masks, unless the options gave one.
   * @param prefix Unused: the layer has no parameters.
   * @returns The input shape.
   * @throws {RangeError} When the shape or the seed is invalid.
   * @throws {TypeError} When `prefix` is not a string.
   *
   * @example Jumpout keeps every shape
   * ```ts
   * import { createBackend, Jumpout } from "../mod.ts";
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
    inputShape: readonly number[],
    seed: number,
    prefix: string,
  ): number[] {
    const what = `build ${this.layerName}`;
    const shape = checkBuild(what, inputShape, seed, prefix);
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
   * @param options `{ training: true }` to drop units; otherwise `x` is returned as is.
   * @returns A new tensor on x's backend (or `x` itself in inference).
   * @throws {TypeError} When `x` is not a live float32 tensor, or not on
   *   the backend the layer was built for.
   * @throws {RangeError} When the layer was built and `x`'s shape differs
   *   from the built one past the batch.
   */
  forward(x: Tensor, options: ForwardOptions = {}): Tensor<"float32"> {
    const name = this.layerName;
    // Built, the layer holds to its build as every layer does; unbuilt, it
    // takes any live float32 tensor.
    const input = this.#built === undefined
      ? checkTensor(x, `run ${name} forward`, "x")
      : checkForward(name, this.#built, x);
    // Inference keeps the statistics but leaves nothing to differentiate.
    this.#pending = false;
    if (!options.training) return input;
    const o = this.options;
    const backend = x.backend;
    const rows = o.scope === "sample" ? (x.shape[0] ?? 1) : 1;
    const cols = rows === 0 ? 0 : x.size / rows;
    const state = this.#prepare(backend, x.shape, rows, cols);
    const step = this.#step++;
    const rate = new Uint32Array(rows);
    for (let r = 0; r < rows; r++) {
      const p = o.monotone
        ? Math.min(o.pMin + Math.abs(o.sigma * normal(o.seed, step, r)), o.pMax)
        : o.rate!;
      rate[r] = Math.round(p * RATE_ONE);
      state.p[r] = rate[r] / RATE_ONE;
    }
    state.key = maskKey(o.seed, step);
    state.stats = undefined;
    backend.upload(state.rate, rate);
    if (o.normalize) {
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
      cols,
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
    });
    this.#pending = true;
    return y;
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
    const { backend, keep, scale, rows, cols, key } = s!;
    const dx = backend.allocate(grad.shape, "float32", "uninitialized");
    backend.run("mask_scale", { x: grad, keep, scale, y: dx, rows, cols, key });
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
        ? (s.cols === 0 ? 0 : counts[r] / s.cols)
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
      p: new Float64Array(rows),
      counts: backend.allocate([rows], "uint32"),
      rate: backend.allocate([rows], "uint32"),
      keep: backend.allocate([rows], "uint32"),
      scale: backend.allocate([rows], "float32"),
    };
    return this.#state;
  }
}
