/**
 * NumPy's `.npy` format (version 1.0/2.0/3.0 headers, little-endian, C order) for the array types
 * Galen exchanges with the PyTorch backend and reads from `.npz` image datasets. Pure: bytes in,
 * bytes out. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { GalenError } from '../core/index.js';

export type NpyDtype = 'uint8' | 'int64' | 'float32' | 'float64' | 'int32' | 'bool';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Uint8Array | BigInt64Array | Float32Array | Float64Array | Int32Array;
}

const DESCR: Record<NpyDtype, string> = {
  uint8: '|u1',
  bool: '|b1',
  int32: '<i4',
  int64: '<i8',
  float32: '<f4',
  float64: '<f8',
};
const BY_DESCR = new Map(Object.entries(DESCR).map(([dtype, descr]) => [descr, dtype as NpyDtype]));
const ITEM_BYTES: Record<NpyDtype, number> = {
  uint8: 1,
  bool: 1,
  int32: 4,
  int64: 8,
  float32: 4,
  float64: 8,
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Encodes an array as `.npy` (format 1.0, 64-byte aligned header). */
export function encodeNpy(array: NpyArray): Buffer {
  const n = count(array.shape);
  if (array.data.length !== n) {
    throw new GalenError(
      'internal',
      `npy: ${array.data.length} values do not fill shape [${array.shape.join(', ')}]`,
    );
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[array.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.set(MAGIC, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]);
}

/** Decodes `.npy` bytes; `what` names the array in errors (e.g. the archive entry). */
export function decodeNpy(bytes: Uint8Array, what = 'the array'): NpyArray {
  const fail = (why: string): never => {
    throw new GalenError('invalid_input', `${what} is not a NumPy array Galen can read: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('it does not start with \\x93NUMPY');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (major < 1 || major > 3 || headerStart + headerLength > bytes.length)
    fail(`bad header (version ${major})`);
  const header = Buffer.from(bytes.subarray(headerStart, headerStart + headerLength)).toString(
    major === 3 ? 'utf8' : 'latin1',
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail('its header is malformed');
  const dtype = BY_DESCR.get(descr!) ?? BY_DESCR.get(descr!.replace('=', '<'));
  if (!dtype) {
    fail(
      `its dtype "${descr}" is not one of ${Object.entries(DESCR)
        .map(([d, s]) => `${d} (${s})`)
        .join(', ')}`,
    );
  }
  if (fortran === 'True') fail('it is in Fortran order; save it in C order (numpy.ascontiguousarray)');
  const shape = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    fail(`its shape (${shapeText}) is not a list of sizes`);
  const start = headerStart + headerLength;
  // Checked before the product: huge sizes times a zero would otherwise count as NaN, not 0.
  if (shape.reduce((a, d) => (d === 0 ? a : a * d), 1) > Number.MAX_SAFE_INTEGER)
    fail(`its shape (${shapeText}) is too large`);
  const n = count(shape);
  const size = ITEM_BYTES[dtype!] * n;
  if (bytes.length - start < size)
    fail(`it holds ${bytes.length - start} data bytes, its shape needs ${size}`);
  // Copy so typed views are aligned whatever the entry's offset in its archive.
  const body = new Uint8Array(size);
  body.set(bytes.subarray(start, start + size));
  const data =
    dtype === 'float32'
      ? new Float32Array(body.buffer)
      : dtype === 'float64'
        ? new Float64Array(body.buffer)
        : dtype === 'int64'
          ? new BigInt64Array(body.buffer)
          : dtype === 'int32'
            ? new Int32Array(body.buffer)
            : body;
  return { dtype: dtype!, shape, data };
}

/** An array's values as numbers (int64 converted; fine for labels and counts). */
export function npyNumbers(array: NpyArray): Float64Array {
  const out = new Float64Array(array.data.length);
  if (array.data instanceof BigInt64Array) array.data.forEach((v, i) => (out[i] = Number(v)));
  else out.set(array.data);
  return out;
}
