/**
 * The parts of the ONNX protobuf schema that Preflight reads, as descriptors
 * for the shared decoder (src/formats/protobuf.ts), with their decoded types.
 * Spec: https://github.com/onnx/onnx/blob/main/onnx/onnx.proto (field numbers
 * checked against onnx 1.12's descriptors, newer fields from the current file).
 *
 * Only fields that say what the model is, what it runs and where its data
 * comes from are listed; everything else (doc strings of nodes, quantization
 * annotations, attribute number lists) is skipped by the decoder. Tensor
 * contents are never decoded: `raw_data` is a reference and the typed data
 * lists are measured.
 */
import { type ProtoBytes, type ProtoData, type ProtoMessage, type ProtoMessageSpec, defineMessage } from './protobuf.ts';

/** Bytes kept of an external-data value: a location longer than PATH_MAX is reported as unusual anyway. */
const MAX_EXTERNAL_VALUE_BYTES = 64 * 1024;
/** Bytes of a string attribute kept as evidence (PyOp module and class names, custom op settings). */
const ATTRIBUTE_STRING_HEAD_BYTES = 256;

export interface OnnxStringEntry extends ProtoMessage {
  key?: string;
  value?: string;
}

export interface OnnxOperatorSetId extends ProtoMessage {
  domain?: string;
  version?: bigint;
}

export interface OnnxDimension extends ProtoMessage {
  dimValue?: bigint;
  dimParam?: string;
}

export interface OnnxTensorShape extends ProtoMessage {
  dim: OnnxDimension[];
}

export interface OnnxTensorType extends ProtoMessage {
  elemType?: number;
  shape?: OnnxTensorShape;
}

export interface OnnxSequenceType extends ProtoMessage {
  elemType?: OnnxType;
}

export interface OnnxMapType extends ProtoMessage {
  keyType?: number;
  valueType?: OnnxType;
}

export interface OnnxType extends ProtoMessage {
  tensorType?: OnnxTensorType;
  sequenceType?: OnnxSequenceType;
  mapType?: OnnxMapType;
  optionalType?: OnnxSequenceType;
  sparseTensorType?: OnnxTensorType;
}

export interface OnnxValueInfo extends ProtoMessage {
  name?: string;
  type?: OnnxType;
}

export interface OnnxSegment extends ProtoMessage {
  begin?: bigint;
  end?: bigint;
}

export interface OnnxTensor extends ProtoMessage {
  dims: bigint[];
  dataType?: number;
  segment?: OnnxSegment;
  floatData?: ProtoData;
  int32Data?: ProtoData;
  stringData?: ProtoData;
  int64Data?: ProtoData;
  name?: string;
  rawData?: ProtoBytes;
  externalData: OnnxStringEntry[];
  dataLocation?: number;
  doubleData?: ProtoData;
  uint64Data?: ProtoData;
}

export interface OnnxSparseTensor extends ProtoMessage {
  values?: OnnxTensor;
  indices?: OnnxTensor;
  dims: bigint[];
}

export interface OnnxAttribute extends ProtoMessage {
  name?: string;
  s?: ProtoBytes;
  t?: OnnxTensor;
  g?: OnnxGraph;
  strings: ProtoBytes[];
  tensors: OnnxTensor[];
  graphs: OnnxGraph[];
  sparseTensor?: OnnxSparseTensor;
  sparseTensors: OnnxSparseTensor[];
}

export interface OnnxNode extends ProtoMessage {
  input: string[];
  output: string[];
  name?: string;
  opType?: string;
  attribute: OnnxAttribute[];
  domain?: string;
}

export interface OnnxGraph extends ProtoMessage {
  node: OnnxNode[];
  name?: string;
  initializer: OnnxTensor[];
  sparseInitializer: OnnxSparseTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
}

export interface OnnxTrainingInfo extends ProtoMessage {
  initialization?: OnnxGraph;
  algorithm?: OnnxGraph;
}

export interface OnnxFunction extends ProtoMessage {
  name?: string;
  node: OnnxNode[];
  opsetImport: OnnxOperatorSetId[];
  domain?: string;
}

