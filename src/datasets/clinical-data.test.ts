/**
 * Parsing and schema inference on the real clinical files in /work/shared/data/clinical/. Every
 * count and order asserted here was checked against the files independently (with Python's csv).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { DEFAULT_MISSING_MARKERS, inferSchema, parseCsv } from './index.js';
import type { ColumnSchema, DatasetSchema } from './index.js';

const read = (file: string): Buffer =>
  readFileSync(new URL(`../../../shared/data/clinical/${file}`, import.meta.url));

const column = (schema: DatasetSchema, name: string): ColumnSchema => {
  const found = schema.columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column ${name}`);
  return found;
};

/** Column names by kind and role, in file order. */
const summary = (schema: DatasetSchema): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const c of schema.columns) (out[`${c.kind}/${c.role}`] ??= []).push(c.name);
  return out;
};

describe('heart_cleveland.csv (UCI Cleveland heart disease)', () => {
  const table = parseCsv(read('heart_cleveland.csv'));
  const schema = inferSchema(table, { target: 'num' });

  it('reads 303 rows of 14 columns, "?" as missing, with each row on its line', () => {
    expect(table.columns).toEqual([
      'age',
      'sex',
      'cp',
      'trestbps',
      'chol',
      'fbs',
      'restecg',
      'thalach',
      'exang',
      'oldpeak',
      'slope',
      'ca',
      'thal',
      'num',
    ]);
    expect(table.rows).toHaveLength(303);
    expect(table.lines![302]).toBe(304);
    const ca = table.columns.indexOf('ca');
    const thal = table.columns.indexOf('thal');
    const missingAt = (i: number): number[] => table.rows.flatMap((r, k) => (r[i] === null ? [k + 1] : []));
    expect(missingAt(ca)).toEqual([167, 193, 288, 303]);
    expect(missingAt(thal)).toEqual([88, 267]);
    expect(table.rows[87]).toEqual([
      '53.0',
      '0.0',
      '3.0',
      '128.0',
      '216.0',
      '0.0',
      '2.0',
      '115.0',
      '0.0',
      '0.0',
      '1.0',
      '0.0',
      null,
      '0',
    ]);
  });

  it('infers numeric, 0/1 binary, and the 0–4 target as numeric', () => {
    expect(summary(schema)).toEqual({
      'numeric/feature': [
        'age',
        'cp',
        'trestbps',
        'chol',
        'restecg',
        'thalach',
        'oldpeak',
        'slope',
        'ca',
        'thal',
      ],
      'binary/feature': ['sex', 'fbs', 'exang'],
      'numeric/target': ['num'],
    });
    expect(column(schema, 'sex')).toMatchObject({ categories: ['0.0', '1.0'], distinct: 2 });
    expect(column(schema, 'ca')).toMatchObject({ missing: 4, distinct: 4, numeric: { min: 0, max: 3 } });
    expect(column(schema, 'thal')).toMatchObject({ missing: 2, distinct: 3, numeric: { min: 3, max: 7 } });
    expect(column(schema, 'num')).toMatchObject({ distinct: 5, missing: 0, numeric: { min: 0, max: 4 } });
    expect(column(schema, 'age').numeric!.mean).toBeCloseTo(54.438944, 5);
    expect(column(schema, 'age').numeric!.std).toBeCloseTo(9.023735, 5);
    expect(schema).toMatchObject({ rows: 303, target: 'num', targetMissing: 0 });
  });

  it('takes overrides: thal as a category (by frequency), ca ignored', () => {
    const s = inferSchema(table, {
      target: 'num',
      overrides: { thal: { kind: 'categorical' }, ca: { role: 'ignored' } },
    });
    expect(column(s, 'thal')).toMatchObject({
      kind: 'categorical',
      role: 'feature',
      categories: ['3.0', '7.0', '6.0'],
    });
    expect(column(s, 'ca')).toMatchObject({ kind: 'numeric', role: 'ignored' });
  });
});

