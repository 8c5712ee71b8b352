/**
 * Tensors as raw bytes, the layout shared by the OIP binary tensor extension (HTTP) and gRPC's
 * `raw_input_contents` / `raw_output_contents`: elements in row-major order, little-endian,
 * BOOL as one byte (0 or 1), FP16 as half-float bits, and BYTES as a 4-byte little-endian length
 * followed by that many bytes, per element.
 */
import { endianness } from 'node:os';
import { GalenError, allocateTensorData, elementCount, formatShape } from '../core/index.js';
import type { Datatype, Tensor, TensorData } from '../core/index.js';
import { ELEMENT_BYTES, TensorBudget } from './tensor-limits.js';

export { ELEMENT_BYTES };

const LITTLE_ENDIAN = endianness() === 'LE';

/** Reverses each `size`-byte group in place (only on big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/**
 * Reads one tensor from its raw bytes. The byte count must match the shape exactly; every
 * problem names the tensor and says what was expected. Every allocation is accounted against
 * `budget` (the request's; by default one with the default limits) before it is made, and BYTES
 * elements are read only up to the count the shape declares. The result owns its memory (it
 * never aliases `bytes`), so it may be transferred to another thread.
 */
export function tensorFromRaw(
  name: string,
  datatype: Datatype,
  shape: readonly number[],
  bytes: Uint8Array,
  budget: TensorBudget = new TensorBudget(),
): Tensor {
  const count = elementCount(shape);
  if (datatype === 'BYTES') {
    budget.reserve(name, datatype, shape);
    return { name, datatype, shape, data: readByteStrings(name, shape, count, bytes, budget) };
  }
  const size = ELEMENT_BYTES[datatype];
  if (bytes.byteLength !== count * size) {
    throw new GalenError(
      'invalid_input',
      `input "${name}" has ${bytes.byteLength} bytes of raw data; shape ${formatShape(shape)} of ${datatype} needs ${count} × ${size} = ${count * size} bytes`,
    );
  }
  budget.reserve(name, datatype, shape);
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

/**
 * The BYTES elements of `bytes`, exactly `count` of them: reading stops at the first element
 * beyond the shape, so a body of millions of empty elements costs nothing before it is refused.
 */
function readByteStrings(
  name: string,
  shape: readonly number[],
  count: number,
  bytes: Uint8Array,
  budget: TensorBudget,
): Buffer[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layout = 'each element is a 4-byte little-endian length, then the bytes';
  const out = new Array<Buffer>(count);
  let offset = 0;
  let i = 0;
  for (; offset < view.length; i++) {
    if (i === count) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" raw BYTES data holds more than ${count} elements (${view.length - offset} bytes remain after element ${count - 1}); shape ${formatShape(shape)} needs ${count} (${layout})`,
      );
    }
    if (offset + 4 > view.length) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" raw BYTES data ends inside the 4-byte length of element ${i}`,
      );
    }
    const length = view.readUInt32LE(offset);
    offset += 4;
    if (offset + length > view.length) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" raw BYTES element ${i} declares ${length} bytes but only ${view.length - offset} remain`,
      );
    }
    budget.bytesElement(name, i, length);
    out[i] = Buffer.from(view.subarray(offset, offset + length)); // copied: never alias the request
    offset += length;
  }
  if (i !== count) {
    throw new GalenError(
      'invalid_input',
      `input "${name}" raw BYTES data holds ${i} elements; shape ${formatShape(shape)} needs ${count} (${layout})`,
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
