/**
 * CSV files into a `ParsedTable` (the only user of `csv-parse`): RFC 4180 quoting, LF/CRLF/CR line
 * ends, a UTF-8 BOM, a required header row, and the delimiter detected from the header.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { GalenError } from '../core/index.js';
import { DEFAULT_MISSING_MARKERS } from './table.js';
import type { ParsedTable } from './table.js';
import { LineCounter, assertUtf8, bomLength, isBlank, isLineBreak } from './text-bytes.js';

export interface CsvOptions {
  /** Cell texts that mean "missing" (compared after trimming); default `DEFAULT_MISSING_MARKERS`. */
  missingMarkers?: readonly string[];
  /** Field delimiter; detected from the header line when omitted (`,`, `;` or tab). */
  delimiter?: string;
}

const CANDIDATE_DELIMITERS = [',', ';', '\t'] as const;
const QUOTE = 0x22;

/**
 * Picks the delimiter from the header line: whichever of `,` `;` tab occurs most often outside
 * double quotes, ties going to the earlier one in that list, and `,` when none occurs (a
 * one-column file). The header is the one line every CSV has, and column names rarely contain a
 * delimiter unquoted, so its counts are the most reliable; a data row may hold decimal commas
 * (`1,5` in a `;` file) or free text.
 */
export function detectDelimiter(bytes: Uint8Array): string {
  let i = bomLength(bytes);
  while (isLineBreak(bytes[i])) i++;
  const counts = new Map<number, number>(CANDIDATE_DELIMITERS.map((d) => [d.charCodeAt(0), 0]));
  let quoted = false;
  for (; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === QUOTE) quoted = !quoted;
    else if (!quoted && isLineBreak(b)) break;
    else if (!quoted && counts.has(b)) counts.set(b, counts.get(b)! + 1);
  }
  let best: string = ',';
  let bestCount = 0;
  for (const d of CANDIDATE_DELIMITERS) {
    const n = counts.get(d.charCodeAt(0))!;
    if (n > bestCount) [best, bestCount] = [d, n];
  }
  return best;
}

/** Number of line breaks inside a value (a quoted value may hold some); CRLF counts once. */
function breaksIn(value: string): number {
  let n = 0;
  for (let i = value.indexOf('\n'); i >= 0; i = value.indexOf('\n', i + 1)) n++;
  for (let i = value.indexOf('\r'); i >= 0; i = value.indexOf('\r', i + 1)) if (value[i + 1] !== '\n') n++;
  return n;
}

