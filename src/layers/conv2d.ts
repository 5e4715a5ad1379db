/**
 * The 2-D convolution layer.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import type { ConvGeometry } from "../backend.ts";
import { outputSize } from "../backends/kernels.ts";
import type {
  Layer,
  LayerForwardOptions,
  Parameter,
  ParameterCount,
} from "./layer.ts";
import {
  type Built,
  checkBackward,
  checkBuild,
  checkForward,
  checkSaved,
  checkShape,
} from "./_layer_checks.ts";
import { checkBoolean, checkInteger } from "../_checks.ts";
import { heNormal, makeParameter, releaseParameters } from "./_init.ts";
import { claimWorkspaces, unclaimWorkspaces, workspace } from "./_workspace.ts";
import { InputShapeError } from "./_shape.ts";
import { batchSlice, samplesPerSlice } from "./_batch_slices.ts";

/** Options of {@linkcode Conv2d}. */
export interface Conv2dOptions {
  /** Step between windows, both axes (default 1). */
  stride?: number;
  /** Zero cells added on each side, both axes (default 0). */
  padding?: number;
  /** Whether to add a learned bias per output channel (default true). */
  bias?: boolean;
}

/** The pending training forward: its input and sizes. */
interface Pending {
  input: Tensor<"float32">;
  geometry: ConvGeometry;
  outShape: number[];
}

/**
 * A 2-D convolution (cross-correlation, as in PyTorch) of NCHW images with a
 * square kernel: `y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c]`. The weight is
 * `[outChannels, inChannels, k, k]` (`"weight"`), He-normal with fan-in
 * `inChannels · k²`; the bias `[outChannels]` (`"bias"`) starts at 0.
 *
 * It runs as matrix products: `im2col` unfolds the input into `cols`
 * `[inChannels·k², N·outH·outW]`, `W · cols` gives `[outChannels, N,
 * outH·outW]`, and a transpose makes it NCHW. On the CPU backends this runs
 * on slices of the batch whose `cols` stay in cache (`_batch_slices.ts`; for
 * one image the product is already NCHW); a GPU takes the batch at once.
 * `cols` and the product are workspaces that every convolution on the
 * backend shares. A training forward keeps only its input `x`, which must
 * stay live and unchanged until backward; backward unfolds it again into
 * `cols` for `dW = dy · colsᵀ` (summed over the slices), then overwrites
 * `cols` with `Wᵀ · dy`, folded back by `col2im`: one backward per training
 * forward. On the CPU backends at stride 1 with "same" padding (`k = 2 ·
 * padding + 1`), `matmul_im2col` reads the unfolded input in place instead
 * of `cols`, for the forward and `dW`, and `dx` is the convolution of `dy`
 * with the flipped kernel, its channel axes swapped.
 *
 * @example A 3×3 convolution with padding 1 keeps the image size
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { Conv2d } from "./conv2d.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const conv = new Conv2d(3, 8, 3, { padding: 1 });
 * deepEqual(conv.build(backend, [2, 3, 5, 5], 1, "0."), [2, 8, 5, 5]);
 * const x = backend.tensor(new Float32Array(150).fill(1), [2, 3, 5, 5]);
 * const y = conv.forward(x, { training: true });
 * const dx = conv.backward(backend.tensor(new Float32Array(400).fill(1), [2, 8, 5, 5]));
 * deepEqual([y.shape, dx.shape], [[2, 8, 5, 5], [2, 3, 5, 5]]);
 * ```
 */
export class Conv2d implements Layer {
  /** Channels of the input. */
  readonly inChannels: number;
  /** Channels of the output. */
  readonly outChannels: number;
  /** Side of the square kernel. */
  readonly kernelSize: number;
  /** Step between windows. */
  readonly stride: number;
  /** Zero cells added on each side. */
  readonly padding: number;
  /** Whether the layer adds a bias. */
  readonly hasBias: boolean;
  #built: Built | undefined;
  #weight: Parameter | undefined;
  #bias: Parameter | undefined;
  #pending: Pending | undefined;

