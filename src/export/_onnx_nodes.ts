/**
 * The ONNX nodes each of the library's layers becomes at inference.
 *
 * @module
 */

import type { Tensor } from "../backend.ts";
import { describe } from "../_checks.ts";
import type { Layer } from "../layers/layer.ts";
import { Residual } from "../layers/residual.ts";
import { type LayerSpec, specOfLayer } from "../io/model_spec.ts";
import type { OnnxNode } from "./_onnx_model.ts";

/** What a model's layers become: nodes, and the tensors they read. */
export interface GraphParts {
  /** The nodes, in the order they run. */
  nodes: OnnxNode[];
  /** The initializers the nodes read, by name: the layers' state. */
  tensors: Map<string, Tensor<"float32">>;
}

/** Where one layer's nodes go. */
interface Site {
  /** The layer's path, `"3"` or `"3.body.1"`: its output value's name. */
  path: string;
  /** The name of the value it reads. */
  input: string;
  /** The graph being built. */
  parts: GraphParts;
}

/** The spec of one layer type. */
type SpecOf<T extends LayerSpec["type"]> = Extract<LayerSpec, { type: T }>;

/**
 * Adds one layer type's nodes and returns the name of the value they give,
 * which is the input's own name for a layer that passes it through.
 */
type Emit<T extends LayerSpec["type"]> = (
  spec: SpecOf<T>,
  layer: Layer,
  site: Site,
) => string;

/** The nodes of every layer type: a new type fails to compile until it has its own. */
const EMIT: { [T in LayerSpec["type"]]: Emit<T> } = {
  dense: (spec, layer, site) =>
    // The weight is stored [in, out]: Gemm's B, untransposed.
    node(site, layer, "Gemm", linearInputs(spec.options?.bias, layer, site)),
  conv2d: (spec, layer, site) => {
    const { stride = 1, padding = 0, bias } = spec.options ?? {};
    return node(
      site,
      layer,
      "Conv",
      linearInputs(bias, layer, site),
      windowAttributes(spec.kernelSize, stride, padding),
    );
  },
  batch_norm: (spec, layer, site) => {
    const keys = ["weight", "bias", "running_mean", "running_var"];
    const inputs = keys.map((key) => initializer(layer, key, site));
    return node(site, layer, "BatchNormalization", [site.input, ...inputs], {
      epsilon: { float: spec.options?.epsilon ?? 1e-5 },
    });
  },
  relu: (_, layer, site) => node(site, layer, "Relu", [site.input]),
  max_pool2d: (spec, layer, site) =>
    node(site, layer, "MaxPool", [site.input], poolAttributes(spec)),
  avg_pool2d: (spec, layer, site) =>
    node(site, layer, "AveragePool", [site.input], {
      ...poolAttributes(spec),
      // Padding cells count as zeros, as in PyTorch's default.
      count_include_pad: { int: 1 },
    }),
  global_avg_pool: (_, layer, site) => {
    const pooled = node(
      { ...site, path: `${site.path}.pooled` },
      layer,
      "GlobalAveragePool",
      [site.input],
    );
    // GlobalAveragePool keeps 1×1 planes: [N, C, 1, 1] → [N, C].
    return node(site, layer, "Flatten", [pooled], { axis: { int: 1 } });
  },
  flatten: (_, layer, site) =>
    node(site, layer, "Flatten", [site.input], { axis: { int: 1 } }),
  // Identity at inference: no node.
  jumpout: (_, __, site) => site.input,
  dropout: (_, __, site) => site.input,
  residual: (_, layer, site) => {
    const { body, shortcut } = layer as Residual;
    const branch = (name: string, layers: readonly Layer[]) =>
      layerNodes(layers, site.input, `${site.path}.${name}.`, site.parts);
    const y = branch("body", body.layers);
    const s = shortcut === undefined
      ? site.input
      : branch("shortcut", shortcut.layers);
    return node(site, layer, "Add", [y, s]);
  },
};

