/**
 * ONNX ModelProto bytes written field by field (onnx.proto numbers), for
 * malformed and hostile models the onnx library would refuse to write.
 */
import { concat, lField, mField, vField } from './protobuf.ts';

const none = new Uint8Array(0);

export interface TensorSpec {
  name: string;
  dims?: (number | bigint)[];
  /** TensorProto.DataType; FLOAT (1) by default. */
  dataType?: number;
  raw?: Uint8Array;
  /** external_data entries, in order. */
  external?: [string, string][];
  /** data_location; set to 1 (EXTERNAL) when `external` is given, unless stated. */
  dataLocation?: number;
}

export function tensor(spec: TensorSpec): Uint8Array {
  const location = spec.dataLocation ?? (spec.external ? 1 : undefined);
  return concat(
    ...(spec.dims ?? []).map((dim) => vField(1, dim)),
    vField(2, spec.dataType ?? 1),
    lField(8, spec.name),
    spec.raw ? lField(9, spec.raw) : none,
    ...(spec.external ?? []).map(([key, value]) => mField(13, lField(1, key), lField(2, value))),
    location === undefined ? none : vField(14, location),
  );
}

export interface AttributeSpec {
  name: string;
  s?: string;
  /** An encoded TensorProto. */
  t?: Uint8Array;
  /** An encoded GraphProto. */
  g?: Uint8Array;
}

export function attribute(spec: AttributeSpec): Uint8Array {
  return concat(
    lField(1, spec.name),
    spec.s === undefined ? none : lField(4, spec.s),
    spec.t ? lField(5, spec.t) : none,
    spec.g ? lField(6, spec.g) : none,
  );
}

export interface NodeSpec {
  op: string;
  name?: string;
  domain?: string;
  inputs?: string[];
  outputs?: string[];
  attributes?: AttributeSpec[];
}

export function node(spec: NodeSpec): Uint8Array {
  return concat(
    ...(spec.inputs ?? []).map((input) => lField(1, input)),
    ...(spec.outputs ?? []).map((output) => lField(2, output)),
    spec.name === undefined ? none : lField(3, spec.name),
    lField(4, spec.op),
    ...(spec.attributes ?? []).map((entry) => lField(5, attribute(entry))),
    spec.domain === undefined ? none : lField(7, spec.domain),
  );
}

/** A float tensor value info with a shape of numbers (dim_value) and strings (dim_param). */
export function valueInfo(name: string, shape: (number | string)[], elemType = 1): Uint8Array {
  const dims = shape.map((dim) => mField(1, typeof dim === 'number' ? vField(1, dim) : lField(2, dim)));
  return concat(lField(1, name), mField(2, mField(1, vField(1, elemType), mField(2, ...dims))));
}

export interface GraphSpec {
  name?: string;
  nodes?: Uint8Array[];
  initializers?: Uint8Array[];
  inputs?: Uint8Array[];
  outputs?: Uint8Array[];
}

export function graph(spec: GraphSpec): Uint8Array {
  return concat(
    ...(spec.nodes ?? []).map((entry) => lField(1, entry)),
    lField(2, spec.name ?? 'g'),
    ...(spec.initializers ?? []).map((entry) => lField(5, entry)),
    ...(spec.inputs ?? []).map((entry) => lField(11, entry)),
    ...(spec.outputs ?? []).map((entry) => lField(12, entry)),
  );
}

export interface ModelSpec {
  irVersion?: number;
  producer?: string;
  graph?: Uint8Array;
  opsets?: [string, number][];
  /** Encoded FunctionProtos. */
  functions?: Uint8Array[];
  metadata?: [string, string][];
}

export function model(spec: ModelSpec): Uint8Array {
  return concat(
    spec.irVersion === 0 ? none : vField(1, spec.irVersion ?? 8),
    lField(2, spec.producer ?? 'preflight-test'),
    spec.graph ? lField(7, spec.graph) : none,
    ...(spec.opsets ?? [['', 17]]).map(([domain, version]) => mField(8, lField(1, domain), vField(2, version))),
    ...(spec.metadata ?? []).map(([key, value]) => mField(14, lField(1, key), lField(2, value))),
    ...(spec.functions ?? []).map((entry) => lField(25, entry)),
  );
}

/** A FunctionProto: a model-local operator `domain:name` made of `nodes`. */
export function functionProto(domain: string, name: string, nodes: Uint8Array[]): Uint8Array {
  return concat(lField(1, name), ...nodes.map((entry) => lField(7, entry)), lField(10, domain));
}

/** The smallest sensible model: one Relu node on one float input. */
export function minimalModel(extra: Partial<ModelSpec> = {}): Uint8Array {
  return model({
    graph: graph({ name: 'minimal', nodes: [node({ op: 'Relu', name: 'relu', inputs: ['x'], outputs: ['y'] })], inputs: [valueInfo('x', [1])], outputs: [valueInfo('y', [1])] }),
    ...extra,
  });
}
