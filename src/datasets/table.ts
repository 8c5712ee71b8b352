/**
 * The one table shape every dataset format is parsed into, the missing-value markers, and how
 * errors name a row (as a person counts it, with the file line where it starts).
 */

/** A parsed dataset: named columns and rows of text cells, `null` where a value is missing. */
export interface ParsedTable {
  columns: string[];
  rows: (string | null)[][];
  /**
   * For each row, the 1-based line of the source file where it starts (a quoted CSV value may
   * span lines, and blank lines are skipped). Absent for a table that was not read from a file.
   */
  lines?: number[];
}

/**
 * Cell texts read as "missing" by default, compared after trimming surrounding whitespace and
 * case-sensitively. `Missing`, `unknown` and the like are deliberately not here: in many clinical
 * extracts they are a category of their own.
 */
export const DEFAULT_MISSING_MARKERS: readonly string[] = Object.freeze([
  '',
  '?',
  'NA',
  'N/A',
  'NaN',
  'nan',
  'null',
  'NULL',
  'None',
  'none',
  '-',
]);

/** `"row 17 (line 18)"`: row `index` (0-based) as a person counts it, and its line when known. */
export function rowLabel(table: Pick<ParsedTable, 'lines'>, index: number): string {
  const line = table.lines?.[index];
  return line === undefined ? `row ${index + 1}` : `row ${index + 1} (line ${line})`;
}

/** Up to `max` values, quoted and comma-separated, with "… and N more" past that. */
export function listValues(values: readonly string[], max = 10): string {
  const shown = values.slice(0, max).map((v) => JSON.stringify(v));
  return values.length > max ? `${shown.join(', ')} … and ${values.length - max} more` : shown.join(', ');
}
