import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../datasets/index.js';
import { deidentifyTable } from './table-deid.js';
import { dataUrl } from '../../test/helpers/data.js';

const CLEVELAND = dataUrl('clinical/heart_cleveland.csv');

describe('table de-identification with k-anonymity', () => {
  it('generalises and suppresses Cleveland until every (age, sex) group has ≥ 5 rows and 2 outcomes', async () => {
    const table = parseCsv(await readFile(CLEVELAND));
    const { header, rows, report } = deidentifyTable(table.columns, table.rows, {
      columns: { age: 'keep', sex: 'keep', trestbps: 'keep', chol: 'keep', num: 'keep' },
      quasiIdentifiers: ['age', 'sex'],
      k: 5,
      lDiversity: { sensitive: 'num', l: 2 },
    });
    expect(header).toEqual(['age', 'sex', 'trestbps', 'chol', 'num']); // the unnamed columns are removed
    // Checked independently of the report: group the output by its quasi-identifiers.
    const groups = new Map<string, (string | null)[][]>();
    for (const row of rows)
      groups.set(`${row[0]}|${row[1]}`, [...(groups.get(`${row[0]}|${row[1]}`) ?? []), row]);
    const smallest = Math.min(...[...groups.values()].map((g) => g.length));
    const leastDiverse = Math.min(...[...groups.values()].map((g) => new Set(g.map((r) => r[4])).size));
    expect(smallest).toBeGreaterThanOrEqual(5);
    expect(leastDiverse).toBeGreaterThanOrEqual(2);
    expect(report.k).toBe(smallest);
    expect(report.l).toBe(leastDiverse);
    expect(report.generalisation['age']).toMatch(/^(5|10|20)-wide bands \(level [1-3]\)$/); // raw ages are too specific
    expect(rows[0]![0]).toMatch(/^\[\d+-\d+\)$/);
    expect(report.suppressedRows).toBeLessThanOrEqual(Math.floor(0.05 * 303));
    expect(report.rows + report.suppressedRows).toBe(303);
  });

  it('applies column rules: removal, years, 3-digit ZIPs, 90+, pseudonyms and masked text', () => {
    const header = ['mrn', 'admitted', 'zip', 'age', 'note', 'ward'];
    const rows = [
      ['A1', '2019-03-04', '02138', '93', 'call 617-555-0100 or j@x.org', 'cardio'],
      ['A2', '2020-11-30', '03601', '45', 'stable', 'cardio'],
    ];
    const key = Buffer.alloc(16, 1);
    const out = deidentifyTable(
      header,
      rows,
      {
        columns: { mrn: 'pseudonymize', admitted: 'year', zip: 'zip3', age: 'age', note: 'mask' },
      },
      key,
    );
    expect(out.header).toEqual(['mrn', 'admitted', 'zip', 'age', 'note']); // ward: not named, removed
    expect(out.rows[0]!.slice(1)).toEqual(['2019', '021', '90+', 'call [phone] or [email]']);
    expect(out.rows[1]!.slice(1, 3)).toEqual(['2020', '000']); // 036: under 20,000 people
    expect(out.rows[0]![0]).toMatch(/^[0-9a-f]{24}$/);
    expect(deidentifyTable(header, rows, { columns: { mrn: 'pseudonymize' } }, key).rows[0]![0]).toBe(
      out.rows[0]![0],
    );
    expect(() => deidentifyTable(header, rows, { columns: { nope: 'keep' } })).toThrow(/column "nope"/);
  });

  it('generalises a ZIP quasi-identifier a digit at a time, not as a number', () => {
    const header = ['zip', 'dx'];
    const zips = ['02138', '02139', '02141', '02142', '02143', '02144'];
    const rows = zips.map((z, i) => [z, i % 2 ? 'a' : 'b']);
    const { rows: out, report } = deidentifyTable(header, rows, {
      columns: { zip: 'zip3', dx: 'keep' },
      quasiIdentifiers: ['zip'],
      k: 6,
      maxSuppression: 0,
    });
    // zip3 gives "021" for all six: k = 6 with no generalisation.
    expect(out.map((r) => r[0])).toEqual(Array(6).fill('021'));
    expect(report.k).toBe(6);
    const two = deidentifyTable(['zip'], [['021'], ['022'], ['031']], {
      columns: { zip: 'zip3' },
      quasiIdentifiers: ['zip'],
      k: 2,
      maxSuppression: 0,
    });
    // "031" has no partner until two digits go (as numbers, these would have become bands like [20-25)).
    expect(two.rows.map((r) => r[0])).toEqual(['0xx', '0xx', '0xx']);
    expect(two.report.generalisation['zip']).toBe('last 2 digits masked (level 2)');
  });
});

describe('values a rule cannot read', () => {
  it('empties them and counts them per column in the report, so a lost column is not silent', () => {
    // MIMIC-III's ADMITTIME is "M/D/YY H:MM": a two-digit year cannot be reduced to a year.
    const header = ['admitted', 'age', 'ward'];
    const rows = [
      ['10/23/64 21:09', '71', 'a'],
      ['2019-03-04', 'seventy', 'b'],
      ['8/14/26 22:32', '', 'c'],
    ];
    const { rows: out, report } = deidentifyTable(header, rows, {
      columns: { admitted: 'year', age: 'age', ward: 'keep' },
    });
    expect(out.map((r) => r[0])).toEqual([null, '2019', null]);
    expect(out.map((r) => r[1])).toEqual(['71', null, '']); // an empty value was not emptied by the rule
    expect(report.emptied).toEqual({ admitted: 2, age: 1 });
    const clean = deidentifyTable(['admitted'], [['2019-03-04']], { columns: { admitted: 'year' } });
    expect(clean.report.emptied).toEqual({});
  });
});
