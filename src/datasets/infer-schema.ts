/**
 * Schema inference: each column's kind and role from its values, then a person's overrides and
 * the target, both checked against the data.
 */
import { GalenError } from '../core/index.js';
import { orderBands } from './bands.js';
import { describeAs, firstNonNumber, profileColumn } from './column-profile.js';
import type { ColumnProfile } from './column-profile.js';
import type {
  ColumnKind,
  ColumnOverride,
  ColumnSchema,
  DatasetSchema,
  InferSchemaOptions,
} from './schema-types.js';
import { listValues } from './table.js';
import type { ParsedTable } from './table.js';
import { isDateLike, parseNumber } from './values.js';

/**
 * The most different values a categorical or ordinal column may list. Categories are shown to
 * every `data:read` key (the stored schema, the preview), so a column with more values is not a
 * category but an identifier or free text, and an override cannot make it one.
 */
export const DEFAULT_MAX_CATEGORIES = 50;
/** Fewer rows than this prove nothing about a column being an identifier. */
const MIN_ROWS_FOR_IDENTIFIER = 20;

const ignored = (column: ColumnSchema, reason: string): ColumnSchema => ({
  ...column,
  role: 'ignored',
  reason,
});

/** Whether a column of numbers looks like a row number or identifier: different consecutive integers. */
function isRunOfIntegers(p: ColumnProfile, numbers: number[]): boolean {
  if (p.present < MIN_ROWS_FOR_IDENTIFIER || p.values.length !== p.present) return false;
  let min = Infinity;
  let max = -Infinity;
  for (const n of numbers) {
    if (!Number.isInteger(n)) return false;
    min = Math.min(min, n);
    max = Math.max(max, n);
  }
  return max - min + 1 === p.present;
}

/** Share of non-numbers at or below which a column is "numbers with a few bad values". */
const STRAY_TEXT_SHARE = 0.05;

/**
 * A warning for a column that is not numeric only because of a few non-numbers (a typo, `<5`, a
 * marker this file uses for missing), naming the row of the first one (never its value: the
 * schema is shown to every `data:read` key), so a person can fix them.
 */
function strayTextWarning(table: ParsedTable, p: ColumnProfile): string | undefined {
  let texts = 0;
  for (const v of p.values) if (parseNumber(v.text) === undefined) texts += v.count;
  if (texts === p.present || texts > p.present * STRAY_TEXT_SHARE) return undefined;
  const share = `${texts} of ${p.present} values ${texts === 1 ? 'is not a number' : 'are not numbers'}`;
  return `mostly numbers, but ${firstNonNumber(table, p)} (${share}); fix those values or add them to the missing markers to make the column numeric`;
}

/**
 * The kind and role the values of one column suggest, with a warning when the data looks wrong. A
 * column of numbers with a few stray texts is probably bad data, not categories: it is described
 * as text (ignored, listing no values, so a stray cell is never shown as a category).
 */
function inferColumn(table: ParsedTable, p: ColumnProfile, maxCategories: number): ColumnSchema {
  const column = inferKind(table, p, maxCategories);
  // Bands such as `0, 1, 2, 5+` are meant to mix numbers and text.
  if (p.numbers || column.kind === 'ordinal') return column;
  const warning = strayTextWarning(table, p);
  if (warning === undefined) return column;
  const text = ignored(describeAs(table, p, 'text'), 'mostly numbers with a few non-numbers (see warning)');
  return { ...text, warning, mostlyNumbers: true };
}

/** Whether every value of a column differs, over enough rows to say so: an identifier or free text. */
const isIdentifierLike = (p: ColumnProfile): boolean =>
  p.values.length === p.present && p.present >= MIN_ROWS_FOR_IDENTIFIER;

