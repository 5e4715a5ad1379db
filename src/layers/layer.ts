/**
 * The interface every layer of a {@linkcode Sequential} model implements.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend.ts";
import type { JumpoutShard } from "./_jumpout_shard.ts";

/** A trainable tensor and its gradient, both on the model's backend. */
export interface Parameter {
  /** The name under which weights files store it, e.g. `"0.weight"`. */
  readonly name: string;
  /** The values the optimiser updates in place. */
  readonly value: Tensor<"float32">;
  /** The gradient of the last backward, same shape; overwritten by each backward. */
  readonly grad: Tensor<"float32">;
}

/**
 * How many numbers a layer holds once built, by kind, as model summaries
 * count them (Keras's and torchinfo's convention).
 */
export interface ParameterCount {
  /** Elements of its parameters: what the optimiser updates. */
  trainable: number;
  /**
   * Elements of the rest of its state, such as BatchNorm's running
   * statistics: forward passes update them, gradients do not.
   */
  nonTrainable: number;
}

/** Options of a forward call. */
export interface LayerForwardOptions {
  /** Training behaviour (dropout masks, batch statistics); false by default. */
  training?: boolean;
}

/**
 * One step of a network. A layer is built once for a backend and an input
 * shape (that is when it allocates its parameters), then runs forward and
 * backward on that backend.
 *
 * Ownership: a result of `forward` or `backward` either has storage of its
 * own, which the caller owns and releases, or shares the storage of the
 * argument (`x` or `dy`): it is the argument itself (Jumpout in inference)
 * or a view of it (Flatten). So release a result only when its storage,
 * `t.base ?? t`, differs from the argument's; a result that shares it stays
 * valid while the argument is live. A training forward keeps its input for
 * `backward`, so the caller keeps that input live and unchanged until
 * `backward` has run (backward refuses a released one). `Sequential`
 * applies these rules for its caller: what its `forward` and `backward`
 * return always has storage of its own.
 */
export interface Layer {
  /** A short description for error messages, e.g. `"Dense(784 → 1024)"`. */
  readonly name: string;
  /**
   * The output shape for inputs of `batchShape`, with the checks of `build`
   * and its errors; it allocates nothing and changes nothing, so a model can
   * check every layer before building any.
   *
   * @param batchShape The input's shape, batch first.
   * @returns The output shape, as `build` would return it.
   * @throws {RangeError} When the input shape does not fit the layer; the
   *   message names the layer and both shapes.
   */
  outputShape(batchShape: readonly number[]): number[];
  /**
   * How many numbers the layer holds once built, known before it is built,
   * so that an unbuilt model can be summarised. Optional: a layer without
   * it holds none.
   *
   * @returns The elements of its parameters and of its other state.
   */
  parameterCount?(): ParameterCount;
  /**
   * Allocates parameters on `backend` for inputs of `batchShape` (batch
   * dimension first, any size) and returns the output shape, batch first.
   *
   * @param backend Where the layer's tensors live.
   * @param batchShape The input's shape, batch first.
   * @param seed Seed of the layer's initialisation.
   * @param prefix Name prefix of its parameters, e.g. `"0."`.
   * @returns The output shape for that input shape.
   * @throws {RangeError} When the input shape does not fit the layer; the
   *   message names the layer and both shapes.
   */
  build(
    backend: Backend,
    batchShape: readonly number[],
    seed: number,
    prefix: string,
  ): number[];
  /**
   * Applies the layer.
   *
   * @param x Input on the layer's backend.
   * @param options `{ training: true }` for training behaviour.
   * @returns The output: owned by the caller unless it shares `x`'s storage.
   */
  forward(x: Tensor, options?: LayerForwardOptions): Tensor<"float32">;
  /**
   * Gradient of the last training forward; writes the parameters' `grad`.
   *
   * @param dy Gradient with respect to the forward's output.
   * @returns Gradient with respect to the forward's input: owned by the
   *   caller unless it shares `dy`'s storage.
   */
  backward(dy: Tensor): Tensor<"float32">;
  /** Trainable tensors, in a fixed order. */
  parameters(): Parameter[];
  /**
   * Every tensor a weights file holds: the parameters' values and other state
   * such as running statistics, by name.
   */
  state(): Map<string, Tensor<"float32">>;
  /** Frees every tensor the layer holds. */
  dispose(): void;
}

/**
 * What a {@linkcode BeforeLayer} hook adds to one layer's forward call: the
 * call's rows are a shard of a bigger batch. These are options of Jumpout's
 * forward (see its `ForwardOptions`); other layers take none and ignore
 * them. Both fields are required, `activeCount` possibly `undefined`, so a
 * misspelt field fails to compile as a missing one.
 */