/**
 * Adds the nodes of `layers`, run in order from the value `input`, to
 * `parts`.
 *
 * @param layers The layers, e.g. a model's.
 * @param input The name of the value the first layer reads.
 * @param prefix Prefix of the layers' paths, `""` for a model's own.
 * @param parts The graph being built.
 * @returns The name of the value the last layer gives (`input` when no
 *   layer computes anything).
 * @throws {TypeError} When a layer has no ONNX form (not one of the
 *   library's own layer classes) or is not built, naming it by path.
 */
export function layerNodes(
  layers: readonly Layer[],
  input: string,
  prefix: string,
  parts: GraphParts,
): string {
  let value = input;
  layers.forEach((layer, i) => {
    const path = `${prefix}${i}`;
    const spec = specOf(layer, path);
    const emit = EMIT[spec.type] as Emit<LayerSpec["type"]>;
    value = emit(spec, layer, { path, input: value, parts });
  });
  return value;
}

/**
 * The layer's spec: what it is, with its options. A residual block's spec
 * is left without its branches, whose layers the walk reaches one by one,
 * so that one of them without an ONNX form is named itself.
 */
function specOf(layer: Layer, path: string): LayerSpec {
  if (Object.getPrototypeOf(layer) === Residual.prototype) {
    return { type: "residual", body: [] };
  }
  try {
    return specOfLayer(layer);
  } catch (error) {
    throw new TypeError(
      `${
        atLayer(path, layer)
      } has no ONNX form: only layers of the library's own classes can be exported, got an instance of ${
        describe(layer)
      }`,
      { cause: error },
    );
  }
}

/** How messages start for a layer: `Cannot export to ONNX: layer 3 (ReLU)`. */
function atLayer(path: string, layer: Layer): string {
  return `Cannot export to ONNX: layer ${path} (${layer.name})`;
}

/** Adds one node writing the value `site.path`; returns that name. */
function node(
  site: Site,
  layer: Layer,
  opType: string,
  inputs: string[],
  attributes?: OnnxNode["attributes"],
): string {
  site.parts.nodes.push({
    opType,
    name: site.path,
    inputs,
    outputs: [site.path],
    attributes,
    docString: layer.name,
  });
  return site.path;
}

/** The attributes of a pooling layer's window. */
function poolAttributes(
  spec: SpecOf<"max_pool2d" | "avg_pool2d">,
): OnnxNode["attributes"] {
  const k = spec.kernelSize;
  const { stride = k, padding = 0 } = spec.options ?? {};
  return windowAttributes(k, stride, padding);
}

/** The attributes of a square window, the same on both axes. */
function windowAttributes(
  kernelSize: number,
  stride: number,
  padding: number,
): OnnxNode["attributes"] {
  return {
    kernel_shape: { ints: [kernelSize, kernelSize] },
    pads: { ints: [padding, padding, padding, padding] },
    strides: { ints: [stride, stride] },
  };
}

/** The inputs of a Gemm or Conv node: `x`, the weight, the bias if any. */
function linearInputs(
  bias: boolean | undefined,
  layer: Layer,
  site: Site,
): string[] {
  const inputs = [site.input, initializer(layer, "weight", site)];
  if (bias ?? true) inputs.push(initializer(layer, "bias", site));
  return inputs;
}

/**
 * Registers the layer's state tensor `key` (`"weight"`, `"running_mean"`,
 * …) as an initializer named as in weights files; returns that name.
 */
function initializer(layer: Layer, key: string, site: Site): string {
  for (const [name, tensor] of layer.state()) {
    if (name === key || name.endsWith(`.${key}`)) {
      site.parts.tensors.set(name, tensor);
      return name;
    }
  }
  throw new TypeError(
    `${
      atLayer(site.path, layer)
    } must be built, got a layer without its ${key}`,
  );
}
