/** Conversions between Galen's tensors (OIP datatypes) and ONNX Runtime's. */
import { GalenError, allocateTensorData } from '../core/index.js';
import type { Datatype, Tensor, TensorData } from '../core/index.js';
import type { WireTensor } from './session-worker.js';

/** ONNX Runtime's element type names. */
const TO_ORT: Readonly<Record<Datatype, string>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const FROM_ORT = new Map<string, Datatype>(Object.entries(TO_ORT).map(([k, v]) => [v, k as Datatype]));

/** The OIP datatype for an ONNX Runtime element type, or undefined when OIP has none. */
export function datatypeOfOrt(type: string): Datatype | undefined {
  return FROM_ORT.get(type);
}

/** A tensor as it crosses to an ONNX Runtime worker. `exact` arrays are never views of a larger buffer. */
export function toWire(tensor: Tensor): WireTensor {
  const dims = [...tensor.shape];
  if (tensor.datatype === 'BYTES') {
    // ONNX Runtime's string tensors hold UTF-8 text.
    const data = (tensor.data as Buffer[]).map((b) => b.toString('utf8'));
    return { name: tensor.name, type: 'string', dims, data };
  }
  let data = tensor.data as Exclude<TensorData, Buffer[]>;
  // Posting a view clones its whole underlying buffer: cut views down to their own bytes first.
  if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
  return { name: tensor.name, type: TO_ORT[tensor.datatype], dims, data };
}

export function fromWire(value: WireTensor): Tensor {
  const { name } = value;
  const datatype = datatypeOfOrt(value.type);
  if (datatype === undefined) {
    throw new GalenError(
      'internal',
      `output "${name}" has ONNX Runtime type ${value.type}, which OIP cannot carry`,
    );
  }
  const shape = [...value.dims];
  if (datatype === 'BYTES') {
    return { name, datatype, shape, data: (value.data as string[]).map((s) => Buffer.from(s, 'utf8')) };
  }
  if (datatype === 'FP16' && !(value.data instanceof Uint16Array)) {
    // Runtimes with a native Float16Array hand back numbers; Galen keeps FP16 as bit patterns.
    throw new GalenError(
      'internal',
      `output "${name}" came back as ${value.data.constructor.name}, expected half-float bits`,
    );
  }
  return { name, datatype, shape, data: value.data as TensorData };
}

/** A zero-filled tensor of `datatype` and `shape`, for warm-up runs. */
export function zeroTensor(name: string, datatype: Datatype, shape: readonly number[]): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const data: TensorData =
    datatype === 'BYTES'
      ? Array.from({ length: count }, () => Buffer.alloc(0))
      : allocateTensorData(datatype, count);
  return { name, datatype, shape, data };
}
