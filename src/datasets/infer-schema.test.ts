import { describe, expect, it } from 'vitest';
import { inferSchema, parseCsv } from './index.js';
import type { ColumnSchema, DatasetSchema, ParsedTable } from './index.js';
import { invalidInputMessage } from '../../test/helpers/errors.js';

const invalid = invalidInputMessage;

/** A one-table-per-column helper: `columns` maps names to their cells (null = missing). */
function table(columns: Record<string, (string | null)[]>): ParsedTable {
  const names = Object.keys(columns);
  const length = columns[names[0]!]!.length;
  return { columns: names, rows: Array.from({ length }, (_, i) => names.map((n) => columns[n]![i]!)) };
}

const column = (schema: DatasetSchema, name: string): ColumnSchema =>
  schema.columns.find((c) => c.name === name)!;

const repeat = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('inferSchema: kinds', () => {
  const schema = inferSchema(
    parseCsv(
      Buffer.from(
        [
          'age,smoker,outcome,blood,band,empty,rare',
          '63,1,yes,A,[70-80),,x',
          '41.5,0,no,B,<40,?,y',
          '?,1,no,O,>=90,NA,z',
          '70,0,yes,A,<40,,w',
        ].join('\n'),
      ),
    ),
    { maxCategories: 3 },
  );

  it('numeric: counts missing values and summarises the numbers (population std)', () => {
    expect(column(schema, 'age')).toEqual({
      name: 'age',
      kind: 'numeric',
      role: 'feature',
      missing: 1,
      distinct: 3,
      numeric: { min: 41.5, max: 70, mean: 58.166666666666664, std: expect.closeTo(12.126647, 6) as number },
    });
  });

  it('binary: two values, negative first; numeric ones keep their numeric summary', () => {
    expect(column(schema, 'smoker')).toMatchObject({
      kind: 'binary',
      categories: ['0', '1'],
      numeric: { min: 0, max: 1, mean: 0.5, std: 0.5 },
    });
    expect(column(schema, 'outcome')).toEqual({
      name: 'outcome',
      kind: 'binary',
      role: 'feature',
      missing: 0,
      distinct: 2,
      categories: ['no', 'yes'],
    });
  });

  it('categorical up to maxCategories values, ordinal for bands, text beyond', () => {
    expect(column(schema, 'blood')).toMatchObject({
      kind: 'categorical',
      categories: ['A', 'B', 'O'],
      distinct: 3,
    });
    expect(column(schema, 'band')).toMatchObject({
      kind: 'ordinal',
      categories: ['<40', '[70-80)', '>=90'],
    });
    expect(column(schema, 'rare')).toMatchObject({
      kind: 'text',
      role: 'ignored',
      distinct: 4,
      reason: '4 different values, more than the 3 a categorical column may have',
    });
  });

  it('a column without any value is ignored text', () => {
    expect(column(schema, 'empty')).toEqual({
      name: 'empty',
      kind: 'text',
      role: 'ignored',
      missing: 4,
      distinct: 0,
      reason: 'every value is missing',
    });
    expect(schema.rows).toBe(4);
    expect(schema.target).toBeUndefined();
    expect(schema.targetMissing).toBeUndefined();
  });
});

