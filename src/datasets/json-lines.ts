/** JSON-lines files (one JSON object per line) into a `ParsedTable`. */
import { GalenError, jsonSyntaxProblem } from '../core/index.js';
import { DEFAULT_MISSING_MARKERS } from './table.js';
import type { ParsedTable } from './table.js';
import { assertUtf8, bomLength, isBlank } from './text-bytes.js';

export interface JsonLinesOptions {
  /** String values that mean "missing" (compared after trimming); default `DEFAULT_MISSING_MARKERS`. */
  missingMarkers?: readonly string[];
}

const EXAMPLE = '{"age": 63, "sex": "M", "smoker": false}';

function cellOf(value: unknown, line: number, key: string, missing: ReadonlySet<string>): string | null {
  switch (typeof value) {
    case 'string':
      return missing.has(value.trim()) ? null : value;
    case 'number':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return null;
    case 'object':
      if (value === null) return null;
      throw new GalenError(
        'invalid_input',
        `line ${line}: key "${key}" holds ${Array.isArray(value) ? 'an array' : 'an object'}; values must be strings, numbers, booleans or null (flatten nested data into columns first)`,
      );
    case 'bigint':
    case 'function':
    case 'symbol':
      throw new GalenError('invalid_input', `line ${line}: key "${key}" holds a value JSON does not have`);
  }
}

/**
 * Parses JSON lines: every non-blank line is one JSON object, and the columns are the union of
 * their keys in first-seen order. Strings are kept as they are (a missing marker becomes `null`),
 * numbers become their decimal text, booleans `true`/`false`, and `null` or an absent key `null`.
 *
 * @throws GalenError `invalid_input` for an empty file, a line that is not a JSON object, a nested
 *   object or array value, an empty key, or non-UTF-8 bytes; each names its line.
 * @example
 * parseJsonLines(Buffer.from('{"age": 63, "sex": "M"}\n{"age": null, "smoker": true}\n'))
 * // → { columns: ['age', 'sex', 'smoker'], rows: [['63', 'M', null], [null, null, 'true']], lines: [1, 2] }
 */
export function parseJsonLines(bytes: Buffer, options: JsonLinesOptions = {}): ParsedTable {
  if (isBlank(bytes)) {
    throw new GalenError(
      'invalid_input',
      `the JSON-lines file is empty; expected one JSON object per line, like ${EXAMPLE}`,
    );
  }
  assertUtf8(bytes, 'JSON-lines file');
  const missing = new Set(options.missingMarkers ?? DEFAULT_MISSING_MARKERS);
  const text = bytes.toString('utf8', bomLength(bytes));
  const columnIndex = new Map<string, number>();
  const records: Map<number, string | null>[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const source = raw.trim();
    if (source === '') return;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch {
      // Not V8's message, nor its error as the cause (a logged cause is printed): V8 quotes the
      // text it could not parse, a row of patient data. Where it stops parsing is enough.
      const found = jsonSyntaxProblem(source);
      const column = found && found.column + raw.length - raw.trimStart().length;
      throw new GalenError(
        'invalid_input',
        `line ${line} is not valid JSON${found ? `: ${found.problem} at column ${column}` : ''}; each line must be one JSON object, like ${EXAMPLE}`,
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new GalenError(
        'invalid_input',
        `line ${line} is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}, not a JSON object; each line must be one object, like ${EXAMPLE}`,
      );
    }
    const record = new Map<number, string | null>();
    for (const [key, v] of Object.entries(value)) {
      if (key.trim() === '')
        throw new GalenError('invalid_input', `line ${line} has an empty key; every column needs a name`);
      let index = columnIndex.get(key);
      if (index === undefined) {
        index = columnIndex.size;
        columnIndex.set(key, index);
      }
      record.set(index, cellOf(v, line, key, missing));
    }
    records.push(record);
    lines.push(line);
  });
  if (columnIndex.size === 0) {
    throw new GalenError(
      'invalid_input',
      `the JSON-lines file has no columns: every object is empty; expected objects like ${EXAMPLE}`,
    );
  }
  const width = columnIndex.size;
  const rows = records.map((record) => Array.from({ length: width }, (_, i) => record.get(i) ?? null));
  return { columns: [...columnIndex.keys()], rows, lines };
}