/** The kind and role the values of one column suggest. */
function inferKind(table: ParsedTable, p: ColumnProfile, maxCategories: number): ColumnSchema {
  const texts = p.values.map((v) => v.text);
  if (p.present === 0) return ignored(describeAs(table, p, 'text'), 'every value is missing');
  if (p.values.length === 1) {
    const only = describeAs(table, p, p.numbers ? 'numeric' : 'categorical');
    return ignored(only, 'every value is the same');
  }
  if (p.numbers) {
    // Only 0/1 is a flag: other pairs of numbers are measurements that happen to take two values
    // here (a new row may hold a third), and a person can still set them binary.
    if (p.values.length === 2 && p.numbers.every((n) => n === 0 || n === 1)) {
      return describeAs(table, p, 'binary');
    }
    const numeric = describeAs(table, p, 'numeric');
    return isRunOfIntegers(p, p.numbers)
      ? ignored(
          numeric,
          'every value is a different integer, in a consecutive run: a row number or identifier',
        )
      : numeric;
  }
  if (texts.every(isDateLike)) {
    return ignored(
      describeAs(table, p, 'text'),
      'dates are not features; derive a number (such as days between two dates) first',
    );
  }
  if (p.values.length === 2) return describeAs(table, p, 'binary');
  if (p.values.length <= maxCategories && orderBands(texts)) return describeAs(table, p, 'ordinal');
  if (isIdentifierLike(p)) {
    return ignored(describeAs(table, p, 'text'), 'every value is different: an identifier or free text');
  }
  if (p.values.length <= maxCategories) return describeAs(table, p, 'categorical');
  return ignored(
    describeAs(table, p, 'text'),
    `${p.values.length} different values, more than the ${maxCategories} a categorical column may have`,
  );
}

/**
 * Refuses to describe a column as categories when listing them would list rows: every value
 * differs (names, record numbers), or there are more than `maxCategories`. Checked before the
 * person's categories are compared with the data, so that comparison cannot probe such a column.
 */
function checkCategoryCap(
  p: ColumnProfile,
  kind: ColumnKind,
  override: ColumnOverride,
  maxCategories: number,
): void {
  if (kind !== 'categorical' && kind !== 'ordinal' && kind !== 'binary') return;
  if (kind !== 'binary' && isIdentifierLike(p)) {
    throw new GalenError(
      'invalid_input',
      `column "${p.name}" cannot be ${kind}: every value is different (${p.present} rows), so it is an identifier or free text; a ${kind} column needs values that repeat (leave it ignored, or derive a feature from it first)`,
    );
  }
  if (kind !== 'binary' && p.values.length > maxCategories) {
    throw new GalenError(
      'invalid_input',
      `column "${p.name}" has ${p.values.length} different values; a ${kind} column may have at most ${maxCategories} (leave it ignored, make it numeric if it holds numbers, or group its values first)`,
    );
  }
  const given = override.categories?.length ?? 0;
  if (given > maxCategories) {
    throw new GalenError(
      'invalid_input',
      `categories for column "${p.name}" list ${given} values; at most ${maxCategories} are allowed`,
    );
  }
}

/**
 * A person's override replaces inference's decision: a new kind or categories describe the column
 * afresh (as a feature unless the kind is `text`), and a role is taken as given.
 */
function applyOverride(
  table: ParsedTable,
  p: ColumnProfile,
  inferred: ColumnSchema,
  override: ColumnOverride,
  maxCategories: number,
): ColumnSchema {
  let column = inferred;
  if (override.kind !== undefined || override.categories !== undefined) {
    const kind = override.kind ?? (inferred.mostlyNumbers ? 'categorical' : inferred.kind);
    checkCategoryCap(p, kind, override, maxCategories);
    column = describeAs(table, p, kind, override.categories);
  }
  if (override.role === 'ignored') return ignored(column, 'ignored by an override');
  if (override.role === 'feature') {
    if (column.kind === 'text') {
      throw new GalenError(
        'invalid_input',
        `column "${p.name}" is text, which cannot be a feature; set its kind to numeric, binary, categorical or ordinal too`,
      );
    }
    const { reason: _reason, ...rest } = column;
    return { ...rest, role: 'feature' };
  }
  return column;
}

