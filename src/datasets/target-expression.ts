/**
 * A target given as a comparison on a column, such as `num > 0` (Cleveland's "any disease") or
 * `outcome == died`: the binary target is derived from the column, which then must not be a
 * feature (it would leak the answer).
 */
import { GalenError } from '../core/index.js';
import type { ParsedTable } from './table.js';
import { parseNumber } from './values.js';

type Operator = '>=' | '<=' | '==' | '!=' | '>' | '<' | '=';

export interface TargetExpression {
  /** The derived column's name: the expression as written, normalised (`num > 0`). */
  name: string;
  column: string;
  operator: Operator;
  value: string;
}

const PATTERN = /^\s*(.+?)\s*(>=|<=|==|!=|>|<|=)\s*(.+?)\s*$/;

/** Whether `text` has the form of a comparison (it may still be a column name; see below). */
export function looksLikeTargetExpression(text: string): boolean {
  return PATTERN.test(text);
}

/**
 * Reads `<column> <operator> <value>` (operators >, >=, <, <=, ==, =, !=) when `text` is not
 * itself one of `columns`; undefined otherwise.
 * @example parseTargetExpression('num > 0', ['age', 'num']) // { column: 'num', operator: '>', value: '0', name: 'num > 0' }
 */
export function parseTargetExpression(
  text: string,
  columns: readonly string[],
): TargetExpression | undefined {
  if (columns.includes(text)) return undefined;
  const match = PATTERN.exec(text);
  if (!match) return undefined;
  const [, column, operator, value] = match as unknown as [string, string, Operator, string];
  if (!columns.includes(column)) {
    throw new GalenError(
      'invalid_input',
      `target "${text}" compares column "${column}", which is not in the data; its columns are ${columns.join(', ')}`,
    );
  }
  if (['>', '>=', '<', '<='].includes(operator) && parseNumber(value) === undefined) {
    throw new GalenError(
      'invalid_input',
      `target "${text}": ${operator} compares numbers, and "${value}" is not a number (use == or != for a category)`,
    );
  }
  return { name: `${column} ${operator} ${value}`, column, operator, value };
}

/**
 * Appends the derived target column: "true" / "false" per row, missing where the source cell is
 * missing. A numeric comparison on a cell that is not a number is refused, naming its row.
 */
export function deriveTarget(table: ParsedTable, expression: TargetExpression): ParsedTable {
  const index = table.columns.indexOf(expression.column);
  const numeric = parseNumber(expression.value);
  const ordering = ['>', '>=', '<', '<='].includes(expression.operator);
  const rows = table.rows.map((row, r) => {
    const cell = row[index] ?? null;
    if (cell === null) return [...row, null];
    let holds: boolean;
    const n = parseNumber(cell);
    if (ordering) {
      if (n === undefined) {
        const line = table.lines?.[r];
        throw new GalenError(
          'invalid_input',
          `target "${expression.name}": column "${expression.column}" is not a number in row ${r + 1}${line === undefined ? '' : ` (line ${line})`}; ${expression.operator} compares numbers (use == or != for a category)`,
        );
      }
      const v = numeric!;
      holds =
        expression.operator === '>'
          ? n > v
          : expression.operator === '>='
            ? n >= v
            : expression.operator === '<'
              ? n < v
              : n <= v;
    } else {
      // Numbers compare by value ("1" == "1.0"), anything else as text.
      const equal = n !== undefined && numeric !== undefined ? n === numeric : cell === expression.value;
      holds = expression.operator === '!=' ? !equal : equal;
    }
    return [...row, holds ? 'true' : 'false'];
  });
  return {
    columns: [...table.columns, expression.name],
    rows,
    ...(table.lines && { lines: table.lines }),
  };
}