export interface OnnxModel extends ProtoMessage {
  irVersion?: bigint;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: bigint;
  docString?: string;
  graph?: OnnxGraph;
  opsetImport: OnnxOperatorSetId[];
  metadataProps: OnnxStringEntry[];
  trainingInfo: OnnxTrainingInfo[];
  functions: OnnxFunction[];
}

export const STRING_ENTRY_SPEC: ProtoMessageSpec<OnnxStringEntry> = defineMessage<OnnxStringEntry>('StringStringEntryProto', {
  1: { name: 'key', kind: 'string' },
  2: { name: 'value', kind: 'string', maxStringBytes: MAX_EXTERNAL_VALUE_BYTES },
});

export const OPERATOR_SET_ID_SPEC: ProtoMessageSpec<OnnxOperatorSetId> = defineMessage<OnnxOperatorSetId>('OperatorSetIdProto', {
  1: { name: 'domain', kind: 'string' },
  2: { name: 'version', kind: 'int64' },
});

const DIMENSION_SPEC: ProtoMessageSpec<OnnxDimension> = defineMessage<OnnxDimension>('TensorShapeProto.Dimension', {
  1: { name: 'dimValue', kind: 'int64' },
  2: { name: 'dimParam', kind: 'string' },
});

const TENSOR_SHAPE_SPEC: ProtoMessageSpec<OnnxTensorShape> = defineMessage<OnnxTensorShape>('TensorShapeProto', {
  1: { name: 'dim', kind: 'message', repeated: true, message: () => DIMENSION_SPEC },
});

const TENSOR_TYPE_SPEC: ProtoMessageSpec<OnnxTensorType> = defineMessage<OnnxTensorType>('TypeProto.Tensor', {
  1: { name: 'elemType', kind: 'int32' },
  2: { name: 'shape', kind: 'message', message: () => TENSOR_SHAPE_SPEC },
});

const SEQUENCE_TYPE_SPEC: ProtoMessageSpec<OnnxSequenceType> = defineMessage<OnnxSequenceType>('TypeProto.Sequence', {
  1: { name: 'elemType', kind: 'message', message: () => TYPE_SPEC },
});

const MAP_TYPE_SPEC: ProtoMessageSpec<OnnxMapType> = defineMessage<OnnxMapType>('TypeProto.Map', {
  1: { name: 'keyType', kind: 'int32' },
  2: { name: 'valueType', kind: 'message', message: () => TYPE_SPEC },
});

const TYPE_SPEC: ProtoMessageSpec<OnnxType> = defineMessage<OnnxType>('TypeProto', {
  1: { name: 'tensorType', kind: 'message', message: () => TENSOR_TYPE_SPEC },
  4: { name: 'sequenceType', kind: 'message', message: () => SEQUENCE_TYPE_SPEC },
  5: { name: 'mapType', kind: 'message', message: () => MAP_TYPE_SPEC },
  8: { name: 'sparseTensorType', kind: 'message', message: () => TENSOR_TYPE_SPEC },
  9: { name: 'optionalType', kind: 'message', message: () => SEQUENCE_TYPE_SPEC },
});

const VALUE_INFO_SPEC: ProtoMessageSpec<OnnxValueInfo> = defineMessage<OnnxValueInfo>('ValueInfoProto', {
  1: { name: 'name', kind: 'string' },
  2: { name: 'type', kind: 'message', message: () => TYPE_SPEC },
});

const SEGMENT_SPEC: ProtoMessageSpec<OnnxSegment> = defineMessage<OnnxSegment>('TensorProto.Segment', {
  1: { name: 'begin', kind: 'int64' },
  2: { name: 'end', kind: 'int64' },
});

export const TENSOR_SPEC: ProtoMessageSpec<OnnxTensor> = defineMessage<OnnxTensor>('TensorProto', {
  1: { name: 'dims', kind: 'int64', repeated: true },
  2: { name: 'dataType', kind: 'int32' },
  3: { name: 'segment', kind: 'message', message: () => SEGMENT_SPEC },
  4: { name: 'floatData', kind: 'data', element: 'fixed32' },
  5: { name: 'int32Data', kind: 'data', element: 'varint' },
  6: { name: 'stringData', kind: 'data', element: 'bytes' },
  7: { name: 'int64Data', kind: 'data', element: 'varint' },
  8: { name: 'name', kind: 'string' },
  9: { name: 'rawData', kind: 'bytes' },
  10: { name: 'doubleData', kind: 'data', element: 'fixed64' },
  11: { name: 'uint64Data', kind: 'data', element: 'varint' },
  13: { name: 'externalData', kind: 'message', repeated: true, message: () => STRING_ENTRY_SPEC },
  14: { name: 'dataLocation', kind: 'enum' },
});

