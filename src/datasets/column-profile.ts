/**
 * One column's facts (missing count, different values and how often each occurs, whether they are
 * numbers) and the column description built from them for a given kind.
 */
import { GalenError } from '../core/index.js';
import { orderBands } from './bands.js';
import type { ColumnKind, ColumnSchema, NumericSummary } from './schema-types.js';
import { listValues, rowLabel } from './table.js';
import type { ParsedTable } from './table.js';
import { compareText, isNegativeWord, parseNumber } from './values.js';

export interface ColumnProfile {
  name: string;
  index: number;
  missing: number;
  /** Count of non-missing cells. */
  present: number;
  /** Different values in first-seen order; in a column of numbers, one entry per number. */
  values: { text: string; count: number }[];
  /** The number of each entry of `values` when every value is a number. */
  numbers: number[] | undefined;
}

export function profileColumn(table: ParsedTable, index: number): ColumnProfile {
  const counts = new Map<string, number>();
  let missing = 0;
  for (const row of table.rows) {
    const cell = row[index];
    if (cell === null || cell === undefined) missing++;
    else counts.set(cell, (counts.get(cell) ?? 0) + 1);
  }
  const name = table.columns[index]!;
  const present = table.rows.length - missing;
  const texts = [...counts];
  const parsed = texts.map(([text]) => parseNumber(text));
  if (texts.length === 0 || parsed.some((n) => n === undefined)) {
    return {
      name,
      index,
      missing,
      present,
      values: texts.map(([text, count]) => ({ text, count })),
      numbers: undefined,
    };
  }
  // Merge texts of one number (`1` and `1.0`), keeping the first-seen text.
  const byNumber = new Map<number, { text: string; count: number }>();
  texts.forEach(([text, count], i) => {
    const n = parsed[i]!;
    const entry = byNumber.get(n);
    if (entry) entry.count += count;
    else byNumber.set(n, { text, count });
  });
  return { name, index, missing, present, values: [...byNumber.values()], numbers: [...byNumber.keys()] };
}

export function numericSummary(p: ColumnProfile, numbers: number[]): NumericSummary {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  p.values.forEach(({ count }, i) => {
    const x = numbers[i]!;
    sum += x * count;
    min = Math.min(min, x);
    max = Math.max(max, x);
  });
  const mean = sum / p.present;
  let squares = 0;
  p.values.forEach(({ count }, i) => (squares += count * (numbers[i]! - mean) ** 2));
  return { min, max, mean, std: Math.sqrt(squares / p.present) };
}

/** The two values of a binary column, negative first. */
function orderBinary(p: ColumnProfile): string[] {
  const [a, b] = p.values.map((v) => v.text) as [string, string];
  if (p.numbers) return p.numbers[0]! < p.numbers[1]! ? [a, b] : [b, a];
  const bands = orderBands([a, b]);
  if (bands) return bands;
  if (isNegativeWord(a) !== isNegativeWord(b)) return isNegativeWord(a) ? [a, b] : [b, a];
  return compareText(a, b) <= 0 ? [a, b] : [b, a];
}

const byFrequency = (p: ColumnProfile): string[] =>
  [...p.values].sort((x, y) => y.count - x.count || compareText(x.text, y.text)).map((v) => v.text);

function ordinalOrder(p: ColumnProfile): string[] | undefined {
  if (p.numbers) {
    const numbers = p.numbers;
    return p.values
      .map((v, i) => ({ text: v.text, n: numbers[i]! }))
      .sort((x, y) => x.n - y.n)
      .map((x) => x.text);
  }
  return orderBands(p.values.map((v) => v.text));
}

/** Checks a person's `categories` against the data: no repeats, and every value seen is listed. */
function checkCategories(p: ColumnProfile, kind: ColumnKind, categories: string[]): string[] {
  const repeated = categories.filter((c, i) => categories.indexOf(c) !== i);
  if (repeated.length > 0) {
    throw new GalenError(
      'invalid_input',
      `categories for column "${p.name}" repeat ${listValues([...new Set(repeated)])}`,
    );
  }
  if (kind === 'binary' && categories.length !== 2) {
    throw new GalenError(
      'invalid_input',
      `column "${p.name}" is binary, so its categories must be exactly two values (negative first), not ${categories.length}`,
    );
  }
  const listedNumbers = categories.map(parseNumber);
  const covered = (text: string, i: number): boolean =>
    categories.includes(text) || (p.numbers !== undefined && listedNumbers.includes(p.numbers[i]));
  const uncovered = p.values.filter((v, i) => !covered(v.text, i)).length;
  if (uncovered > 0) {
    // How many, not which: the data's values are shown only as a column's inferred categories.
    throw new GalenError(
      'invalid_input',
      `categories for column "${p.name}" must include every value in the data; ${uncovered} of its ${p.values.length} different values ${uncovered === 1 ? 'is' : 'are'} not included (preview the schema without categories to see the inferred ones)`,
    );
  }
  return [...categories];
}

/**
 * `row 17 (line 18) is not a number`: the first cell of the column that is neither a number nor
 * missing, by its row only. Its value is never named: messages and schemas are seen by keys that
 * may not read rows.
 */
export function firstNonNumber(table: ParsedTable, p: ColumnProfile): string {
  const i = table.rows.findIndex((row) => {
    const cell = row[p.index];
    return cell !== null && cell !== undefined && parseNumber(cell) === undefined;
  });
  return `${rowLabel(table, i)} is not a number`;
}

/**
 * Describes column `p` as `kind` (role `feature`, or `ignored` for `text`), with `categories` when
 * a person gave them; throws when the data cannot be that kind.
 */
export function describeAs(
  table: ParsedTable,
  p: ColumnProfile,
  kind: ColumnKind,
  categories?: string[],
): ColumnSchema {
  const base = {
    name: p.name,
    kind,
    role: 'feature' as const,
    missing: p.missing,
    distinct: p.values.length,
  };
  if (categories !== undefined && (kind === 'numeric' || kind === 'text')) {
    throw new GalenError(
      'invalid_input',
      `column "${p.name}" is ${kind}; categories apply only to binary, categorical and ordinal columns`,
    );
  }
  switch (kind) {
    case 'numeric':
      if (!p.numbers) {
        throw new GalenError(
          'invalid_input',
          `column "${p.name}" is set to numeric but ${firstNonNumber(table, p)}; numeric columns hold only numbers like 12, -0.5 or 1e-3 (or a missing marker)`,
        );
      }
      return { ...base, numeric: numericSummary(p, p.numbers) };
    case 'binary': {
      if (categories === undefined && p.values.length !== 2) {
        throw new GalenError(
          'invalid_input',
          `column "${p.name}" is set to binary but has ${p.values.length} different values; a binary column has exactly two`,
        );
      }
      const order = categories ? checkCategories(p, kind, categories) : orderBinary(p);
      return { ...base, categories: order, ...(p.numbers ? { numeric: numericSummary(p, p.numbers) } : {}) };
    }
    case 'categorical':
      return { ...base, categories: categories ? checkCategories(p, kind, categories) : byFrequency(p) };
    case 'ordinal': {
      const order = categories ? checkCategories(p, kind, categories) : ordinalOrder(p);
      if (!order) {
        throw new GalenError(
          'invalid_input',
          `column "${p.name}" is set to ordinal but its ${p.values.length} values are not bands like [70-80), <30 or 5+; give their order in categories`,
        );
      }
      return { ...base, categories: order };
    }
    case 'text':
      return { ...base, role: 'ignored', reason: 'text columns are not used as features' };
  }
}