export interface ShardOptions {
  /** Where the call's rows sit in the whole batch. */
  shard: JumpoutShard;
  /**
   * The inputs > 0 in the whole batch, all shards together; `undefined`
   * for the layer to count its own shard.
   */
  activeCount: number | undefined;
}

/**
 * Called by `Sequential.forwardAsync` before each layer runs, with
 * the layer's index, the layer and its input; what it returns (or resolves
 * to) is added to that layer's forward options, `undefined` for none.
 */
export type BeforeLayer = (
  index: number,
  layer: Layer,
  input: Tensor<"float32">,
) => ShardOptions | undefined | Promise<ShardOptions | undefined>;

/** Options of {@linkcode LayerBlock.forwardAsync}. */
export interface BlockForwardOptions {
  /** Training behaviour. */
  training: boolean;
  /** Awaited before each layer inside the block. */
  beforeLayer: BeforeLayer;
}

/**
 * A layer made of other layers, such as a residual block. Walks over a
 * model ({@linkcode walkLayers}) enter it, and a forward that calls a hook
 * before each layer (`Sequential.forwardAsync`) calls it before each layer
 * inside it too.
 */
export interface LayerBlock extends Layer {
  /**
   * The layers inside, each with its path in the block (e.g. `"body.0"`),
   * in the order they run. A path is `<branch>.<index>`: each branch runs
   * its layers in order from the block's input, as a residual block's body
   * and shortcut do ({@linkcode branchesOf} groups them).
   */
  children(): [string, Layer][];
  /**
   * The forward, awaiting `beforeLayer` before each layer inside.
   *
   * @param x Input on the block's backend.
   * @param options The mode and the hook.
   * @returns What `forward` returns.
   */
  forwardAsync(
    x: Tensor,
    options: BlockForwardOptions,
  ): Promise<Tensor<"float32">>;
}

/**
 * Whether a layer is a {@linkcode LayerBlock}.
 *
 * @param layer Any layer.
 * @returns True when it has layers inside.
 */
export function isLayerBlock(layer: Layer): layer is LayerBlock {
  const fields = layer as unknown as Record<string, unknown>;
  return typeof fields.children === "function" &&
    typeof fields.forwardAsync === "function";
}

/**
 * Every layer of a list, blocks entered (a block comes before its
 * children), each with its path: `"3"` for the fourth layer, `"3.body.1"`
 * for the second layer of its body.
 *
 * @param layers A model's layers, e.g. `Sequential.layers`.
 * @returns `[path, layer]` pairs in the order the layers run.
 *
 * @example Find every Jumpout layer, nested ones included
 * ```ts
 * import { Jumpout, modelFromSpec, walkLayers } from "../../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const model = modelFromSpec([
 *   { type: "jumpout" },
 *   { type: "residual", body: [{ type: "relu" }, { type: "jumpout" }] },
 * ]);
 * const paths = walkLayers(model.layers)
 *   .filter(([, layer]) => layer instanceof Jumpout)
 *   .map(([path]) => path);
 * deepEqual(paths, ["0", "1.body.1"]);
 * ```
 */
export function walkLayers(layers: readonly Layer[]): [string, Layer][] {
  return layers.flatMap((layer, i) => walkLayer(String(i), layer));
}

function walkLayer(path: string, layer: Layer): [string, Layer][] {
  if (!isLayerBlock(layer)) return [[path, layer]];
  return [
    [path, layer],
    ...layer.children().flatMap(([name, child]) =>
      walkLayer(`${path}.${name}`, child)
    ),
  ];
}

/**
 * A block's layers by branch, from the paths of its `children()`: each
 * branch's layers run in order from the block's input.
 *
 * @param block A layer with layers inside.
 * @returns `[branch, layers]` pairs, in the order the branches first run.
 *
 * @example A residual block's body and shortcut
 * ```ts
 * import { branchesOf, Dense, ReLU, Residual } from "../../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const block = new Residual([new ReLU(), new Dense(4, 4)], [new Dense(4, 4)]);
 * deepEqual(
 *   branchesOf(block).map(([branch, layers]) => [branch, layers.map((l) => l.name)]),
 *   [["body", ["ReLU", "Dense(4 → 4)"]], ["shortcut", ["Dense(4 → 4)"]]],
 * );
 * ```
 */
export function branchesOf(block: LayerBlock): [string, Layer[]][] {
  const branches = new Map<string, Layer[]>();
  for (const [path, layer] of block.children()) {
    const branch = path.slice(0, Math.max(0, path.lastIndexOf(".")));
    const layers = branches.get(branch) ?? [];
    layers.push(layer);
    branches.set(branch, layers);
  }
  return [...branches];
}
