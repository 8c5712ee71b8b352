import { describe, expect, it } from 'vitest';
import { floatToHalfBits, halfBitsToFloat } from './float16.js';
import { tensorDataToJson, tensorFromJson } from './json-tensors.js';
import { DEFAULT_TENSOR_LIMITS, TensorBudget } from './tensor-limits.js';

describe('float16', () => {
  it('round-trips values exactly representable in half precision', () => {
    for (const v of [0, -0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 1023.5]) {
      expect(halfBitsToFloat(floatToHalfBits(v))).toBe(v);
    }
  });

  it('rounds to nearest even and saturates to infinity', () => {
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (1.0)
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (1 + 2^-9)
    expect(halfBitsToFloat(floatToHalfBits(0.1))).toBeCloseTo(0.0999755859375, 12);
    expect(halfBitsToFloat(floatToHalfBits(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(halfBitsToFloat(floatToHalfBits(Number.NaN)))).toBe(true);
  });
});

describe('tensorFromJson', () => {
  it('accepts nested and flat data alike', () => {
    const flat = tensorFromJson('x', 'FP32', [2, 2], [1, 2, 3, 4]);
    const nested = tensorFromJson(
      'x',
      'FP32',
      [2, 2],
      [
        [1, 2],
        [3, 4],
      ],
    );
    expect(Array.from(nested.data as Float32Array)).toEqual(Array.from(flat.data as Float32Array));
  });

  it('names the input and element that break the datatype', () => {
    expect(() => tensorFromJson('age', 'INT32', [2], [40, 40.5])).toThrow(
      /^input "age" element 1 is a number; INT32 elements must be integers/,
    );
    expect(() => tensorFromJson('flag', 'BOOL', [1], [1])).toThrow(/BOOL elements must be true or false/);
    expect(() => tensorFromJson('hr', 'FP32', [1], ['72'])).toThrow(/FP32 elements must be JSON numbers/);
    expect(() => tensorFromJson('x', 'UINT8', [1], [256])).toThrow(/integers from 0 to 255/);
    expect(() => tensorFromJson('x', 'FP32', [1, 3], [1, 2])).toThrow(
      /has 2 elements but its shape \[1,3\] needs 3/,
    );
  });

  it('returns JSON values of the right kind', () => {
    expect(tensorDataToJson(tensorFromJson('b', 'BOOL', [2], [true, false]))).toEqual([true, false]);
    expect(tensorDataToJson(tensorFromJson('i', 'INT64', [1], [2 ** 53 - 1]))).toEqual([2 ** 53 - 1]);
    expect(tensorDataToJson(tensorFromJson('s', 'BYTES', [1], ['肺炎']))).toEqual(['肺炎']);
  });

  it('refuses data nested deeper than the shape with a clear error, however deep', () => {
    let deep: unknown = [1];
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => tensorFromJson('x', 'FP32', [1, 1], [deep])).toThrow(
      'input "x" has "data" nested deeper than its shape [1,1] has dimensions (2); send the elements flat or nested once per dimension',
    );
    expect(() => tensorFromJson('x', 'FP32', [1], [[1]])).toThrow(/nested deeper than its shape \[1\]/);
    expect(Array.from(tensorFromJson('x', 'FP32', [1, 1, 2], [[[1, 2]]]).data as Float32Array)).toEqual([
      1, 2,
    ]);
  });

  it('refuses shapes beyond the limits before reading the data', () => {
    expect(() => tensorFromJson('s', 'BYTES', [1_000_000], [])).toThrow(
      'input "s" has shape [1000000] of BYTES; this server takes at most 262144 BYTES elements per request',
    );
    expect(() => tensorFromJson('x', 'FP32', [2 ** 40], [])).toThrow(/at most 16777216 elements per request/);
    const tight = new TensorBudget({ ...DEFAULT_TENSOR_LIMITS, maxBytesElementSize: 3 });
    expect(() => tensorFromJson('s', 'BYTES', [2], ['abc', 'abcd'], tight)).toThrow(
      'input "s" element 1 is 4 bytes long; this server takes BYTES elements of at most 3 bytes',
    );
  });
});
