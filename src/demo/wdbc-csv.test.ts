import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { WDBC_FEATURE_NAMES, parseWdbcCsv, readWdbcCsv } from './index.js';

const header = [...WDBC_FEATURE_NAMES, 'diagnosis'].join(',');
const row = (diagnosis: string, first = '17.99'): string =>
  [first, ...Array.from({ length: 29 }, (_, j) => String(j / 10)), diagnosis].join(',');

describe('parseWdbcCsv', () => {
  it('parses the bundled dataset: 569 rows, 30 features, 212 malignant', async () => {
    const data = parseWdbcCsv(await readWdbcCsv());
    expect(data.featureNames).toEqual(WDBC_FEATURE_NAMES);
    expect(data.rows).toHaveLength(569);
    expect(data.rows.every((r) => r.length === 30)).toBe(true);
    expect(data.labels.filter((y) => y === 1)).toHaveLength(212);
    expect(data.rows[0]?.slice(0, 4)).toEqual([17.99, 10.38, 122.8, 1001.0]);
    expect(data.labels[0]).toBe(1);
  });

  it('accepts LF or CRLF, a BOM and blank lines', () => {
    const data = parseWdbcCsv(`\uFEFF${header}\r\n${row('benign')}\r\n\n${row('malignant', '1e1')}\n`);
    expect(data.labels).toEqual([0, 1]);
    expect(data.rows[1]?.[0]).toBe(10);
  });

  it.each([
    [
      'a renamed column',
      `${header.replace('mean_area', 'area')}\n${row('benign')}`,
      /header column 4 is "area"; expected "mean_area"/,
    ],
    ['an extra column', `${header},extra\n${row('benign')}`, /header column 32 is "extra"; expected null/],
    ['a short row', `${header}\n${row('benign')}\n1,2,benign`, /line 3 has 3 fields; the header has 31/],
    [
      'an empty value',
      `${header}\n${row('benign', '')}`,
      /line 2, column "mean_radius" is ""; expected a decimal number/,
    ],
    ['a non-number', `${header}\n${row('benign', 'NaN')}`, /column "mean_radius" is "NaN"/],
    [
      'an unknown label',
      `${header}\n${row('M')}`,
      /column "diagnosis" is "M"; expected "benign" or "malignant"/,
    ],
    ['a prototype key as label', `${header}\n${row('constructor')}`, /column "diagnosis" is "constructor"/],
    ['no data rows', `${header}\n`, /no data rows/],
  ])('rejects %s with a message naming the place', (_label, text, message) => {
    expect(() => parseWdbcCsv(text)).toThrow(GalenError);
    expect(() => parseWdbcCsv(text)).toThrow(message);
  });
});
