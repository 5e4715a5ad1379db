/**
 * Models as plain data: a list of layer specs that survives a structured
 * clone (so it can be posted to a Web Worker) and rebuilds the same model on
 * the other side.
 *
 * @module
 */

import { Dropout, type DropoutOptions } from "../layers/dropout.ts";
import { Jumpout, type JumpoutOptions } from "../layers/jumpout.ts";
import {
  JUMPOUT_OPTION_KEYS,
  jumpoutOptionsOf,
} from "../layers/_jumpout_options.ts";
import type { Layer } from "../layers/layer.ts";
import { BatchNorm, type BatchNormOptions } from "../layers/batch_norm.ts";
import { Conv2d, type Conv2dOptions } from "../layers/conv2d.ts";
import { Dense, type DenseOptions } from "../layers/dense.ts";
import { Flatten } from "../layers/flatten.ts";
import { GlobalAvgPool } from "../layers/global_avg_pool.ts";
import { MaxPool2d, type MaxPool2dOptions } from "../layers/max_pool2d.ts";
import { AvgPool2d, type AvgPool2dOptions } from "../layers/avg_pool2d.ts";
import { ReLU } from "../layers/relu.ts";
import { Residual } from "../layers/residual.ts";
import { Sequential } from "../layers/sequential.ts";
import { checkKnownFields, checkRecord, keysOf } from "./_spec_fields.ts";
import { showValue } from "../_checks.ts";

/**
 * One layer as plain data: its class as `type`, and the arguments of its
 * constructor as fields of the same names. Only numbers, strings, booleans
 * and plain objects, so `structuredClone` and `postMessage` keep it whole.
 *
 * @example A small network described, cloned and rebuilt
 * ```ts
 * import { type LayerSpec, modelFromSpec } from "./model_spec.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const specs: LayerSpec[] = [
 *   { type: "dense", inFeatures: 4, outFeatures: 8 },
 *   { type: "relu" },
 *   { type: "jumpout", options: { sigma: 0.2 } },
 *   { type: "dense", inFeatures: 8, outFeatures: 3, options: { bias: false } },
 * ];
 * const model = modelFromSpec(structuredClone(specs));
 * deepEqual(model.layers.map((l) => l.name), ["Dense(4 → 8)", "ReLU", "Jumpout", "Dense(8 → 3)"]);
 * ```
 */
export type LayerSpec =
  | {
    type: "dense";
    inFeatures: number;
    outFeatures: number;
    options?: DenseOptions;
  }
  | {
    type: "conv2d";
    inChannels: number;
    outChannels: number;
    kernelSize: number;
    options?: Conv2dOptions;
  }
  | { type: "batch_norm"; channels: number; options?: BatchNormOptions }
  | { type: "relu" }
  | { type: "max_pool2d"; kernelSize: number; options?: MaxPool2dOptions }
  | { type: "avg_pool2d"; kernelSize: number; options?: AvgPool2dOptions }
  | { type: "global_avg_pool" }
  | { type: "flatten" }
  | { type: "jumpout"; options?: JumpoutOptions }
  | { type: "dropout"; options: DropoutOptions }
  | ResidualSpec;

/**
 * A residual block, `y = body(x) + shortcut(x)`: its layers as specs; no
 * `shortcut` for the identity.
 */
export interface ResidualSpec {
  /** The kind of layer. */
  type: "residual";
  /** The main branch's layers, in order. */
  body: LayerSpec[];
  /** The shortcut's layers, e.g. a strided 1×1 convolution; the identity when absent. */
  shortcut?: LayerSpec[];
}

/** The spec of one layer type. */
type SpecOf<T extends LayerSpec["type"]> = Extract<LayerSpec, { type: T }>;

/** What building a layer of one type needs. */
interface Kind<T extends LayerSpec["type"]> {
  /** Every field its spec may have, `type` included. */
  fields: string[];
  /** Every field its `options` may have; absent when it takes none. */
  options?: string[];
  /** Fields that hold lists of layer specs, checked with their paths. */
  lists?: string[];
  /**
   * Calls the constructor; the constructor checks the values. `layers`
   * makes the layers of each list field, `undefined` when it is absent.
   */
  make(
    spec: SpecOf<T>,
    layers: (field: string) => Layer[] | undefined,
  ): Layer;
}

