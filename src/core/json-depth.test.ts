import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, jsonDeeperThan } from './json-depth.js';

/** `levels` arrays (or objects), each holding the next, built without recursion. */
function nested(levels: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

describe('jsonDeeperThan', () => {
  it('counts {} and [] as one level and scalars as none', () => {
    expect(jsonDeeperThan(1, 0)).toBe(false);
    expect(jsonDeeperThan(null, 0)).toBe(false);
    expect(jsonDeeperThan({}, 0)).toBe(true);
    expect(jsonDeeperThan({}, 1)).toBe(false);
    expect(jsonDeeperThan({ a: [{}] }, 2)).toBe(true);
    expect(jsonDeeperThan({ a: [{}] }, 3)).toBe(false);
  });

  it('finds the deepest branch among shallow ones, in arrays and objects alike', () => {
    const value = { a: [1, 2, { b: [] }], c: nested(MAX_JSON_DEPTH, 'object'), d: [[[]]] };
    expect(jsonDeeperThan(value, MAX_JSON_DEPTH + 1)).toBe(false);
    expect(jsonDeeperThan(value, MAX_JSON_DEPTH)).toBe(true);
    expect(jsonDeeperThan([0, nested(5, 'array')], 6)).toBe(false);
    expect(jsonDeeperThan([0, nested(5, 'array')], 5)).toBe(true);
  });

  it('walks a million levels without recursion (JSON.stringify overflows the stack there)', () => {
    for (const kind of ['array', 'object'] as const) {
      const deep = nested(1_000_000, kind);
      expect(() => JSON.stringify(deep)).toThrow(RangeError);
      expect(jsonDeeperThan(deep, MAX_JSON_DEPTH)).toBe(true);
      expect(jsonDeeperThan(deep, 1_000_000)).toBe(false);
    }
  });

  it('reads wide values whole: a flat array of numbers and an object of many keys', () => {
    expect(jsonDeeperThan(new Array<number>(2_000_000).fill(0.5), 1)).toBe(false);
    expect(
      jsonDeeperThan(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, [i]])), 1),
    ).toBe(true);
  });
});
