import { describe, expect, it } from 'vitest';
import { shortestFloat32 } from './tensor-types.js';

describe('shortestFloat32', () => {
  it('gives an FP32 value back as the decimal that was sent, not its float64 expansion', () => {
    expect(Math.fround(2.3)).toBe(2.299999952316284);
    expect(shortestFloat32(Math.fround(2.3))).toBe(2.3);
    expect(shortestFloat32(Math.fround(0.1016))).toBe(0.1016);
    expect(shortestFloat32(Math.fround(13.48))).toBe(13.48);
    expect(shortestFloat32(Math.fround(-1.0125))).toBe(-1.0125);
    expect(shortestFloat32(145)).toBe(145);
  });

  it('keeps numbers that are not FP32 values as they are', () => {
    expect(shortestFloat32(2.3)).toBe(2.3);
    expect(shortestFloat32(0.1 + 0.2)).toBe(0.30000000000000004);
    expect(shortestFloat32(Number.NaN)).toBeNaN();
  });
});
