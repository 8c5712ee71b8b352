import { describe, expect, it } from 'vitest';
import type { Tensor } from '../core/index.js';
import { concatRows, splitRows } from './tensor-rows.js';

const fp32 = (rows: number[][]): Tensor => ({
  name: 'x',
  datatype: 'FP32',
  shape: [rows.length, rows[0]!.length],
  data: Float32Array.from(rows.flat()),
});

describe('concatRows / splitRows', () => {
  it('joins along the batch axis and splits back exactly', () => {
    const parts = [
      fp32([[1, 2]]),
      fp32([
        [3, 4],
        [5, 6],
      ]),
      fp32([[7, 8]]),
    ];
    const joined = concatRows(parts);
    expect(joined.shape).toEqual([4, 2]);
    expect(Array.from(joined.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const back = splitRows(joined, [1, 2, 1]);
    expect(back.map((t) => t.shape)).toEqual([
      [1, 2],
      [2, 2],
      [1, 2],
    ]);
    expect(back.map((t) => Array.from(t.data as Float32Array))).toEqual([
      [1, 2],
      [3, 4, 5, 6],
      [7, 8],
    ]);
  });

  it('handles BYTES, INT64 and rank-1 tensors', () => {
    const bytes = (s: string[]): Tensor => ({
      name: 'b',
      datatype: 'BYTES',
      shape: [s.length],
      data: s.map((x) => Buffer.from(x)),
    });
    const joined = concatRows([bytes(['a']), bytes(['bb', 'c'])]);
    expect(splitRows(joined, [2, 1]).map((t) => (t.data as Buffer[]).map(String))).toEqual([
      ['a', 'bb'],
      ['c'],
    ]);
    const ints: Tensor = { name: 'i', datatype: 'INT64', shape: [3], data: BigInt64Array.from([1n, 2n, 3n]) };
    expect(Array.from(splitRows(ints, [1, 2])[1]!.data as BigInt64Array)).toEqual([2n, 3n]);
  });

  it('refuses to split an output that does not follow the batch axis', () => {
    expect(() => splitRows(fp32([[1, 2]]), [1, 1])).toThrow(/has 1 rows where the batch had 2/);
  });
});