describe('hospital_readmissions.csv (25,000 diabetic encounters, CRLF)', () => {
  const bytes = read('hospital_readmissions.csv');
  const table = parseCsv(bytes);
  const schema = inferSchema(table, { target: 'readmitted' });

  // Parsing takes ~200 ms on a 2-core machine (measured, not asserted: speed lives in benchmarks).
  it('parses all 25,000 rows, each with its line in the file', () => {
    expect(table.rows).toHaveLength(25_000);
    expect(table.lines![24_999]).toBe(25_001);
  });

  it('reads age bands as ordinal in band order, yes/no as binary, the rest numeric or categorical', () => {
    expect(summary(schema)).toEqual({
      'ordinal/feature': ['age'],
      'numeric/feature': [
        'time_in_hospital',
        'n_lab_procedures',
        'n_procedures',
        'n_medications',
        'n_outpatient',
        'n_inpatient',
        'n_emergency',
      ],
      'categorical/feature': ['medical_specialty', 'diag_1', 'diag_2', 'diag_3', 'glucose_test', 'A1Ctest'],
      'binary/feature': ['change', 'diabetes_med'],
      'binary/target': ['readmitted'],
    });
    expect(column(schema, 'age').categories).toEqual([
      '[40-50)',
      '[50-60)',
      '[60-70)',
      '[70-80)',
      '[80-90)',
      '[90-100)',
    ]);
    expect(column(schema, 'readmitted')).toEqual({
      name: 'readmitted',
      kind: 'binary',
      role: 'target',
      missing: 0,
      distinct: 2,
      categories: ['no', 'yes'],
    });
    expect(column(schema, 'glucose_test').categories).toEqual(['no', 'normal', 'high']);
    expect(column(schema, 'A1Ctest').categories).toEqual(['no', 'high', 'normal']);
    expect(column(schema, 'n_lab_procedures')).toMatchObject({
      distinct: 109,
      numeric: { min: 1, max: 113 },
    });
    expect(column(schema, 'n_lab_procedures').numeric!.mean).toBeCloseTo(43.24076, 6);
    expect(schema.targetMissing).toBe(0);
  });

  it('keeps "Missing" as a category by default, and reads it as missing when told to', () => {
    expect(column(schema, 'medical_specialty')).toMatchObject({
      missing: 0,
      distinct: 7,
      categories: [
        'Missing',
        'InternalMedicine',
        'Other',
        'Emergency/Trauma',
        'Family/GeneralPractice',
        'Cardiology',
        'Surgery',
      ],
    });
    const told = inferSchema(parseCsv(bytes, { missingMarkers: [...DEFAULT_MISSING_MARKERS, 'Missing'] }));
    expect(column(told, 'medical_specialty')).toMatchObject({ missing: 12_382, distinct: 6 });
    expect(column(told, 'diag_1')).toMatchObject({ missing: 4, distinct: 7 });
    expect(column(told, 'diag_3')).toMatchObject({ missing: 196, distinct: 7 });
  });
});

describe('breast_cancer_wdbc.csv (Wisconsin diagnostic breast cancer)', () => {
  const schema = inferSchema(parseCsv(read('breast_cancer_wdbc.csv')), { target: 'diagnosis' });

  it('has 30 numeric features and a benign/malignant target', () => {
    expect(schema.rows).toBe(569);
    expect(schema.columns.filter((c) => c.kind === 'numeric' && c.role === 'feature')).toHaveLength(30);
    expect(column(schema, 'diagnosis')).toMatchObject({
      kind: 'binary',
      role: 'target',
      categories: ['benign', 'malignant'],
    });
    expect(column(schema, 'mean_radius')).toMatchObject({
      missing: 0,
      distinct: 456,
      numeric: { min: 6.981, max: 28.11 },
    });
    expect(column(schema, 'worst_area').numeric!.std).toBeCloseTo(568.856459, 5);
  });
});

describe('length_of_stay.csv (1,000 hospital stays)', () => {
  const table = parseCsv(read('length_of_stay.csv'));
  const schema = inferSchema(table);
  const flags = [
    'dialysisrenalendstage',
    'asthma',
    'irondef',
    'pneum',
    'substancedependence',
    'psychologicaldisordermajor',
    'depress',
    'psychother',
    'fibrosisandother',
    'malnutrition',
    'hemo',
  ];

  it('ignores the encounter id and the two dates; reads the readmission count "5+" as ordinal', () => {
    expect(summary(schema)).toEqual({
      'numeric/ignored': ['eid'],
      'text/ignored': ['vdate', 'discharged'],
      'ordinal/feature': ['rcount'],
      'binary/feature': ['gender', ...flags],
      'numeric/feature': [
        'hematocrit',
        'neutrophils',
        'sodium',
        'glucose',
        'bloodureanitro',
        'creatinine',
        'bmi',
        'pulse',
        'respiration',
        'secondarydiagnosisnonicd9',
      ],
      'categorical/feature': ['facid'],
    });
    expect(column(schema, 'eid')).toMatchObject({ distinct: 1000, numeric: { min: 29_000, max: 29_999 } });
    expect(column(schema, 'vdate')).toMatchObject({
      distinct: 342,
      reason: expect.stringMatching(/^dates/) as string,
    });
    expect(column(schema, 'rcount').categories).toEqual(['0', '1', '2', '3', '4', '5+']);
    expect(column(schema, 'gender').categories).toEqual(['F', 'M']);
    expect(column(schema, 'asthma')).toMatchObject({
      categories: ['0', '1'],
      numeric: { min: 0, max: 1, mean: 0.026 },
    });
    expect(column(schema, 'facid').categories).toEqual(['A', 'B', 'E', 'C', 'D']);
  });

  it('has no length-of-stay column to predict, and says which columns there are', () => {
    expect(() => inferSchema(table, { target: 'lengthofstay' })).toThrow(GalenError);
    expect(() => inferSchema(table, { target: 'lengthofstay' })).toThrow(
      /^target "lengthofstay" is not a column of this dataset; its columns are "eid", "vdate", "rcount", .*"discharged", "facid"$/,
    );
  });
});
