import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CategoricalFeatureSpec, NumericFeatureSpec } from '../core/index.js';
import { inferSchema, parseCsv } from '../datasets/index.js';
import { columnValues, fitFeatures } from './preprocess.js';

const read = (name: string) =>
  readFileSync(new URL(`../../../shared/data/clinical/${name}`, import.meta.url));

describe('fitFeatures on heart_cleveland.csv', () => {
  const table = parseCsv(read('heart_cleveland.csv'));
  const schema = inferSchema(table, { target: 'num' });
  const values = columnValues(table, schema);
  const train = Array.from({ length: 200 }, (_, i) => i); // fitted on these rows only
  const numeric = (features: ReturnType<typeof fitFeatures>, column: string) =>
    features.find((f) => f.column === column) as NumericFeatureSpec;

  it('imputes from training rows only, adds indicators where training had missing values, and standardises', () => {
    const features = fitFeatures(schema, values, train);
    expect(features.map((f) => f.column)).not.toContain('num');
    const ca = numeric(features, 'ca');
    const caTrain = train
      .map((r) => values['ca']![r] as number)
      .filter((v) => !Number.isNaN(v))
      .sort((a, b) => a - b);
    expect(caTrain.length).toBeLessThan(200); // "?" values are missing
    expect(ca.impute).toBe(caTrain[Math.floor((caTrain.length - 1) / 2)]); // median (an even count averages two equal middles here)
    expect(ca.missingIndicator).toBe(true);
    const age = numeric(features, 'age');
    expect(age.missingIndicator).toBe(false);
    // Standardised on the training rows: mean 0, population std 1.
    const scaled = train.map((r) => ((values['age']![r] as number) - age.offset) * age.scale);
    const mean = scaled.reduce((a, b) => a + b, 0) / scaled.length;
    const sd = Math.sqrt(scaled.reduce((a, b) => a + (b - mean) ** 2, 0) / scaled.length);
    expect(mean).toBeCloseTo(0, 10);
    expect(sd).toBeCloseTo(1, 10);
  });

  it('supports mean, constant and most-frequent imputation, min-max and robust scaling, and clipping', () => {
    const mean = numeric(fitFeatures(schema, values, train, { impute: 'mean' }), 'ca');
    expect(mean.impute).toBeGreaterThan(0);
    expect(
      numeric(fitFeatures(schema, values, train, { impute: 'constant', imputeConstant: -1 }), 'ca').impute,
    ).toBe(-1);
    expect(numeric(fitFeatures(schema, values, train, { impute: 'most_frequent' }), 'ca').impute).toBe(0);
    const minmax = numeric(fitFeatures(schema, values, train, { scale: 'minmax' }), 'chol');
    const chol = train.map((r) => values['chol']![r] as number);
    expect(minmax.offset).toBe(Math.min(...chol));
    expect(1 / minmax.scale).toBeCloseTo(Math.max(...chol) - Math.min(...chol), 10);
    const clipped = numeric(fitFeatures(schema, values, train, { clip: { method: 'iqr', k: 1.5 } }), 'chol');
    expect(clipped.clip!.high).toBeLessThan(Math.max(...chol)); // chol has high outliers (564)
    expect(numeric(fitFeatures(schema, values, train, { scale: 'none' }), 'chol')).toMatchObject({
      offset: 0,
      scale: 1,
    });
  });
});

describe('fitFeatures on hospital_readmissions.csv', () => {
  const table = parseCsv(read('hospital_readmissions.csv'));
  const schema = inferSchema(table, { target: 'readmitted' });
  const values = columnValues(table, schema);
  const rows = Array.from({ length: 20_000 }, (_, i) => i);

  it('one-hot encodes categorical, binary-text and ordinal columns in the schema order', () => {
    const features = fitFeatures(schema, values, rows);
    const age = features.find((f) => f.column === 'age') as CategoricalFeatureSpec;
    expect(age).toEqual({
      kind: 'categorical',
      column: 'age',
      categories: ['[40-50)', '[50-60)', '[60-70)', '[70-80)', '[80-90)', '[90-100)'],
    });
    const change = features.find((f) => f.column === 'change') as CategoricalFeatureSpec;
    expect(change.categories).toEqual(['no', 'yes']);
    const rare = fitFeatures(schema, values, rows, { minCategoryCount: 1500 });
    // Cardiology (about 1,100 in these rows) and Surgery fall under the threshold and count as unseen.
    const specialty = rare.find((f) => f.column === 'medical_specialty') as CategoricalFeatureSpec;
    expect(specialty.categories).not.toContain('Surgery');
    expect(specialty.categories).toContain('Missing');
  });

  it('names the row and line of a non-number in a column the schema calls numeric', () => {
    const bad = parseCsv(Buffer.from('a,b,y\n1,x,0\n2,y,1\nabc,x,0\n'));
    const forced = inferSchema(parseCsv(Buffer.from('a,b,y\n1,x,0\n2,y,1\n3,x,0\n')), { target: 'y' });
    expect(() => columnValues(bad, forced)).toThrow(/column "a" is numeric but row 3 \(line 4\) has "abc"/);
  });
});