/** Every layer type, in the order messages list them. */
const KINDS: { [T in LayerSpec["type"]]: Kind<T> } = {
  dense: {
    fields: keysOf<SpecOf<"dense">>({
      type: true,
      inFeatures: true,
      outFeatures: true,
      options: true,
    }),
    options: keysOf<DenseOptions>({ bias: true }),
    make: (s) => new Dense(s.inFeatures, s.outFeatures, s.options),
  },
  conv2d: {
    fields: keysOf<SpecOf<"conv2d">>({
      type: true,
      inChannels: true,
      outChannels: true,
      kernelSize: true,
      options: true,
    }),
    options: keysOf<Conv2dOptions>({ stride: true, padding: true, bias: true }),
    make: (s) =>
      new Conv2d(s.inChannels, s.outChannels, s.kernelSize, s.options),
  },
  batch_norm: {
    fields: keysOf<SpecOf<"batch_norm">>({
      type: true,
      channels: true,
      options: true,
    }),
    options: keysOf<BatchNormOptions>({ momentum: true, epsilon: true }),
    make: (s) => new BatchNorm(s.channels, s.options),
  },
  relu: {
    fields: keysOf<SpecOf<"relu">>({ type: true }),
    make: () => new ReLU(),
  },
  max_pool2d: {
    fields: keysOf<SpecOf<"max_pool2d">>({
      type: true,
      kernelSize: true,
      options: true,
    }),
    options: keysOf<MaxPool2dOptions>({ stride: true, padding: true }),
    make: (s) => new MaxPool2d(s.kernelSize, s.options),
  },
  avg_pool2d: {
    fields: keysOf<SpecOf<"avg_pool2d">>({
      type: true,
      kernelSize: true,
      options: true,
    }),
    options: keysOf<AvgPool2dOptions>({ stride: true, padding: true }),
    make: (s) => new AvgPool2d(s.kernelSize, s.options),
  },
  global_avg_pool: {
    fields: keysOf<SpecOf<"global_avg_pool">>({ type: true }),
    make: () => new GlobalAvgPool(),
  },
  flatten: {
    fields: keysOf<SpecOf<"flatten">>({ type: true }),
    make: () => new Flatten(),
  },
  jumpout: {
    fields: keysOf<SpecOf<"jumpout">>({ type: true, options: true }),
    options: [...JUMPOUT_OPTION_KEYS],
    make: (s) => new Jumpout(s.options),
  },
  dropout: {
    fields: keysOf<SpecOf<"dropout">>({ type: true, options: true }),
    options: keysOf<DropoutOptions>({ rate: true, seed: true, scope: true }),
    make: (s) => new Dropout(s.options),
  },
  residual: {
    fields: keysOf<SpecOf<"residual">>({
      type: true,
      body: true,
      shortcut: true,
    }),
    lists: ["body", "shortcut"],
    make: (_, layers) => new Residual(layers("body") ?? [], layers("shortcut")),
  },
};

const TYPES = Object.keys(KINDS);

/**
 * Builds one layer from its spec. Every field is checked to be known, so a
 * misspelt one fails rather than leaving an option at its default; the
 * values are checked by the layer's constructor, whose errors pass through
 * unchanged.
 *
 * @param spec The layer's description.
 * @returns A new, unbuilt layer.
 * @throws {TypeError} When `spec` is not an object, its `type` is not a
 *   layer type, or it (or its `options`) has a field the type does not
 *   take; the message names the field.
 * @throws {RangeError | TypeError} The constructor's error for a bad value.
 *
 * @example A convolution from its spec
 * ```ts
 * import { layerFromSpec } from "./model_spec.ts";
 * import { equal, throws } from "node:assert/strict";
 *
 * const conv = layerFromSpec({ type: "conv2d", inChannels: 3, outChannels: 8, kernelSize: 3, options: { padding: 1 } });
 * equal(conv.name, "Conv2d(3 → 8, 3×3, padding 1)");
 * throws(
 *   () => layerFromSpec({ type: "conv2d", inChannels: 3, outChannels: 8, kernelSize: 3, options: { padd: 1 } } as never),
 *   /spec\.options has an unknown field "padd"/,
 * );
 * ```
 */
export function layerFromSpec(spec: LayerSpec): Layer {
  return checkSpec(spec, "build a layer from a spec", "spec")();
}

