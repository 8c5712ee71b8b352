/**
 * Tensors as raw bytes, the layout shared by the OIP binary tensor extension (HTTP) and gRPC's
 * `raw_input_contents` / `raw_output_contents`: elements in row-major order, little-endian,
 * BOOL as one byte (0 or 1), FP16 as half-float bits, and BYTES as a 4-byte little-endian length
 * followed by that many bytes, per element.
 */
import { endianness } from 'node:os';
import { GalenError, allocateTensorData, elementCount, formatShape } from '../core/index.js';
import type { Datatype, Tensor, TensorData } from '../core/index.js';

/** Bytes per element of each fixed-size datatype. */
export const ELEMENT_BYTES: Readonly<Record<Exclude<Datatype, 'BYTES'>, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

const LITTLE_ENDIAN = endianness() === 'LE';

/** Reverses each `size`-byte group in place (only on big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/**
 * Reads one tensor from its raw bytes. The byte count must match the shape exactly; every
 * problem names the tensor and says what was expected. The result owns its memory (it never
 * aliases `bytes`), so it may be transferred to another thread.
 */
export function tensorFromRaw(
  name: string,
  datatype: Datatype,
  shape: readonly number[],
  bytes: Uint8Array,
): Tensor {
  const count = elementCount(shape);
  if (datatype === 'BYTES')
    return { name, datatype, shape, data: readByteStrings(name, shape, count, bytes) };
  const size = ELEMENT_BYTES[datatype];
  if (bytes.byteLength !== count * size) {
    throw new GalenError(
      'invalid_input',
      `input "${name}" has ${bytes.byteLength} bytes of raw data; shape ${formatShape(shape)} of ${datatype} needs ${count} × ${size} = ${count * size} bytes`,
    );
  }
  const data = allocateTensorData(datatype, count);
  const target = new Uint8Array(data.buffer, 0, data.byteLength);
  target.set(bytes);
  if (!LITTLE_ENDIAN) swapBytes(target, size);
  if (datatype === 'BOOL') {
    const bad = (data as Uint8Array).findIndex((b) => b > 1);
    if (bad >= 0) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" element ${bad} is byte ${(data as Uint8Array)[bad]}; BOOL elements are one byte, 0 or 1`,
      );
    }
  }
  return { name, datatype, shape, data };
}

function readByteStrings(name: string, shape: readonly number[], count: number, bytes: Uint8Array): Buffer[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < view.length) {
    if (offset + 4 > view.length) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" raw BYTES data ends inside the 4-byte length of element ${out.length}`,
      );
    }
    const length = view.readUInt32LE(offset);
    offset += 4;
    if (offset + length > view.length) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" raw BYTES element ${out.length} declares ${length} bytes but only ${view.length - offset} remain`,
      );
    }
    out.push(Buffer.from(view.subarray(offset, offset + length))); // copied: never alias the request
    offset += length;
  }
  if (out.length !== count) {
    throw new GalenError(
      'invalid_input',
      `input "${name}" raw BYTES data holds ${out.length} elements; shape ${formatShape(shape)} needs ${count} (each element is a 4-byte little-endian length, then the bytes)`,
    );
  }
  return out;
}

/** The raw bytes of a tensor (a view of its data where the layout already matches). */
export function tensorToRaw(tensor: Tensor): Buffer {
  if (tensor.datatype === 'BYTES') {
    const strings = tensor.data as Buffer[];
    const total = strings.reduce((n, b) => n + 4 + b.length, 0);
    const out = Buffer.allocUnsafe(total);
    let offset = 0;
    for (const s of strings) {
      out.writeUInt32LE(s.length, offset);
      s.copy(out, offset + 4);
      offset += 4 + s.length;
    }
    return out;
  }
  const data = tensor.data as Exclude<TensorData, Buffer[]>;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return view;
  const copy = Buffer.from(view);
  swapBytes(copy, ELEMENT_BYTES[tensor.datatype]);
  return copy;
}
