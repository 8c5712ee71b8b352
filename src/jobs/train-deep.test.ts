import { describe, expect, it } from 'vitest';
import { PARITY_LIMIT, checkParity } from './train-deep.js';

describe('checkParity', () => {
  it('returns the largest difference when the export matches PyTorch within the limit', () => {
    const reference = Float32Array.from([0.25, 0.75, 0.5, 0.5]);
    const ours = Float32Array.from([0.25, 0.75 + PARITY_LIMIT / 2, 0.5, 0.5]);
    expect(checkParity(reference, ours, 2)).toBeCloseTo(PARITY_LIMIT / 2, 7);
  });

  it('refuses an export beyond the limit', () => {
    const reference = Float32Array.from([0.25, 0.75]);
    expect(() => checkParity(reference, Float32Array.from([0.25, 0.76]), 1)).toThrow(
      /differs from PyTorch by up to 0\.0\d+ on 1 validation rows/,
    );
  });

  it('refuses to vouch for an export it could not compare: no reference rows', () => {
    expect(() => checkParity(new Float32Array(0), new Float32Array(0), 0)).toThrow(
      /no reference outputs, so the exported ONNX cannot be checked against PyTorch/,
    );
  });

  it('refuses outputs of another size than the reference', () => {
    const reference = Float32Array.from([0.25, 0.75, 0.5, 0.5]);
    expect(() => checkParity(reference, Float32Array.from([0.25, 0.75]), 2)).toThrow(
      /gave 2 values on 2 validation rows where PyTorch gave 4/,
    );
    expect(() => checkParity(reference.subarray(0, 2), reference, 1)).toThrow(/gave 4 values/);
  });
});
