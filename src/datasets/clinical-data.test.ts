/**
 * Parsing and schema inference on the real clinical files in data/clinical/. Every
 * count and order asserted here was checked against the files independently (with Python's csv).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { inferSchema, parseCsv } from './index.js';
import type { ColumnSchema, DatasetSchema } from './index.js';
import { dataUrl } from '../../test/helpers/data.js';

const read = (file: string): Buffer => readFileSync(dataUrl(`clinical/${file}`));

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

describe('nmes1988.csv (4,406 Medicare patients, NMES 1987–88)', () => {
  const table = parseCsv(read('nmes1988.csv'));
  const schema = inferSchema(table, { target: 'hospital' });

  it('parses all 4,406 rows, each with its line in the file', () => {
    expect(table.rows).toHaveLength(4406);
    expect(table.lines![4405]).toBe(4407);
  });

  it('reads counts and money as numeric, yes/no and two-level columns as binary, the rest categorical', () => {
    expect(summary(schema)).toEqual({
      'numeric/feature': [
        'visits',
        'nvisits',
        'ovisits',
        'novisits',
        'emergency',
        'chronic',
        'age',
        'school',
        'income',
      ],
      'numeric/target': ['hospital'],
      'categorical/feature': ['health', 'region'],
      'binary/feature': ['adl', 'afam', 'gender', 'married', 'employed', 'insurance', 'medicaid'],
    });
    expect(column(schema, 'health').categories).toEqual(['average', 'poor', 'excellent']);
    expect(column(schema, 'region').categories).toEqual(['other', 'midwest', 'northeast', 'west']);
    expect(column(schema, 'adl').categories).toEqual(['normal', 'limited']);
    expect(column(schema, 'hospital')).toMatchObject({ distinct: 9, numeric: { min: 0, max: 8 } });
    // Family income in USD 10,000: negative incomes (losses) are in the data.
    expect(column(schema, 'income')).toMatchObject({
      distinct: 3015,
      numeric: { min: -1.0125, max: 54.8351 },
    });
    expect(column(schema, 'income').numeric!.mean).toBeCloseTo(2.527132, 6);
    expect(schema.targetMissing).toBe(0);
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

describe('mimic3_demo_ADMISSIONS.csv (129 MIMIC-III demo admissions)', () => {
  const table = parseCsv(readFileSync(dataUrl('ehr/mimic3_demo_ADMISSIONS.csv')));
  const schema = inferSchema(table);

  it('ignores the dates and the free-text diagnosis, and keeps missing categories as missing', () => {
    expect(summary(schema)['text/ignored']).toEqual([
      'ADMITTIME',
      'DISCHTIME',
      'DEATHTIME',
      'EDREGTIME',
      'EDOUTTIME',
      'DIAGNOSIS',
    ]);
    expect(column(schema, 'ADMITTIME')).toMatchObject({
      distinct: 129,
      reason: expect.stringMatching(/^dates/) as string,
    });
    expect(column(schema, 'DIAGNOSIS')).toMatchObject({
      distinct: 95,
      reason: expect.stringMatching(/^95 different values/) as string,
    });
    expect(column(schema, 'DEATHTIME').missing).toBe(89);
    expect(column(schema, 'ADMISSION_TYPE').categories).toEqual(['EMERGENCY', 'ELECTIVE', 'URGENT']);
    expect(column(schema, 'LANGUAGE')).toMatchObject({ kind: 'categorical', missing: 48 });
    expect(column(schema, 'MARITAL_STATUS')).toMatchObject({ kind: 'categorical', missing: 16 });
  });

  it('has no length-of-stay column to predict, and says which columns there are', () => {
    expect(() => inferSchema(table, { target: 'lengthofstay' })).toThrow(GalenError);
    expect(() => inferSchema(table, { target: 'lengthofstay' })).toThrow(
      /^target "lengthofstay" is not a column of this dataset; its columns are "ROW_ID", "SUBJECT_ID", "HADM_ID", .*"HOSPITAL_EXPIRE_FLAG", "HAS_CHARTEVENTS_DATA"$/,
    );
  });
});
