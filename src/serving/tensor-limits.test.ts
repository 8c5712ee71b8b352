import { describe, expect, it } from 'vitest';
import { DEFAULT_TENSOR_LIMITS, checkDeclaredLimits, declaredCount } from './tensor-limits.js';

describe('tensor limits', () => {
  it('counts a shape without ever losing the count to NaN', () => {
    expect(declaredCount([2, 3])).toBe(6);
    expect(declaredCount([])).toBe(1);
    const huge = Array<number>(8).fill(Number.MAX_SAFE_INTEGER);
    expect(declaredCount(huge)).toBe(Infinity);
    expect(declaredCount([...huge, 0])).toBe(0); // an empty tensor, however long its other dimensions
  });

  it('checks every declared input together, before anything is decoded', () => {
    const limits = { ...DEFAULT_TENSOR_LIMITS, maxElements: 100, maxBytesElements: 5 };
    expect(() =>
      checkDeclaredLimits(limits, [
        { name: 'a', datatype: 'FP32', shape: [10, 6] },
        { name: 'b', datatype: 'FP32', shape: [10, 5] },
      ]),
    ).toThrow('input "b" has shape [10,5] after the earlier inputs; this server takes at most 100 elements');
    expect(() =>
      checkDeclaredLimits(limits, [
        { name: 's', datatype: 'BYTES', shape: Array<number>(8).fill(2 ** 53 - 1) },
      ]),
    ).toThrow(/at most 100 elements per request/);
    expect(() => checkDeclaredLimits(limits, [{ name: 's', datatype: 'BYTES', shape: [6] }])).toThrow(
      'input "s" has shape [6] of BYTES; this server takes at most 5 BYTES elements per request',
    );
    checkDeclaredLimits(limits, [
      { name: 's', datatype: 'BYTES', shape: [5] },
      { name: 'x', datatype: 'FP64', shape: [95] },
    ]);
  });
});
