/**
 * Joining tensors along their first (batch) dimension and splitting them back: what dynamic
 * batching does to the requests it merges and the outputs it returns.
 */
import { GalenError, elementCount } from '../core/index.js';
import type { Tensor, TensorData } from '../core/index.js';

type NumericData = Exclude<TensorData, Buffer[]>;
type NumericCtor = new (length: number) => NumericData;

/** Concatenates same-named tensors along dimension 0; their other dimensions must agree. */
export function concatRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0];
  if (!first) throw new GalenError('internal', 'nothing to concatenate');
  if (parts.length === 1) return first;
  const rows = parts.reduce((n, t) => n + (t.shape[0] ?? 0), 0);
  const shape = [rows, ...first.shape.slice(1)];
  if (first.datatype === 'BYTES') {
    return { ...first, shape, data: parts.flatMap((t) => t.data as Buffer[]) };
  }
  const data = new (first.data.constructor as NumericCtor)(elementCount(shape));
  let offset = 0;
  for (const part of parts) {
    const src = part.data as NumericData;
    (data as { set(a: ArrayLike<number | bigint>, o: number): void }).set(src, offset);
    offset += src.length;
  }
  return { ...first, shape, data };
}

/** Splits a tensor along dimension 0 into pieces of `rows[i]` rows (copies, so none pins the whole). */
export function splitRows(tensor: Tensor, rows: readonly number[]): Tensor[] {
  const total = tensor.shape[0];
  const expected = rows.reduce((a, b) => a + b, 0);
  if (total !== expected) {
    throw new GalenError(
      'internal',
      `output "${tensor.name}" has ${total} rows where the batch had ${expected}`,
    );
  }
  const rowSize = total === 0 ? 0 : elementCount(tensor.shape) / total;
  const pieces: Tensor[] = [];
  let start = 0;
  for (const n of rows) {
    const shape = [n, ...tensor.shape.slice(1)];
    const begin = start * rowSize;
    const end = (start + n) * rowSize;
    const data =
      tensor.datatype === 'BYTES'
        ? (tensor.data as Buffer[]).slice(begin, end)
        : (tensor.data as NumericData).slice(begin, end);
    pieces.push({ ...tensor, shape, data });
    start += n;
  }
  return pieces;
}