  /**
   * Makes the layer; it allocates nothing until {@linkcode Conv2d.build}.
   *
   * @param inChannels Input channels (>= 1).
   * @param outChannels Output channels (>= 1).
   * @param kernelSize Side of the square kernel (>= 1).
   * @param options `{ stride = 1, padding = 0, bias = true }`.
   * @throws {RangeError} When a size is not an integer in range.
   * @throws {TypeError} When `bias` is not a boolean.
   */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    options: Conv2dOptions = {},
  ) {
    const what = "create Conv2d";
    this.inChannels = checkInteger(inChannels, 1, what, "inChannels");
    this.outChannels = checkInteger(outChannels, 1, what, "outChannels");
    this.kernelSize = checkInteger(kernelSize, 1, what, "kernelSize");
    this.stride = checkInteger(options.stride ?? 1, 1, what, "stride");
    this.padding = checkInteger(options.padding ?? 0, 0, what, "padding");
    this.hasBias = checkBoolean(options.bias ?? true, what, "bias");
  }

  /** E.g. `"Conv2d(3 → 64, 3×3, padding 1)"`. */
  get name(): string {
    const k = this.kernelSize;
    const extra = [
      this.stride === 1 ? "" : `, stride ${this.stride}`,
      this.padding === 0 ? "" : `, padding ${this.padding}`,
    ].join("");
    return `Conv2d(${this.inChannels} → ${this.outChannels}, ${k}×${k}${extra})`;
  }

  /**
   * The output shape for inputs of `batchShape`; allocates nothing.
   *
   * @param batchShape `[N, inChannels, H, W]`, the image at least one
   *   window in size once padded.
   * @returns `[N, outChannels, outH, outW]`.
   * @throws {RangeError} When the input shape does not fit.
   */
  outputShape(batchShape: readonly number[]): number[] {
    const shape = checkShape(`build ${this.name}`, batchShape);
    const [k, p, s] = [this.kernelSize, this.padding, this.stride];
    if (shape.length !== 4 || shape[1] !== this.inChannels) {
      throw new InputShapeError(
        this.name,
        `[N, ${this.inChannels}, H, W]`,
        shape,
      );
    }
    const min = Math.max(1, k - 2 * p);
    if (shape[2] < min || shape[3] < min) {
      throw new InputShapeError(
        this.name,
        `[N, ${this.inChannels}, H, W] with H, W >= ${min}`,
        shape,
      );
    }
    return [
      shape[0],
      this.outChannels,
      outputSize(shape[2], k, s, p),
      outputSize(shape[3], k, s, p),
    ];
  }

  /**
   * The numbers the layer holds once built; it need not be built.
   *
   * @returns `outChannels · inChannels · kernelSize²` weights and
   *   `outChannels` biases (if any), all trainable.
   */
  parameterCount(): ParameterCount {
    const bias = this.hasBias ? this.outChannels : 0;
    const k = this.kernelSize;
    return {
      trainable: this.outChannels * this.inChannels * k * k + bias,
      nonTrainable: 0,
    };
  }

  /**
   * Allocates the weight and bias for inputs `[N, inChannels, H, W]`.
   *
   * @param backend Where the layer's tensors live.
   * @param batchShape `[N, inChannels, H, W]`, the image at least one
   *   window in size once padded.
   * @param seed Seed of the weights.
   * @param prefix Name prefix of the parameters.
   * @returns `[N, outChannels, outH, outW]`.
   * @throws {RangeError} When the input shape does not fit.
   */
  build(
    backend: Backend,
    batchShape: readonly number[],
    seed: number,
    prefix: string,
  ): number[] {
    const shape = checkBuild(`build ${this.name}`, batchShape, seed, prefix);
    const out = this.outputShape(shape);
    this.dispose();
    const k = this.kernelSize;
    const fanIn = this.inChannels * k * k;
    this.#weight = makeParameter(
      backend,
      `${prefix}weight`,
      [this.outChannels, this.inChannels, k, k],
      heNormal(seed, this.outChannels * fanIn, fanIn),
    );
    if (this.hasBias) {
      this.#bias = makeParameter(backend, `${prefix}bias`, [this.outChannels]);
    }
    claimWorkspaces(backend);
    this.#built = { backend, input: shape };
    return out;
  }

  /**
   * Convolves `x`.
   *
   * @param x `[N, inChannels, H, W]` on the built backend; after a training
   *   forward it must stay live and unchanged until backward.
   * @param options `{ training: true }` to keep `x` for one backward.
   * @returns `[N, outChannels, outH, outW]`, owned by the caller.
   */
  forward(x: Tensor, options: LayerForwardOptions = {}): Tensor<"float32"> {
    const input = checkForward(this.name, this.#built, x);
    const backend = this.#built!.backend;
    const [batch, channels, height, width] = input.shape;
    const geometry: ConvGeometry = {
      batch,
      channels,
      height,
      width,
      kernelH: this.kernelSize,
      kernelW: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
    };
    const outH = outputSize(height, this.kernelSize, this.stride, this.padding);
    const outW = outputSize(width, this.kernelSize, this.stride, this.padding);
    const plane = outH * outW;
    const depth = channels * this.kernelSize * this.kernelSize;
    const outShape = [batch, this.outChannels, outH, outW];
    const y = backend.allocate(outShape, "float32", "uninitialized");
    const fused = this.#fused(backend);
    const samples = samplesPerSlice(backend, batch, depth * plane * 4);
    for (let first = 0; first < batch; first += samples) {
      const count = Math.min(samples, batch - first);
      const positions = count * plane;
      const xs = batchSlice(backend, input, first, count);
      // One image's `W · cols` is already its NCHW output.
      const ys = batchSlice(backend, y, first, count);
      const product = count === 1
        ? ys
        : workspace(backend, "conv.product", [this.outChannels, positions]);
      const slice = { ...geometry, batch: count };
      if (fused) {
        backend.run("matmul_im2col", {
          a: this.#weight!.value,
          x: xs,
          c: product,
          m: this.outChannels,
          ...slice,
          transCols: false,
          flip: false,
          accumulate: false,
        });
      } else {
        const cols = workspace(backend, "conv.cols", [depth, positions]);
        backend.run("im2col", { x: xs, cols, ...slice });
        backend.run("matmul", {
          a: this.#weight!.value,
          b: cols,
          c: product,
          m: this.outChannels,
          n: positions,
          k: depth,
          transA: false,
          transB: false,
          accumulate: false,
        });
      }
      if (count > 1) {
        backend.run("transpose", {
          x: product,
          y: ys,
          rows: this.outChannels,
          cols: count,
          inner: plane,
        });
      }
    }
    if (this.#bias) {
      backend.run("bias_add", {
        y,
        bias: this.#bias.value,
        outer: batch,
        channels: this.outChannels,
        inner: plane,
      });
    }
    this.#pending = options.training
      ? { input, geometry, outShape }
      : undefined;
    return y;
  }

  /**
   * Writes `dW` and `db` and returns `dx`; consumes the pending forward.
   *
   * @param dy `[N, outChannels, outH, outW]`.
   * @returns `dx`, `[N, inChannels, H, W]`, owned by the caller.
   */
  backward(dy: Tensor): Tensor<"float32"> {
    const pending = this.#pending;
    const grad = checkBackward(
      this.name,
      this.#built,
      pending?.outShape,
      dy,
    );
    const { input, geometry, outShape } = pending!;
    checkSaved(this.name, input);
    const backend = this.#built!.backend;
    const [batch, , outH, outW] = outShape;
    const plane = outH * outW;
    const depth = geometry.channels * this.kernelSize * this.kernelSize;
    if (this.#bias) {
      backend.run("bias_grad", {
        dy: grad,
        db: this.#bias.grad,
        outer: batch,
        channels: this.outChannels,
        inner: plane,
      });
    }
    const dx = backend.allocate(
      [batch, geometry.channels, geometry.height, geometry.width],
      "float32",
      "uninitialized",
    );
    const dW = this.#weight!.grad;
    const weightT = this.#fused(backend)
      ? this.#swappedWeight(backend)
      : undefined;
    const samples = samplesPerSlice(backend, batch, depth * plane * 4);
    for (let first = 0; first < batch; first += samples) {
      const count = Math.min(samples, batch - first);
      const positions = count * plane;
      const xs = batchSlice(backend, input, first, count);
      const dys = batchSlice(backend, grad, first, count);
      const dxs = batchSlice(backend, dx, first, count);
      const slice = { ...geometry, batch: count };
      // One image's dy is already `[outChannels, positions]`.
      let dyT = dys;
      if (count > 1) {
        dyT = workspace(backend, "conv.product", [
          this.outChannels,
          positions,
        ]);
        backend.run("transpose", {
          x: dys,
          y: dyT,
          rows: count,
          cols: this.outChannels,
          inner: plane,
        });
      }
      // The first slice writes dW, the others add their share to it.
      const accumulate = first > 0;
      if (weightT !== undefined) {
        backend.run("matmul_im2col", {
          a: dyT,
          x: xs,
          c: dW,
          m: this.outChannels,
          ...slice,
          transCols: true,
          flip: false,
          accumulate,
        });
        // dx is dy convolved with the flipped kernel, channels swapped.
        const product = count === 1
          ? dxs
          : workspace(backend, "conv.cols", [geometry.channels, positions]);
        backend.run("matmul_im2col", {
          a: weightT,
          x: dys,
          c: product,
          m: geometry.channels,
          ...slice,
          channels: this.outChannels,
          padding: this.kernelSize - 1 - this.padding,
          transCols: false,
          flip: true,
          accumulate: false,
        });
        if (count > 1) {
          backend.run("transpose", {
            x: product,
            y: dxs,
            rows: geometry.channels,
            cols: count,
            inner: plane,
          });
        }
        continue;
      }
      const cols = workspace(backend, "conv.cols", [depth, positions]);
      backend.run("im2col", { x: xs, cols, ...slice });
      backend.run("matmul", {
        a: dyT,
        b: cols,
        c: dW,
        m: this.outChannels,
        n: depth,
        k: positions,
        transA: false,
        transB: true,
        accumulate,
      });
      // dcols overwrites cols: dW has read it.
      backend.run("matmul", {
        a: this.#weight!.value,
        b: dyT,
        c: cols,
        m: depth,
        n: positions,
        k: this.outChannels,
        transA: true,
        transB: false,
        accumulate: false,
      });
      backend.run("col2im", { cols, x: dxs, ...slice });
    }
    this.#pending = undefined;
    return dx;
  }

  /**
   * Whether the products read the unfolded input in place
   * (`matmul_im2col`) rather than from `cols`: on the CPU backends, at stride
   * 1 with the output as large as the input, where the wasm kernel reads
   * each row of the unfolded input as a run of the image, and the input's
   * gradient is a convolution of the same shape.
   */
  #fused(backend: Backend): boolean {
    return backend.viewAt !== undefined && this.stride === 1 &&
      2 * this.padding + 1 === this.kernelSize;
  }

  /** The weight with its channel axes swapped, `[inChannels, outChannels·k²]`. */
  #swappedWeight(backend: Backend): Tensor<"float32"> {
    const k = this.kernelSize;
    const swapped = workspace(backend, "conv.weightT", [
      this.inChannels,
      this.outChannels * k * k,
    ]);
    backend.run("transpose", {
      x: this.#weight!.value,
      y: swapped,
      rows: this.outChannels,
      cols: this.inChannels,
      inner: k * k,
    });
    return swapped;
  }

  /**
   * The weight, then the bias if any.
   *
   * @returns The parameters (none before build).
   */
  parameters(): Parameter[] {
    return [this.#weight, this.#bias].filter((p) => p !== undefined);
  }

  /**
   * The parameters' values by name.
   *
   * @returns E.g. `"0.weight"` and `"0.bias"`.
   */
  state(): Map<string, Tensor<"float32">> {
    return new Map(this.parameters().map((p) => [p.name, p.value]));
  }

  /**
   * Frees the parameters and ends the layer's claim on the backend's
   * workspaces (the last claim frees them); the layer must be built again
   * to run.
   */
  dispose(): void {
    releaseParameters(this.parameters());
    if (this.#built !== undefined) unclaimWorkspaces(this.#built.backend);
    this.#weight = this.#bias = this.#built = undefined;
    this.#pending = undefined;
  }
}