describe('inferSchema: category order', () => {
  const binary = (a: string, b: string): string[] | undefined =>
    inferSchema(table({ x: [a, b, a] })).columns[0]!.categories;

  it.each([
    ['yes', 'no', ['no', 'yes']],
    ['positive', 'negative', ['negative', 'positive']],
    ['malignant', 'benign', ['benign', 'malignant']],
    ['M', 'B', ['B', 'M']],
    ['TRUE', 'FALSE', ['FALSE', 'TRUE']],
    ['1.0', '0.0', ['0.0', '1.0']],
    ['>=50', '<50', ['<50', '>=50']],
    ['M', 'F', ['F', 'M']],
    ['died', 'alive', ['alive', 'died']],
    // A recognised negative comes first even when it is not first alphabetically.
    ['abnormal', 'normal', ['normal', 'abnormal']],
    ['disease', 'healthy', ['healthy', 'disease']],
    ['case', 'control', ['control', 'case']],
    ['Y', 'N', ['N', 'Y']],
  ])('binary %j / %j → %j', (a, b, expected) => {
    expect(binary(a, b)).toEqual(expected);
  });

  it('numbers are binary only when they are 0 and 1', () => {
    expect(inferSchema(table({ x: ['61', '47', null] })).columns[0]).toMatchObject({
      kind: 'numeric',
      distinct: 2,
    });
    expect(inferSchema(table({ x: ['2', '1', '2'] })).columns[0]).toMatchObject({ kind: 'numeric' });
    const set = inferSchema(table({ x: ['2', '1', '2'] }), { overrides: { x: { kind: 'binary' } } });
    expect(set.columns[0]).toMatchObject({
      kind: 'binary',
      categories: ['1', '2'],
      numeric: { min: 1, max: 2 },
    });
  });

  it('binary: the same number written twice is one value', () => {
    expect(inferSchema(table({ x: ['1', '1.0', '0', '0.00'] })).columns[0]).toMatchObject({
      kind: 'binary',
      distinct: 2,
      categories: ['0', '1'],
    });
  });

  it('categorical: by descending frequency, ties alphabetical ignoring case', () => {
    const cells = ['c', 'a', 'b', 'a', 'D', 'c', 'b', 'a', 'e'];
    expect(inferSchema(table({ x: cells })).columns[0]!.categories).toEqual(['a', 'b', 'c', 'D', 'e']);
  });
});

describe('inferSchema: columns that are not features', () => {
  it('ignores a run of different consecutive integers (a row number or identifier)', () => {
    const ids = repeat(25, (i) => String(1000 + ((i * 7) % 25)));
    const schema = inferSchema(table({ id: ids, chol: repeat(25, (i) => String(150 + i * 3)) }));
    expect(column(schema, 'id')).toMatchObject({
      kind: 'numeric',
      role: 'ignored',
      distinct: 25,
      reason: 'every value is a different integer, in a consecutive run: a row number or identifier',
    });
    // Different integers with gaps are a measurement, not an identifier.
    expect(column(schema, 'chol')).toMatchObject({ kind: 'numeric', role: 'feature' });
  });

  it('keeps small consecutive integer columns as numeric features (too few rows to tell)', () => {
    expect(inferSchema(table({ x: repeat(19, (i) => String(i)) })).columns[0]!.role).toBe('feature');
  });

  it('ignores text whose every value differs', () => {
    const schema = inferSchema(table({ patient: repeat(20, (i) => `P${i}`) }));
    expect(schema.columns[0]).toMatchObject({
      kind: 'text',
      role: 'ignored',
      reason: 'every value is different: an identifier or free text',
    });
  });

  it('ignores dates', () => {
    const schema = inferSchema(
      table({ admitted: ['04/26/12', '2012-04-27', '27.04.2012', '2012-04-28T10:00:00Z'] }),
    );
    expect(schema.columns[0]).toMatchObject({
      kind: 'text',
      role: 'ignored',
      reason: expect.stringMatching(/^dates/) as string,
    });
  });

  it('ignores a column with a single value, keeping its kind', () => {
    const schema = inferSchema(table({ site: ['A', 'A', null], version: ['2', '2.0', '2'] }));
    expect(column(schema, 'site')).toMatchObject({
      kind: 'categorical',
      role: 'ignored',
      categories: ['A'],
      reason: 'every value is the same',
    });
    expect(column(schema, 'version')).toMatchObject({ kind: 'numeric', role: 'ignored', distinct: 1 });
  });

  it('refuses maxCategories below 2', () => {
    expect(invalid(() => inferSchema(table({ x: ['a'] }), { maxCategories: 1 }))).toBe(
      'maxCategories must be an integer of at least 2, not 1',
    );
  });
});