/**
 * Builds an unbuilt {@linkcode Sequential} from layer specs: the same model
 * as one made from the same constructor calls, so both built with one seed
 * hold the same parameters and draw the same masks.
 *
 * Errors name the spec's index: the checks of {@linkcode layerFromSpec} say
 * `specs[i]…`, and a constructor's error is restated as `specs[i]: <its
 * message>`, of the same class, with the original as its `cause`.
 *
 * @param specs The layers, in order.
 * @returns The model, not yet built.
 * @throws {TypeError} When `specs` is not an array, or a spec is not an
 *   object, has an unknown `type` or an unknown field.
 * @throws {RangeError | TypeError} When a layer's constructor rejects a value.
 *
 * @example A misspelt type names its index
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { modelFromSpec } from "./model_spec.ts";
 * import { deepEqual, throws } from "node:assert/strict";
 *
 * const model = modelFromSpec([{ type: "flatten" }, { type: "dense", inFeatures: 12, outFeatures: 2 }]);
 * deepEqual(model.build(await createBackend("reference"), [3, 2, 2], { seed: 1 }), [2]);
 * throws(
 *   () => modelFromSpec([{ type: "flatten" }, { type: "dens" } as never]),
 *   /specs\[1\]\.type must be one of "dense", .*, got "dens"/,
 * );
 * ```
 */
export function modelFromSpec(specs: readonly LayerSpec[]): Sequential {
  const what = "build a model from specs";
  if (!Array.isArray(specs)) {
    throw new TypeError(
      `Cannot ${what}: specs must be an array of layer specs, got ${
        showValue(specs)
      }`,
    );
  }
  // Every spec's fields are checked before any layer is made.
  const makers = Array.from(specs, (s, i) => checkSpec(s, what, `specs[${i}]`));
  const layers = makers.map((make, i) => {
    try {
      return make();
    } catch (error) {
      throw atIndex(error, i);
    }
  });
  return new Sequential(layers);
}

/**
 * Describes one of the library's own layers as a spec that
 * {@linkcode layerFromSpec} turns back into the same layer.
 *
 * The spec is complete: every constructor argument, and under `options`
 * every option with its value in effect (defaults filled in; `options` is
 * there for every type that takes options). Fields whose value is undefined
 * are left out. Jumpout's and Dropout's `seed` is there only when the layer
 * was made with one; otherwise the rebuilt layer, like the original, takes
 * its seed from the model's build.
 *
 * @param layer A layer made by one of the library's layer classes (not a
 *   subclass: the spec could not carry what a subclass changes).
 * @returns Its spec.
 * @throws {TypeError} For any other layer; the message names it.
 *
 * @example A hand-built model handed on as specs
 * ```ts
 * import { Dense, ReLU, Sequential } from "../../mod.ts";
 * import { specOfLayer } from "./model_spec.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const model = new Sequential([new Dense(4, 8), new ReLU()]);
 * deepEqual(model.layers.map(specOfLayer), [
 *   { type: "dense", inFeatures: 4, outFeatures: 8, options: { bias: true } },
 *   { type: "relu" },
 * ]);
 * ```
 */
export function specOfLayer(layer: Layer): LayerSpec {
  if (isExactly(layer, Dense)) {
    return {
      type: "dense",
      inFeatures: layer.inFeatures,
      outFeatures: layer.outFeatures,
      options: { bias: layer.hasBias },
    };
  }
  if (isExactly(layer, Conv2d)) {
    return {
      type: "conv2d",
      inChannels: layer.inChannels,
      outChannels: layer.outChannels,
      kernelSize: layer.kernelSize,
      options: {
        stride: layer.stride,
        padding: layer.padding,
        bias: layer.hasBias,
      },
    };
  }
  if (isExactly(layer, BatchNorm)) {
    return {
      type: "batch_norm",
      channels: layer.channels,
      options: { momentum: layer.momentum, epsilon: layer.epsilon },
    };
  }
  if (isExactly(layer, ReLU)) return { type: "relu" };
  if (isExactly(layer, MaxPool2d)) {
    return {
      type: "max_pool2d",
      kernelSize: layer.kernelSize,
      options: { stride: layer.stride, padding: layer.padding },
    };
  }
  if (isExactly(layer, AvgPool2d)) {
    return {
      type: "avg_pool2d",
      kernelSize: layer.kernelSize,
      options: { stride: layer.stride, padding: layer.padding },
    };
  }
  if (isExactly(layer, GlobalAvgPool)) return { type: "global_avg_pool" };
  if (isExactly(layer, Flatten)) return { type: "flatten" };
  if (isExactly(layer, Jumpout)) {
    return {
      type: "jumpout",
      options: jumpoutOptionsOf(layer.options, layer.givenSeed),
    };
  }
  if (isExactly(layer, Residual)) {
    const spec: LayerSpec = {
      type: "residual",
      body: layer.body.layers.map(specOfLayer),
    };
    if (layer.shortcut !== undefined) {
      spec.shortcut = layer.shortcut.layers.map(specOfLayer);
    }
    return spec;
  }
  if (isExactly(layer, Dropout)) {
    const { rate, scope } = layer.options;
    const options: DropoutOptions = { rate: rate!, scope };
    if (layer.givenSeed !== undefined) options.seed = layer.givenSeed;
    return { type: "dropout", options };
  }
  throw new TypeError(describeFailure(layer));
}

