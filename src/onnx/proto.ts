/**
 * The one place that loads `onnx-proto` and the vocabulary mapping between Galen's datatypes and
 * ONNX's element types. Kept internal to `src/onnx/`; the rest of Galen never sees protobuf types.
 */
// onnx-proto's declarations name the global `Long` type without loading it; this project's `types`
// list leaves it out, so pull it in here or every int64 field types as an error.
/// <reference types="long" />
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';
import type { Datatype } from '../core/index.js';

// onnx-proto is a CommonJS protobufjs module: its namespace only exists on the default export under ESM.
export const proto = onnxProto.onnx;
export type { onnx };

const ELEM_TYPES: Readonly<Record<Datatype, number>> = {
  BOOL: proto.TensorProto.DataType.BOOL,
  UINT8: proto.TensorProto.DataType.UINT8,
  UINT16: proto.TensorProto.DataType.UINT16,
  UINT32: proto.TensorProto.DataType.UINT32,
  UINT64: proto.TensorProto.DataType.UINT64,
  INT8: proto.TensorProto.DataType.INT8,
  INT16: proto.TensorProto.DataType.INT16,
  INT32: proto.TensorProto.DataType.INT32,
  INT64: proto.TensorProto.DataType.INT64,
  FP16: proto.TensorProto.DataType.FLOAT16,
  FP32: proto.TensorProto.DataType.FLOAT,
  FP64: proto.TensorProto.DataType.DOUBLE,
  // OIP's BYTES carries ONNX string tensors.
  BYTES: proto.TensorProto.DataType.STRING,
};

/**
 * The ONNX `TensorProto.DataType` number that carries a Galen datatype, as operators such as Cast take it.
 * @example builder.addNode({ opType: 'Cast', inputs: ['b'], outputs: ['i'], attributes: { to: attr.int(onnxElemType('INT64')) } })
 */
export function onnxElemType(datatype: Datatype): number {
  return ELEM_TYPES[datatype];
}

/** protobufjs decodes int64 fields as `Long` when the `long` package is present, else as number. */
export function int64ToNumber(value: number | Long | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}