const SPARSE_TENSOR_SPEC: ProtoMessageSpec<OnnxSparseTensor> = defineMessage<OnnxSparseTensor>('SparseTensorProto', {
  1: { name: 'values', kind: 'message', message: () => TENSOR_SPEC },
  2: { name: 'indices', kind: 'message', message: () => TENSOR_SPEC },
  3: { name: 'dims', kind: 'int64', repeated: true },
});

const ATTRIBUTE_SPEC: ProtoMessageSpec<OnnxAttribute> = defineMessage<OnnxAttribute>('AttributeProto', {
  1: { name: 'name', kind: 'string' },
  4: { name: 's', kind: 'bytes', headBytes: ATTRIBUTE_STRING_HEAD_BYTES },
  5: { name: 't', kind: 'message', message: () => TENSOR_SPEC },
  6: { name: 'g', kind: 'message', message: () => GRAPH_SPEC },
  9: { name: 'strings', kind: 'bytes', repeated: true, headBytes: ATTRIBUTE_STRING_HEAD_BYTES },
  10: { name: 'tensors', kind: 'message', repeated: true, message: () => TENSOR_SPEC },
  11: { name: 'graphs', kind: 'message', repeated: true, message: () => GRAPH_SPEC },
  22: { name: 'sparseTensor', kind: 'message', message: () => SPARSE_TENSOR_SPEC },
  23: { name: 'sparseTensors', kind: 'message', repeated: true, message: () => SPARSE_TENSOR_SPEC },
});

const NODE_SPEC: ProtoMessageSpec<OnnxNode> = defineMessage<OnnxNode>('NodeProto', {
  1: { name: 'input', kind: 'string', repeated: true },
  2: { name: 'output', kind: 'string', repeated: true },
  3: { name: 'name', kind: 'string' },
  4: { name: 'opType', kind: 'string' },
  5: { name: 'attribute', kind: 'message', repeated: true, message: () => ATTRIBUTE_SPEC },
  7: { name: 'domain', kind: 'string' },
});

export const GRAPH_SPEC: ProtoMessageSpec<OnnxGraph> = defineMessage<OnnxGraph>('GraphProto', {
  1: { name: 'node', kind: 'message', repeated: true, message: () => NODE_SPEC },
  2: { name: 'name', kind: 'string' },
  5: { name: 'initializer', kind: 'message', repeated: true, message: () => TENSOR_SPEC },
  11: { name: 'input', kind: 'message', repeated: true, message: () => VALUE_INFO_SPEC },
  12: { name: 'output', kind: 'message', repeated: true, message: () => VALUE_INFO_SPEC },
  15: { name: 'sparseInitializer', kind: 'message', repeated: true, message: () => SPARSE_TENSOR_SPEC },
});

const TRAINING_INFO_SPEC: ProtoMessageSpec<OnnxTrainingInfo> = defineMessage<OnnxTrainingInfo>('TrainingInfoProto', {
  1: { name: 'initialization', kind: 'message', message: () => GRAPH_SPEC },
  2: { name: 'algorithm', kind: 'message', message: () => GRAPH_SPEC },
});

const FUNCTION_SPEC: ProtoMessageSpec<OnnxFunction> = defineMessage<OnnxFunction>('FunctionProto', {
  1: { name: 'name', kind: 'string' },
  7: { name: 'node', kind: 'message', repeated: true, message: () => NODE_SPEC },
  9: { name: 'opsetImport', kind: 'message', repeated: true, message: () => OPERATOR_SET_ID_SPEC },
  10: { name: 'domain', kind: 'string' },
});