/**
 * Checks `spec`'s type and fields, naming it `path`; returns what makes the
 * layer, so a list can be checked whole before any layer is made.
 */
function checkSpec(spec: unknown, what: string, path: string): () => Layer {
  const record = checkRecord(spec, what, path);
  const type = record.type;
  if (typeof type !== "string" || !Object.hasOwn(KINDS, type)) {
    throw new TypeError(
      `Cannot ${what}: ${path}.type must be one of ${
        TYPES.map((t) => JSON.stringify(t)).join(", ")
      }, got ${showValue(type)}`,
    );
  }
  const kind = KINDS[type as LayerSpec["type"]] as Kind<LayerSpec["type"]>;
  const name = JSON.stringify(type);
  checkKnownFields(record, kind.fields, what, path, `${name} specs`);
  if (kind.options !== undefined && record.options !== undefined) {
    const options = checkRecord(record.options, what, `${path}.options`);
    checkKnownFields(
      options,
      kind.options,
      what,
      `${path}.options`,
      `${name} options`,
    );
  }
  const lists = new Map<string, (() => Layer)[]>();
  for (const field of kind.lists ?? []) {
    const list = record[field];
    if (list === undefined && field !== "body") continue;
    if (!Array.isArray(list)) {
      throw new TypeError(
        `Cannot ${what}: ${path}.${field} must be an array of layer specs, got ${
          showValue(list)
        }`,
      );
    }
    lists.set(
      field,
      list.map((item, i) => checkSpec(item, what, `${path}.${field}[${i}]`)),
    );
  }
  return () =>
    kind.make(
      record as SpecOf<LayerSpec["type"]>,
      (field) => lists.get(field)?.map((make) => make()),
    );
}

/** A constructor's error restated to name the spec's index. */
function atIndex(error: unknown, index: number): unknown {
  if (!(error instanceof Error)) return error;
  const Class = error instanceof RangeError
    ? RangeError
    : error instanceof TypeError
    ? TypeError
    : Error;
  const detail = error.message.replace(/^Cannot create [^:]*: /, "");
  return new Class(
    `Cannot build a model from specs: specs[${index}] does not make a layer: ${detail}`,
    { cause: error },
  );
}

/** Whether `layer` was made by `cls` itself, not by a subclass. */
function isExactly<T>(layer: unknown, cls: { prototype: T }): layer is T {
  return layer !== null && typeof layer === "object" &&
    Object.getPrototypeOf(layer) === cls.prototype;
}

/** The message for a layer no spec can describe. */
function describeFailure(layer: unknown): string {
  const what = "describe";
  if (layer === null || typeof layer !== "object") {
    return `Cannot ${what} a layer as a spec: layer must be a layer, got ${
      showValue(layer)
    }`;
  }
  const name = (layer as { name?: unknown }).name;
  const cls = (layer as { constructor?: { name?: unknown } }).constructor?.name;
  return `Cannot ${what} ${
    typeof name === "string" ? name : "a layer"
  } as a spec: layer must be made by one of the library's own layer classes, the only ones that can run in workers, got ${
    typeof cls === "string" && cls !== ""
      ? `an instance of ${cls}`
      : "another object"
  }`;
}
