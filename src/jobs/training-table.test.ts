import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../datasets/index.js';
import { deidentifyTable } from '../deid/index.js';
import { dataUrl } from '../../test/helpers/data.js';
import { deidSummary } from './training-table.js';

describe('the model card line on de-identified training data', () => {
  it('says what each rule did in words, leaves out what stayed as is, and counts rows as a reader would', async () => {
    const table = parseCsv(await readFile(dataUrl('clinical/heart_cleveland.csv')));
    const { report } = deidentifyTable(table.columns, table.rows, {
      columns: { age: 'age', sex: 'keep', chol: 'keep', num: 'keep' },
      quasiIdentifiers: ['age', 'sex'],
      k: 5,
    });
    expect(deidSummary(report)).toBe(
      'age over 89 as 90+; cp removed; trestbps removed; fbs removed; restecg removed; thalach removed; ' +
        'exang removed; oldpeak removed; slope removed; ca removed; thal removed; ' +
        'age generalised to 10-wide bands (level 2); k-anonymity k = 5; 1 row suppressed, 302 kept',
    );
    const dates = deidentifyTable(['admitted'], [['10/23/64 21:09'], ['2019-03-04']], {
      columns: { admitted: 'year' },
    });
    expect(deidSummary(dates.report)).toBe(
      'admitted reduced to the year; admitted: 1 value the rule could not read left empty; 0 rows suppressed, 2 kept',
    );
  });
});
