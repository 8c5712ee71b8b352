import { describe, expect, it } from 'vitest';
import { cellText } from './explain-command.js';

describe('cellText (the value column of galen explain)', () => {
  it('shows an FP32 input as the decimal that was sent, not its float64 expansion', () => {
    expect(cellText(Math.fround(2.3))).toBe('2.3');
    expect(cellText(Math.fround(0.1016))).toBe('0.1016');
    expect(cellText(Math.fround(13.48))).toBe('13.48');
    expect(cellText(145)).toBe('145');
    expect(cellText(Math.fround(-1.0125))).toBe('-1.0125');
  });

  it('keeps numbers that are not FP32 values, text and missing values as they are', () => {
    expect(cellText(2.3)).toBe('2.3');
    expect(cellText(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(cellText('asymptomatic')).toBe('asymptomatic');
    expect(cellText(null)).toBe('(missing)');
  });
});
