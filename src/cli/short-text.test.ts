import { describe, expect, it } from 'vitest';
import { shortText } from './short-text.js';

describe('shortText', () => {
  it('keeps text that fits, on one line', () => {
    expect(shortText('Heart disease\n  risk', 60)).toBe('Heart disease risk');
  });

  it('cuts long text at a word boundary and marks the cut with …', () => {
    const text = 'Predicts coronary artery disease from routine measurements of the Cleveland cohort';
    const short = shortText(text, 40);
    expect(short).toBe('Predicts coronary artery disease from…');
    expect(short.length).toBeLessThanOrEqual(40);
    // Every word shown is a whole word of the text.
    for (const word of short.slice(0, -1).split(' ')) expect(text.split(' ')).toContain(word);
  });

  it('keeps a last word that ends exactly at the limit, and drops trailing punctuation', () => {
    expect(shortText('aaaa bbbb, cccc', 10)).toBe('aaaa bbbb…');
    expect(shortText('aaaa bbbb cccc', 9)).toBe('aaaa…');
  });

  it('cuts inside a single word longer than the limit', () => {
    expect(shortText('x'.repeat(30), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