function checkDelimiter(delimiter: string): void {
  if (delimiter === '' || /["\r\n]/.test(delimiter)) {
    throw new GalenError(
      'invalid_input',
      `delimiter ${JSON.stringify(delimiter)} cannot be used; give a non-empty text without double quotes or line breaks, such as "," ";" or "\\t"`,
    );
  }
}

function checkHeader(header: readonly string[]): string[] {
  const columns = header.map((name) => name.trim());
  const seen = new Map<string, number>();
  columns.forEach((name, i) => {
    if (name === '') {
      throw new GalenError(
        'invalid_input',
        `column ${i + 1} of the header has no name; every column needs a name (a delimiter at the end of the header line makes an empty last column)`,
      );
    }
    const first = seen.get(name);
    if (first !== undefined) {
      throw new GalenError(
        'invalid_input',
        `column names must be unique, but "${name}" is the name of columns ${first + 1} and ${i + 1}`,
      );
    }
    seen.set(name, i);
  });
  return columns;
}

const CSV_PROBLEMS: Partial<Record<CsvError['code'], string>> = {
  CSV_QUOTE_NOT_CLOSED: 'Quote Not Closed: a quoted value is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'Invalid Closing Quote: a closing quote is followed by other characters',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE:
    'Invalid Closing Quote: a closing quote is followed by other characters',
  INVALID_OPENING_QUOTE: 'Invalid Opening Quote: a quote starts inside a value',
  CSV_MAX_RECORD_SIZE: 'a record is too large',
};

/**
 * What csv-parse found wrong and on which line, in our words: its own messages may quote the
 * field it stopped in (a cell of patient data).
 */
function describeCsvError(err: CsvError): string {
  const lines = (err as CsvError & { lines?: unknown }).lines;
  const where = typeof lines === 'number' ? ` (line ${lines})` : '';
  const what = CSV_PROBLEMS[err.code] ?? err.code;
  return `${what}${where}`;
}

/**
 * Parses a CSV file. The first non-blank line is the header; every later non-blank line (or
 * quoted multi-line record) is a row with exactly as many fields as the header. Unquoted values
 * are trimmed; a value equal to a missing marker after trimming becomes `null`.
 *
 * @throws GalenError `invalid_input` for an empty file, a header without data rows, an empty or
 *   repeated column name, a row with another number of fields, broken quoting, or non-UTF-8 bytes.
 * @example
 * parseCsv(Buffer.from('age;sex\n63;M\n?;F\n'))
 * // → { columns: ['age', 'sex'], rows: [['63', 'M'], [null, 'F']], lines: [2, 3] }
 */
export function parseCsv(bytes: Buffer, options: CsvOptions = {}): ParsedTable {
  if (isBlank(bytes)) {
    throw new GalenError(
      'invalid_input',
      'the CSV file is empty; expected a header row and at least one data row',
    );
  }
  assertUtf8(bytes, 'CSV file');
  const delimiter = options.delimiter ?? detectDelimiter(bytes);
  checkDelimiter(delimiter);
  const missing = new Set(options.missingMarkers ?? DEFAULT_MISSING_MARKERS);

  const lineCounter = new LineCounter(bytes);
  let columns: string[] | undefined;
  const rows: (string | null)[][] = [];
  const lines: number[] = [];
  let previousEndLine = 0;
  const onRecord = (record: string[], context: { bytes: number }): null => {
    // `context.bytes` is the offset just past this record and its line break.
    let end = context.bytes;
    while (end > 0 && isLineBreak(bytes[end - 1])) end--;
    const endLine = lineCounter.lineAt(end - 1);
    // A record on the line after the previous one is one line; only otherwise may a quoted value
    // span lines (blank lines before the record are the other possibility).
    const startLine =
      endLine === previousEndLine + 1 ? endLine : endLine - record.reduce((n, v) => n + breaksIn(v), 0);
    previousEndLine = endLine;
    if (columns === undefined) {
      columns = checkHeader(record);
      return null;
    }
    // A line of only spaces is a blank line, not a row with one empty value.
    if (record.length === 1 && record[0] === '' && columns.length > 1) return null;
    if (record.length !== columns.length) {
      throw new GalenError(
        'invalid_input',
        `row ${rows.length + 1} (line ${startLine}) has ${record.length} fields but the header has ${columns.length} columns; ` +
          `every row needs one value per column (quote values that contain "${delimiter === '\t' ? '\\t' : delimiter}")`,
      );
    }
    rows.push(record.map((v) => (missing.has(v.trim()) ? null : v)));
    lines.push(startLine);
    return null;
  };

  try {
    parse(bytes, {
      delimiter,
      bom: true,
      encoding: 'utf8',
      trim: true,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: onRecord,
    });
  } catch (err) {
    if (err instanceof CsvError) {
      throw new GalenError(
        'invalid_input',
        `the CSV file could not be read: ${describeCsvError(err)}; a value that contains the delimiter, a double quote or a line break must be enclosed in double quotes, with inner quotes doubled ("")`,
        { cause: err },
      );
    }
    throw err;
  }
  if (columns === undefined) {
    throw new GalenError(
      'invalid_input',
      'the CSV file is empty; expected a header row and at least one data row',
    );
  }
  if (rows.length === 0) {
    throw new GalenError(
      'invalid_input',
      `the CSV file has a header row (${columns.length} columns) but no data rows; add at least one row below the header`,
    );
  }
  return { columns, rows, lines };
}

/** A table as CSV text (RFC 4180 quoting; null as an empty field). */
export function formatCsv(header: readonly string[], rows: readonly (readonly (string | null)[])[]): string {
  const field = (v: string | null): string =>
    v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\n') + '\n';
}