function checkTarget(column: ColumnSchema, rows: number): ColumnSchema {
  const name = column.name;
  if (column.distinct === 0) {
    throw new GalenError(
      'invalid_input',
      `target "${name}" has no values: it is missing in all ${rows} rows`,
    );
  }
  if (column.distinct === 1) {
    throw new GalenError(
      'invalid_input',
      `target "${name}" has only one class/value in all ${rows - column.missing} rows that have one; a target needs at least two`,
    );
  }
  if (column.kind === 'text') {
    throw new GalenError(
      'invalid_input',
      `target "${name}" cannot be predicted as it stands (${column.reason ?? 'text'}); a target must be numeric, binary, categorical or ordinal (override its kind if it is one of those)`,
    );
  }
  const { reason: _reason, ...rest } = column;
  return { ...rest, role: 'target' };
}

/**
 * Infers each column's kind and role, then applies `overrides` and marks the `target`.
 *
 * Kinds, in order of precedence: no values → `text` (ignored); numbers only → `binary` when they
 * are 0 and 1, else `numeric` (ignored when they are a run of different consecutive integers, like
 * a row number); dates → `text` (ignored); two values → `binary`; bands like `[70-80)` (up to
 * `maxCategories` values) → `ordinal`; otherwise `categorical` up to `maxCategories` different
 * values, else `text` (ignored). A column with a single value is ignored, as is text whose every
 * value differs (from 20 rows on). A column of numbers with a few (≤ 5 %) non-numbers is `text`
 * (ignored) with a `warning` naming the row of the first. An override may not make a column
 * categorical or ordinal when its every value differs or it has more than `maxCategories` values
 * (default 50). No message or reason holds a cell's value: they name rows, lines and columns.
 *
 * @throws GalenError `invalid_input` for an unknown target or override column, a target without
 *   two different values, or an override the data contradicts.
 * @example
 * inferSchema(parseCsv(bytes), { target: 'readmitted', overrides: { age: { kind: 'ordinal' } } })
 */
export function inferSchema(table: ParsedTable, options: InferSchemaOptions = {}): DatasetSchema {
  const maxCategories = options.maxCategories ?? DEFAULT_MAX_CATEGORIES;
  if (!Number.isInteger(maxCategories) || maxCategories < 2) {
    throw new GalenError(
      'invalid_input',
      `maxCategories must be an integer of at least 2, not ${maxCategories}`,
    );
  }
  const known = (name: string, what: string): number => {
    const index = table.columns.indexOf(name);
    if (index < 0) {
      throw new GalenError(
        'invalid_input',
        `${what} "${name}" is not a column of this dataset; its columns are ${listValues(table.columns, 50)}`,
      );
    }
    return index;
  };
  const targetIndex = options.target === undefined ? -1 : known(options.target, 'target');
  const overrides = Object.entries(options.overrides ?? {});
  for (const [name] of overrides) known(name, 'override column');
  if (targetIndex >= 0 && overrides.some(([name, o]) => name === options.target && o.role !== undefined)) {
    throw new GalenError(
      'invalid_input',
      `column "${options.target}" is the target; an override may change its kind or categories but not its role`,
    );
  }

  const byName = new Map(overrides);
  const columns = table.columns.map((name, index) => {
    const profile = profileColumn(table, index);
    const override = byName.get(name);
    let column = inferColumn(table, profile, maxCategories);
    if (override) column = applyOverride(table, profile, column, override, maxCategories);
    return index === targetIndex ? checkTarget(column, table.rows.length) : column;
  });
  const schema: DatasetSchema = { rows: table.rows.length, columns };
  if (targetIndex >= 0) {
    schema.target = table.columns[targetIndex]!;
    schema.targetMissing = columns[targetIndex]!.missing;
  }
  return schema;
}
