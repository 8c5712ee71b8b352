import { describe, expect, it } from 'vitest';
import { deriveTarget, looksLikeTargetExpression, parseTargetExpression } from './target-expression.js';

const table = {
  columns: ['age', 'num', 'outcome'],
  rows: [
    ['63', '0', 'alive'],
    ['67', '2', 'died'],
    ['41', null, 'alive'],
    ['56', '1.0', null],
  ],
  lines: [2, 3, 4, 5],
};

describe('target expressions', () => {
  it('reads a comparison on a column, and leaves a plain column name alone', () => {
    expect(parseTargetExpression('num > 0', table.columns)).toEqual({
      name: 'num > 0',
      column: 'num',
      operator: '>',
      value: '0',
    });
    expect(parseTargetExpression('num>=1', table.columns)?.name).toBe('num >= 1');
    expect(parseTargetExpression('num', table.columns)).toBeUndefined();
    expect(parseTargetExpression('age band', table.columns)).toBeUndefined();
    expect(looksLikeTargetExpression('num > 0')).toBe(true);
    expect(looksLikeTargetExpression('num')).toBe(false);
  });

  it('derives "true"/"false", missing where the source is missing; numbers compare by value', () => {
    const derived = deriveTarget(table, parseTargetExpression('num > 0', table.columns)!);
    expect(derived.columns).toEqual(['age', 'num', 'outcome', 'num > 0']);
    expect(derived.rows.map((r) => r[3])).toEqual(['false', 'true', null, 'true']);
    expect(derived.lines).toEqual(table.lines);
    const one = deriveTarget(table, parseTargetExpression('num == 1', table.columns)!);
    expect(one.rows.map((r) => r[3])).toEqual(['false', 'false', null, 'true']);
    const died = deriveTarget(table, parseTargetExpression('outcome != alive', table.columns)!);
    expect(died.rows.map((r) => r[3])).toEqual(['false', 'true', 'false', null]);
  });

  it('refuses what it cannot compare, saying why', () => {
    expect(() => parseTargetExpression('sbp > 140', table.columns)).toThrow(
      /compares column "sbp", which is not in the data; its columns are age, num, outcome/,
    );
    expect(() => parseTargetExpression('outcome > alive', table.columns)).toThrow(
      /> compares numbers, and "alive" is not a number \(use == or != for a category\)/,
    );
    const derive = (): unknown => deriveTarget(table, parseTargetExpression('outcome > 1', table.columns)!);
    expect(derive).toThrow(
      /column "outcome" is not a number in row 1 \(line 2\); > compares numbers \(use == or != for a category\)/,
    );
    expect(derive).not.toThrow(/alive/);
  });
});
