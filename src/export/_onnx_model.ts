/**
 * An ONNX model as plain data, and its encoding as an ONNX `ModelProto`
 * with the field numbers of `onnx.proto`.
 *
 * @module
 */

import { ProtoWriter } from "./_protobuf.ts";

/** The operator set the graphs use: ONNX 1.12's, which IR version 8 goes with. */
export const OPSET = 17;
const IR_VERSION = 8;

/** `TensorProto.DataType.FLOAT`. */
const FLOAT = 1;

/** `AttributeProto.AttributeType`: FLOAT, INT and INTS. */
const ATTRIBUTE_TYPES = { float: 1, int: 2, ints: 7 } as const;

/** A node attribute: one float, one integer, or a list of integers. */
export type OnnxAttribute =
  | { float: number }
  | { int: number }
  | { ints: readonly number[] };

/** One operator call of the graph. */
export interface OnnxNode {
  /** The operator, e.g. `"Conv"`. */
  opType: string;
  /** The node's name, unique in the graph. */
  name: string;
  /** Names of the values it reads; `""` for an omitted optional input. */
  inputs: string[];
  /** Names of the values it writes. */
  outputs: string[];
  /** Its attributes by name. */
  attributes?: Record<string, OnnxAttribute>;
  /** What it stands for, e.g. the layer's name. */
  docString?: string;
}

/** A constant tensor of the graph: a weight or a statistic. */
export interface OnnxInitializer {
  /** Its value name. */
  name: string;
  /** Its dimensions, outermost first. */
  dims: readonly number[];
  /** Its values, row-major. */
  data: Float32Array;
}

/** A float tensor the graph takes or gives: a name and a shape. */
export interface OnnxValue {
  /** Its value name. */
  name: string;
  /** Its dimensions; a string is a symbolic one (`dim_param`). */
  shape: readonly (number | string)[];
}

/** Everything an ONNX model file holds here. */
export interface OnnxGraph {
  /** The graph's name. */
  name: string;
  /** The nodes, in an order where each reads only values written before it. */
  nodes: OnnxNode[];
  /** The constants. */
  initializers: OnnxInitializer[];
  /** The inputs the caller feeds. */
  inputs: OnnxValue[];
  /** The outputs the caller fetches. */
  outputs: OnnxValue[];
}

/**
 * The model's file: `graph` in a `ModelProto` of IR version 8 importing
 * the default operator set at {@linkcode OPSET}.
 *
 * @param graph The graph.
 * @param producer The producer's name.
 * @returns The bytes of the `.onnx` file.
 */
export function encodeOnnxModel(
  graph: OnnxGraph,
  producer: string,
): Uint8Array {
  const opset = new ProtoWriter().string(1, "").varint(2, OPSET);
  return new ProtoWriter()
    .varint(1, IR_VERSION)
    .string(2, producer)
    .message(7, encodeGraph(graph))
    .message(8, opset)
    .finish();
}

/** `GraphProto`. */
function encodeGraph(graph: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const node of graph.nodes) w.message(1, encodeNode(node));
  w.string(2, graph.name);
  for (const init of graph.initializers) w.message(5, encodeTensor(init));
  for (const value of graph.inputs) w.message(11, encodeValueInfo(value));
  for (const value of graph.outputs) w.message(12, encodeValueInfo(value));
  return w;
}

/** `NodeProto`. */
function encodeNode(node: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    w.message(5, encodeAttribute(name, value));
  }
  if (node.docString !== undefined) w.string(6, node.docString);
  return w;
}

/** `AttributeProto`. */
function encodeAttribute(name: string, value: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if ("float" in value) {
    w.float(2, value.float).varint(20, ATTRIBUTE_TYPES.float);
  } else if ("int" in value) {
    w.varint(3, value.int).varint(20, ATTRIBUTE_TYPES.int);
  } else {
    // `repeated int64 ints` is not declared packed: one field per value.
    for (const v of value.ints) w.varint(8, v);
    w.varint(20, ATTRIBUTE_TYPES.ints);
  }
  return w;
}

/** `TensorProto` of floats, the values in the packed `float_data`. */
function encodeTensor(init: OnnxInitializer): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of init.dims) w.varint(1, d);
  return w.varint(2, FLOAT).packedFloats(4, init.data).string(8, init.name);
}

/** `ValueInfoProto` of a float tensor. */
function encodeValueInfo(value: OnnxValue): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of value.shape) {
    const dim = typeof d === "string"
      ? new ProtoWriter().string(2, d)
      : new ProtoWriter().varint(1, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().varint(1, FLOAT).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, value.name).message(2, type);
}