export const MODEL_SPEC: ProtoMessageSpec<OnnxModel> = defineMessage<OnnxModel>('ModelProto', {
  1: { name: 'irVersion', kind: 'int64' },
  2: { name: 'producerName', kind: 'string' },
  3: { name: 'producerVersion', kind: 'string' },
  4: { name: 'domain', kind: 'string' },
  5: { name: 'modelVersion', kind: 'int64' },
  6: { name: 'docString', kind: 'string' },
  7: { name: 'graph', kind: 'message', message: () => GRAPH_SPEC },
  8: { name: 'opsetImport', kind: 'message', repeated: true, message: () => OPERATOR_SET_ID_SPEC },
  14: { name: 'metadataProps', kind: 'message', repeated: true, message: () => STRING_ENTRY_SPEC },
  20: { name: 'trainingInfo', kind: 'message', repeated: true, message: () => TRAINING_INFO_SPEC },
  25: { name: 'functions', kind: 'message', repeated: true, message: () => FUNCTION_SPEC },
});

/**
 * Wire type of each ModelProto field, for detection by content: a head whose
 * fields are all in this table with these wire types is shaped like a model.
 * 26 is `configuration` (IR 11); 0 = varint, 2 = length-delimited.
 */
export const MODEL_FIELD_WIRE_TYPES: ReadonlyMap<number, number> = new Map([
  [1, 0],
  [2, 2],
  [3, 2],
  [4, 2],
  [5, 0],
  [6, 2],
  [7, 2],
  [8, 2],
  [14, 2],
  [20, 2],
  [25, 2],
  [26, 2],
]);

/** GraphProto field numbers and wire types (for a look inside the `graph` field when detecting). */
export const GRAPH_FIELD_WIRE_TYPES: ReadonlyMap<number, number> = new Map([
  [1, 2],
  [2, 2],
  [5, 2],
  [10, 2],
  [11, 2],
  [12, 2],
  [13, 2],
  [14, 2],
  [15, 2],
  [16, 2],
]);

/** TensorProto.DataLocation.EXTERNAL: the data is in another file named by `external_data`. */
export const DATA_LOCATION_EXTERNAL = 1;

/** An element type: its ONNX name and its size in bits (0 for strings, whose size is not fixed). */
export interface OnnxDataType {
  name: string;
  bits: number;
}

/** TensorProto.DataType, by id (onnx.proto, IR 11 with UINT2/INT2 from IR 12). */
export const ONNX_DATA_TYPES: ReadonlyMap<number, OnnxDataType> = new Map([
  [1, { name: 'FLOAT', bits: 32 }],
  [2, { name: 'UINT8', bits: 8 }],
  [3, { name: 'INT8', bits: 8 }],
  [4, { name: 'UINT16', bits: 16 }],
  [5, { name: 'INT16', bits: 16 }],
  [6, { name: 'INT32', bits: 32 }],
  [7, { name: 'INT64', bits: 64 }],
  [8, { name: 'STRING', bits: 0 }],
  [9, { name: 'BOOL', bits: 8 }],
  [10, { name: 'FLOAT16', bits: 16 }],
  [11, { name: 'DOUBLE', bits: 64 }],
  [12, { name: 'UINT32', bits: 32 }],
  [13, { name: 'UINT64', bits: 64 }],
  [14, { name: 'COMPLEX64', bits: 64 }],
  [15, { name: 'COMPLEX128', bits: 128 }],
  [16, { name: 'BFLOAT16', bits: 16 }],
  [17, { name: 'FLOAT8E4M3FN', bits: 8 }],
  [18, { name: 'FLOAT8E4M3FNUZ', bits: 8 }],
  [19, { name: 'FLOAT8E5M2', bits: 8 }],
  [20, { name: 'FLOAT8E5M2FNUZ', bits: 8 }],
  [21, { name: 'UINT4', bits: 4 }],
  [22, { name: 'INT4', bits: 4 }],
  [23, { name: 'FLOAT4E2M1', bits: 4 }],
  [24, { name: 'FLOAT8E8M0', bits: 8 }],
  [25, { name: 'UINT2', bits: 2 }],
  [26, { name: 'INT2', bits: 2 }],
]);

/** The ONNX name of an element type, `unknown(<id>)` when it is not one. */
export function onnxDataTypeName(id: number | undefined): string {
  if (id === undefined || id === 0) return 'UNDEFINED';
  return ONNX_DATA_TYPES.get(id)?.name ?? `unknown(${id})`;
}
