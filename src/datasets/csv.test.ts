import { describe, expect, it } from 'vitest';
import { DEFAULT_MISSING_MARKERS, detectDelimiter, parseCsv } from './index.js';
import { invalidInputMessage } from '../../test/helpers/errors.js';

const csv = (text: string): Buffer => Buffer.from(text, 'utf8');

const invalid = invalidInputMessage;

describe('parseCsv', () => {
  it('reads a header and rows, trimming unquoted values and keeping quoted whitespace', () => {
    expect(parseCsv(csv('age, sex ,note\n 63 ,M," left  "\n41,F,x\n'))).toEqual({
      columns: ['age', 'sex', 'note'],
      rows: [
        ['63', 'M', ' left  '],
        ['41', 'F', 'x'],
      ],
      lines: [2, 3],
    });
  });

  it('reads RFC 4180 quoting: delimiters, doubled quotes and line breaks inside quoted values', () => {
    const table = parseCsv(
      csv('id,comment\n1,"chest pain, radiating"\n2,"said ""no"""\n3,"two\nlines"\n4,end\n'),
    );
    expect(table.rows).toEqual([
      ['1', 'chest pain, radiating'],
      ['2', 'said "no"'],
      ['3', 'two\nlines'],
      ['4', 'end'],
    ]);
    // Row 3 starts on line 4 and spans line 5, so row 4 is on line 6.
    expect(table.lines).toEqual([2, 3, 4, 6]);
  });

  it('reads CRLF line ends and a UTF-8 byte order mark, keeping non-ASCII text', () => {
    const table = parseCsv(csv('\uFEFFpatient,température\r\nJosé,37.5\r\n"Zoë\r\nB.",38.1\r\n'));
    expect(table.columns).toEqual(['patient', 'température']);
    expect(table.rows).toEqual([
      ['José', '37.5'],
      ['Zoë\r\nB.', '38.1'],
    ]);
    expect(table.lines).toEqual([2, 3]);
  });

  it('skips blank lines and counts them in line numbers', () => {
    const table = parseCsv(csv('\na,b\n\n1,2\n   \n\n3,4\n\n'));
    expect(table.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(table.lines).toEqual([4, 7]);
  });

  it('reads a file without a final line break, and a one-column file', () => {
    expect(parseCsv(csv('a,b\n1,2')).rows).toEqual([['1', '2']]);
    expect(parseCsv(csv('age\n63\n?\n41'))).toEqual({
      columns: ['age'],
      rows: [['63'], [null], ['41']],
      lines: [2, 3, 4],
    });
  });

  it('turns every default missing marker into null, after trimming and case-sensitively', () => {
    const markers = DEFAULT_MISSING_MARKERS.map((m) => `"${m}"`).join('\n');
    const table = parseCsv(csv(`value\n${markers}\n ? \nna\nMissing\n"  NA "\n`));
    expect(table.rows.map((r) => r[0])).toEqual([
      ...DEFAULT_MISSING_MARKERS.map(() => null),
      null,
      'na',
      'Missing',
      null,
    ]);
    expect(DEFAULT_MISSING_MARKERS).toEqual([
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
  });

  it('replaces the missing markers when given', () => {
    const table = parseCsv(csv('a,b\n?,\nunknown,-\n'), { missingMarkers: ['unknown'] });
    expect(table.rows).toEqual([
      ['?', ''],
      [null, '-'],
    ]);
  });

  it('detects ";" and tab delimiters from the header, keeping decimal commas as text', () => {
    expect(parseCsv(csv('age;weight\n63;72,5\n')).rows).toEqual([['63', '72,5']]);
    expect(parseCsv(csv('age\tweight\n63\t72.5\n')).rows).toEqual([['63', '72.5']]);
  });

  it('uses the delimiter it is given', () => {
    expect(parseCsv(csv('a|b\n1|2,5\n'), { delimiter: '|' }).rows).toEqual([['1', '2,5']]);
    expect(invalid(() => parseCsv(csv('a\n1\n'), { delimiter: '"' }))).toMatch(
      /delimiter "\\"" cannot be used/,
    );
  });

  it('keeps a stray quote inside an unquoted value as text', () => {
    expect(parseCsv(csv('height\n5\'10"\n')).rows).toEqual([['5\'10"']]);
  });
});

describe('parseCsv refuses bad files with a clear error', () => {
  it('an empty or blank file', () => {
    expect(invalid(() => parseCsv(Buffer.alloc(0)))).toBe(
      'the CSV file is empty; expected a header row and at least one data row',
    );
    expect(invalid(() => parseCsv(csv('\uFEFF \r\n\n')))).toMatch(/^the CSV file is empty/);
  });

  it('a header without data rows', () => {
    expect(invalid(() => parseCsv(csv('age,sex\n\n')))).toBe(
      'the CSV file has a header row (2 columns) but no data rows; add at least one row below the header',
    );
  });

  it('an empty or repeated column name', () => {
    expect(invalid(() => parseCsv(csv('age,,sex\n1,2,3\n')))).toMatch(/^column 2 of the header has no name/);
    expect(invalid(() => parseCsv(csv('age,sex,\n1,2,\n')))).toMatch(/^column 3 of the header has no name/);
    expect(invalid(() => parseCsv(csv('age,sex, age\n1,2,3\n')))).toBe(
      'column names must be unique, but "age" is the name of columns 1 and 3',
    );
  });

  it('a row with another number of fields, naming the row, its line and both counts', () => {
    expect(invalid(() => parseCsv(csv('age,sex\n63,M\n\n41,F,extra\n')))).toBe(
      'row 2 (line 4) has 3 fields but the header has 2 columns; every row needs one value per column (quote values that contain ",")',
    );
    expect(invalid(() => parseCsv(csv('age;sex\n63\n')))).toMatch(
      /^row 1 \(line 2\) has 1 fields but the header has 2 columns;.*contain ";"/,
    );
  });

  it('bytes that are not UTF-8, naming the line', () => {
    const latin1 = Buffer.concat([
      csv('name,age\nJose,63\n'),
      Buffer.from([0x4a, 0x6f, 0x73, 0xe9]),
      csv(',41\n'),
    ]);
    expect(invalid(() => parseCsv(latin1))).toMatch(
      /^the CSV file is not UTF-8 text \(line 3 has bytes that are not UTF-8\); save it as UTF-8/,
    );
  });

  it('a quote that is never closed', () => {
    expect(invalid(() => parseCsv(csv('a,b\n1,"open\n2,3\n')))).toMatch(
      /^the CSV file could not be read: Quote Not Closed: a quoted value is never closed \(line \d+\); .*must be enclosed in double quotes/,
    );
    // csv-parse's own message quotes the cell it stopped in; ours names only the line.
    const message = invalid(() => parseCsv(csv('a,b\n1,"Jane Doe"x\n')));
    expect(message).toMatch(/^the CSV file could not be read: Invalid Closing Quote: .*\(line 2\)/);
    expect(message).not.toMatch(/Jane|Doe|"x"/);
  });
});

describe('detectDelimiter', () => {
  it('counts delimiters outside quotes on the header line only', () => {
    expect(detectDelimiter(csv('"a;b";"c;d",e;f\n1,2,3,4,5\n'))).toBe(';');
    expect(detectDelimiter(csv('"a,b"\tc\n'))).toBe('\t');
    expect(detectDelimiter(csv('\n\nage\n1,5\n'))).toBe(',');
    expect(detectDelimiter(csv('a,b;c\n'))).toBe(',');
  });
});
