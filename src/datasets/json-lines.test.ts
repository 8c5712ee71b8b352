import { describe, expect, it } from 'vitest';
import { inferSchema, parseJsonLines } from './index.js';
import { invalidInputMessage } from '../../test/helpers/errors.js';
import { capturedLogger, thrown } from '../../test/helpers/log-capture.js';

const jsonl = (text: string): Buffer => Buffer.from(text, 'utf8');

const invalid = invalidInputMessage;

describe('parseJsonLines', () => {
  it('takes the union of keys in first-seen order and writes every value as text', () => {
    const table = parseJsonLines(
      jsonl(
        [
          '{"age": 63, "sex": "M", "smoker": false}',
          '',
          '{"smoker": true, "age": 41.5, "bmi": 1e-7}',
          '   ',
          '{"sex": "F", "age": null}',
        ].join('\r\n'),
      ),
    );
    expect(table).toEqual({
      columns: ['age', 'sex', 'smoker', 'bmi'],
      rows: [
        ['63', 'M', 'false', null],
        ['41.5', null, 'true', '1e-7'],
        [null, 'F', null, null],
      ],
      lines: [1, 3, 5],
    });
  });

  it('keeps strings as they are, except missing markers, and reads a BOM', () => {
    const table = parseJsonLines(
      jsonl('\uFEFF{"a": " x ", "b": "NA", "c": " ? ", "d": "Missing", "e": ""}\n'),
    );
    expect(table.rows).toEqual([[' x ', null, null, 'Missing', null]]);
    expect(parseJsonLines(jsonl('{"a": "NA"}\n'), { missingMarkers: [] }).rows).toEqual([['NA']]);
  });

  it('gives a table the schema inference reads like a CSV', () => {
    const lines = [
      '{"age": 63, "outcome": "no"}',
      '{"age": 70, "outcome": "yes"}',
      '{"age": 55, "outcome": "no"}',
    ];
    const schema = inferSchema(parseJsonLines(jsonl(lines.join('\n'))), { target: 'outcome' });
    expect(schema.columns.map((c) => [c.name, c.kind, c.role, c.categories])).toEqual([
      ['age', 'numeric', 'feature', undefined],
      ['outcome', 'binary', 'target', ['no', 'yes']],
    ]);
  });
});

describe('parseJsonLines refuses bad files with a clear error', () => {
  it('an empty file, or only empty objects', () => {
    expect(invalid(() => parseJsonLines(jsonl('\n \n')))).toMatch(
      /^the JSON-lines file is empty; expected one JSON object per line/,
    );
    expect(invalid(() => parseJsonLines(jsonl('{}\n{}\n')))).toMatch(/^the JSON-lines file has no columns/);
  });

  it('a line that is not JSON, naming the line, the column and why', () => {
    expect(invalid(() => parseJsonLines(jsonl('{"a": 1}\n\n  {a: 2}\n')))).toMatch(
      /^line 3 is not valid JSON: expected a property name in double quotes, or "\}" at column 4; each line must be one JSON object, like \{"age": 63/,
    );
  });

  it('a line that is not JSON: no part of it in the message, nor in the log when the error is logged', () => {
    const err = thrown(() =>
      parseJsonLines(jsonl('{"a": 1}\n{"name": "Jane Roe 555-12-3456", "x": Jane}\n')),
    );
    expect(err.message).toMatch(/^line 2 is not valid JSON: expected a JSON value .* at column 39;/);
    const { logger, text } = capturedLogger();
    logger.error({ err }, 'dataset upload failed');
    expect(text()).toContain('line 2 is not valid JSON');
    expect(text()).not.toMatch(/Jane|Roe|555-12-3456/);
  });

  it('a line that is JSON but not an object, naming the line and what it is', () => {
    expect(invalid(() => parseJsonLines(jsonl('{"a": 1}\n[1, 2]\n')))).toMatch(
      /^line 2 is an array, not a JSON object/,
    );
    expect(invalid(() => parseJsonLines(jsonl('"text"\n')))).toMatch(
      /^line 1 is a string, not a JSON object/,
    );
    expect(invalid(() => parseJsonLines(jsonl('{"a": 1}\nnull\n')))).toMatch(
      /^line 2 is null, not a JSON object/,
    );
  });

  it('a nested object or array, naming the line and key', () => {
    expect(invalid(() => parseJsonLines(jsonl('{"a": 1}\n{"a": 2, "labs": {"na": 140}}\n')))).toBe(
      'line 2: key "labs" holds an object; values must be strings, numbers, booleans or null (flatten nested data into columns first)',
    );
    expect(invalid(() => parseJsonLines(jsonl('{"codes": ["I10"]}\n')))).toMatch(
      /^line 1: key "codes" holds an array/,
    );
  });

  it('an empty key', () => {
    expect(invalid(() => parseJsonLines(jsonl('{"": 1}\n')))).toBe(
      'line 1 has an empty key; every column needs a name',
    );
  });

  it('bytes that are not UTF-8', () => {
    expect(invalid(() => parseJsonLines(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])))).toMatch(
      /^the JSON-lines file is not UTF-8 text \(line 1/,
    );
  });
});