describe('inferSchema: target', () => {
  const t = table({
    age: ['63', '41', '70', '55'],
    outcome: ['yes', null, 'no', 'no'],
    site: ['A', 'A', 'A', 'A'],
    note: ['x', 'y', 'z', 'w'],
  });

  it('marks the target and counts rows where it is missing without dropping them', () => {
    const schema = inferSchema(t, { target: 'outcome' });
    expect(schema.target).toBe('outcome');
    expect(schema.targetMissing).toBe(1);
    expect(schema.rows).toBe(4);
    expect(column(schema, 'outcome')).toEqual({
      name: 'outcome',
      kind: 'binary',
      role: 'target',
      missing: 1,
      distinct: 2,
      categories: ['no', 'yes'],
    });
  });

  it('a numeric target with several values stays numeric', () => {
    expect(column(inferSchema(t, { target: 'age' }), 'age')).toMatchObject({
      kind: 'numeric',
      role: 'target',
    });
  });

  it('refuses an unknown target, listing the columns', () => {
    expect(invalid(() => inferSchema(t, { target: 'Outcome' }))).toBe(
      'target "Outcome" is not a column of this dataset; its columns are "age", "outcome", "site", "note"',
    );
  });

  it('refuses a target with one class or no values', () => {
    expect(invalid(() => inferSchema(t, { target: 'site' }))).toBe(
      'target "site" has only one class/value in all 4 rows that have one; a target needs at least two',
    );
    expect(invalid(() => inferSchema(table({ y: [null, null] }), { target: 'y' }))).toBe(
      'target "y" has no values: it is missing in all 2 rows',
    );
    expect(invalid(() => inferSchema(table({ y: ['1', '1.0'] }), { target: 'y' }))).toMatch(
      /^target "y" has only one class\/value in all 2 rows/,
    );
  });

  it('refuses a text target unless an override gives it a usable kind', () => {
    expect(invalid(() => inferSchema(t, { target: 'note', maxCategories: 3 }))).toMatch(
      /^target "note" cannot be predicted as it stands \(4 different values, more than the 3/,
    );
    // The cap holds for an override too; under it, the override makes the target usable.
    expect(
      invalid(() =>
        inferSchema(t, { target: 'note', maxCategories: 3, overrides: { note: { kind: 'categorical' } } }),
      ),
    ).toMatch(/^column "note" has 4 different values; a categorical column may have at most 3/);
    const schema = inferSchema(t, {
      target: 'note',
      maxCategories: 4,
      overrides: { note: { kind: 'ordinal', categories: ['w', 'x', 'y', 'z'] } },
    });
    expect(column(schema, 'note')).toMatchObject({ kind: 'ordinal', role: 'target' });
  });

  it('refuses an override of the target role', () => {
    expect(
      invalid(() => inferSchema(t, { target: 'outcome', overrides: { outcome: { role: 'ignored' } } })),
    ).toBe('column "outcome" is the target; an override may change its kind or categories but not its role');
  });
});

describe('inferSchema: overrides', () => {
  const rows = repeat(20, (i) => `${40 + 2 * i},${['low', 'high', 'medium'][i % 3]},${i % 4},P${i}`);
  rows[16] = '72,low,0,abc';
  const t = parseCsv(Buffer.from(['age,risk,cp,code', ...rows].join('\n')));

  it('refuses an unknown column, listing the columns', () => {
    expect(invalid(() => inferSchema(t, { overrides: { Age: { kind: 'numeric' } } }))).toBe(
      'override column "Age" is not a column of this dataset; its columns are "age", "risk", "cp", "code"',
    );
  });

  it('refuses numeric for a column with a non-number, naming the first such row and line, never its value', () => {
    expect(invalid(() => inferSchema(t, { overrides: { code: { kind: 'numeric' } } }))).toBe(
      'column "code" is set to numeric but row 1 (line 2) is not a number; numeric columns hold only numbers like 12, -0.5 or 1e-3 (or a missing marker)',
    );
    const t2 = parseCsv(Buffer.from(['age', ...repeat(16, (i) => String(i)), 'abc'].join('\n')));
    const message = invalid(() => inferSchema(t2, { overrides: { age: { kind: 'numeric' } } }));
    expect(message).toMatch(/^column "age" is set to numeric but row 17 \(line 18\) is not a number/);
    expect(message).not.toContain('abc');
  });

  it('refuses categories for a column whose every value differs, or with more values than the cap', () => {
    for (const kind of ['categorical', 'ordinal'] as const) {
      const message = invalid(() => inferSchema(t, { overrides: { code: { kind } } }));
      expect(message).toBe(
        `column "code" cannot be ${kind}: every value is different (20 rows), so it is an identifier or free text; a ${kind} column needs values that repeat (leave it ignored, or derive a feature from it first)`,
      );
    }
    // Guessed categories cannot probe such a column either: refused before they are compared.
    expect(
      invalid(() =>
        inferSchema(t, { overrides: { code: { kind: 'categorical', categories: ['P0', 'P1'] } } }),
      ),
    ).toMatch(/^column "code" cannot be categorical: every value is different/);
    const wide = table({ ward: repeat(120, (i) => `W${i % 60}`) });
    expect(invalid(() => inferSchema(wide, { overrides: { ward: { kind: 'categorical' } } }))).toBe(
      'column "ward" has 60 different values; a categorical column may have at most 50 (leave it ignored, make it numeric if it holds numbers, or group its values first)',
    );
    expect(column(inferSchema(wide), 'ward')).toMatchObject({ kind: 'text', role: 'ignored' });
    expect(column(inferSchema(wide), 'ward').categories).toBeUndefined();
    expect(
      column(inferSchema(wide, { maxCategories: 60, overrides: { ward: { kind: 'categorical' } } }), 'ward')
        .categories,
    ).toHaveLength(60);
    expect(
      invalid(() =>
        inferSchema(table({ y: ['a', 'b'] }), {
          overrides: { y: { categories: repeat(51, (i) => `c${i}`) } },
        }),
      ),
    ).toBe('categories for column "y" list 51 values; at most 50 are allowed');
  });

  it('ordinal with categories fixes their order; without, non-band values are refused', () => {
    const schema = inferSchema(t, {
      overrides: { risk: { kind: 'ordinal', categories: ['low', 'medium', 'high'] } },
    });
    expect(column(schema, 'risk')).toMatchObject({
      kind: 'ordinal',
      role: 'feature',
      categories: ['low', 'medium', 'high'],
    });
    expect(invalid(() => inferSchema(t, { overrides: { risk: { kind: 'ordinal' } } }))).toBe(
      'column "risk" is set to ordinal but its 3 values are not bands like [70-80), <30 or 5+; give their order in categories',
    );
  });

  it('categories must include every value seen, without repeats', () => {
    expect(invalid(() => inferSchema(t, { overrides: { risk: { categories: ['low', 'high'] } } }))).toBe(
      'categories for column "risk" must include every value in the data; 1 of its 3 different values is not included (preview the schema without categories to see the inferred ones)',
    );
    expect(
      invalid(() =>
        inferSchema(t, { overrides: { risk: { categories: ['low', 'high', 'low', 'medium'] } } }),
      ),
    ).toBe('categories for column "risk" repeat "low"');
    // Extra categories (values not seen yet) are allowed.
    const schema = inferSchema(t, {
      overrides: { risk: { categories: ['high', 'medium', 'low', 'unknown'] } },
    });
    expect(column(schema, 'risk')).toMatchObject({
      kind: 'categorical',
      categories: ['high', 'medium', 'low', 'unknown'],
    });
  });

  it('categories do not apply to numeric or text columns', () => {
    expect(invalid(() => inferSchema(t, { overrides: { age: { categories: ['1'] } } }))).toBe(
      'column "age" is numeric; categories apply only to binary, categorical and ordinal columns',
    );
  });

  it('a numeric column can be made categorical or ordinal (numbers in numeric order)', () => {
    const schema = inferSchema(t, { overrides: { cp: { kind: 'ordinal' } } });
    expect(column(schema, 'cp')).toMatchObject({ kind: 'ordinal', categories: ['0', '1', '2', '3'] });
    expect(column(inferSchema(t, { overrides: { cp: { kind: 'categorical' } } }), 'cp').categories).toEqual([
      '0',
      '1',
      '2',
      '3',
    ]);
  });

  it('binary needs two values; its categories choose the positive class (second)', () => {
    expect(invalid(() => inferSchema(t, { overrides: { risk: { kind: 'binary' } } }))).toBe(
      'column "risk" is set to binary but has 3 different values; a binary column has exactly two',
    );
    const yn = table({ y: ['no', 'yes', 'no'] });
    expect(
      inferSchema(yn, { target: 'y', overrides: { y: { categories: ['yes', 'no'] } } }).columns[0],
    ).toMatchObject({
      kind: 'binary',
      role: 'target',
      categories: ['yes', 'no'],
    });
    expect(invalid(() => inferSchema(yn, { overrides: { y: { categories: ['no', 'yes', 'maybe'] } } }))).toBe(
      'column "y" is binary, so its categories must be exactly two values (negative first), not 3',
    );
    // Numbers match categories by value, not by how they are written.
    const flags = table({ f: ['0.0', '1.0'] });
    expect(
      inferSchema(flags, { overrides: { f: { categories: ['1', '0'] } } }).columns[0]!.categories,
    ).toEqual(['1', '0']);
  });

  it('roles: ignore any column; a text column becomes a feature only with a usable kind', () => {
    const ignored = inferSchema(t, { overrides: { age: { role: 'ignored' } } });
    expect(column(ignored, 'age')).toMatchObject({
      kind: 'numeric',
      role: 'ignored',
      reason: 'ignored by an override',
    });
    expect(column(inferSchema(t), 'code')).toMatchObject({ kind: 'text', role: 'ignored' });
    expect(invalid(() => inferSchema(t, { overrides: { code: { role: 'feature' } } }))).toBe(
      'column "code" is text, which cannot be a feature; set its kind to numeric, binary, categorical or ordinal too',
    );
    // Every value of "code" differs: it cannot be made categories (that would list its rows).
    expect(
      invalid(() => inferSchema(t, { overrides: { code: { kind: 'categorical', role: 'feature' } } })),
    ).toMatch(/^column "code" cannot be categorical: every value is different/);
    const dates = table({ day: ['2024-01-01', '2024-01-02', '2024-01-01'] });
    const asCategory = column(
      inferSchema(dates, { overrides: { day: { kind: 'categorical', role: 'feature' } } }),
      'day',
    );
    expect(asCategory).toMatchObject({ kind: 'categorical', role: 'feature', distinct: 2 });
    expect(asCategory.reason).toBeUndefined();
  });

  it('setting a kind makes an ignored column a feature; setting text ignores it', () => {
    const ids = table({ id: repeat(30, (i) => String(i + 1)) });
    expect(inferSchema(ids).columns[0]!.role).toBe('ignored');
    expect(inferSchema(ids, { overrides: { id: { kind: 'numeric' } } }).columns[0]).toMatchObject({
      role: 'feature',
    });
    expect(inferSchema(ids, { overrides: { id: { role: 'feature' } } }).columns[0]).toMatchObject({
      kind: 'numeric',
      role: 'feature',
    });
    expect(inferSchema(t, { overrides: { risk: { kind: 'text' } } }).columns[1]).toMatchObject({
      kind: 'text',
      role: 'ignored',
    });
  });
});

describe('inferSchema: warnings', () => {
  it('warns about a few non-numbers in a column of numbers, naming the row of the first one (not its value)', () => {
    const cells = repeat(40, (i) => String(i % 5));
    cells[16] = 'abc';
    cells[30] = '<5';
    const t = parseCsv(Buffer.from(['lab', ...cells].join('\n')));
    expect(inferSchema(t).columns[0]).toEqual({
      name: 'lab',
      kind: 'text',
      role: 'ignored',
      missing: 0,
      distinct: 7,
      mostlyNumbers: true,
      reason: 'mostly numbers with a few non-numbers (see warning)',
      warning:
        'mostly numbers, but row 17 (line 18) is not a number (2 of 40 values are not numbers); fix those values or add them to the missing markers to make the column numeric',
    });
    // A person may still say the column is categorical.
    expect(inferSchema(t, { overrides: { lab: { kind: 'categorical' } } }).columns[0]).toMatchObject({
      kind: 'categorical',
      role: 'feature',
    });
    // With those values read as missing, the column is numeric.
    const fixed = parseCsv(Buffer.from(['lab', ...cells].join('\n')), { missingMarkers: ['abc', '<5'] });
    expect(inferSchema(fixed).columns[0]).toMatchObject({ kind: 'numeric', missing: 2 });
  });

  it('does not warn when text is common, or when numbers and bands mix on purpose', () => {
    const mixed = table({ x: [...repeat(10, (i) => String(i % 3)), 'a', 'b'] });
    expect(inferSchema(mixed).columns[0]!.warning).toBeUndefined();
    const counts = table({ visits: [...repeat(30, (i) => String(i % 4)), '5+'] });
    expect(inferSchema(counts).columns[0]).toMatchObject({ kind: 'ordinal' });
    expect(inferSchema(counts).columns[0]!.warning).toBeUndefined();
  });

  it('a lab value below the detection limit does not make hundreds of numbers ordinal', () => {
    const creatinine = table({ creatinine: [...repeat(150, (i) => (0.5 + i / 100).toFixed(2)), '<0.3'] });
    expect(inferSchema(creatinine).columns[0]).toMatchObject({
      kind: 'text',
      role: 'ignored',
      warning: expect.stringMatching(
        /^mostly numbers, but row 151 is not a number \(1 of 151 values is not a number/,
      ) as string,
    });
  });
});
