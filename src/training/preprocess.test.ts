import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CategoricalFeatureSpec, NumericFeatureSpec } from '../core/index.js';
import { inferSchema, parseCsv } from '../datasets/index.js';
import { columnValues, fitFeatures } from './preprocess.js';
import { dataUrl } from '../../test/helpers/data.js';

const read = (name: string) => readFileSync(dataUrl(`clinical/${name}`));

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

describe('fitFeatures on nmes1988.csv', () => {
  const table = parseCsv(read('nmes1988.csv'));
  const schema = inferSchema(table, { target: 'hospital' });
  const values = columnValues(table, schema);
  const rows = Array.from({ length: 3500 }, (_, i) => i);

  it('one-hot encodes categorical and binary-text columns in the schema order', () => {
    const features = fitFeatures(schema, values, rows);
    const health = features.find((f) => f.column === 'health') as CategoricalFeatureSpec;
    expect(health).toEqual({
      kind: 'categorical',
      column: 'health',
      categories: ['average', 'poor', 'excellent'],
    });
    const adl = features.find((f) => f.column === 'adl') as CategoricalFeatureSpec;
    expect(adl.categories).toEqual(['normal', 'limited']);
    const insurance = features.find((f) => f.column === 'insurance') as CategoricalFeatureSpec;
    expect(insurance.categories).toEqual(['no', 'yes']);
    const rare = fitFeatures(schema, values, rows, { minCategoryCount: 500 });
    // "poor" (437 in these rows) and "excellent" (276) fall under the threshold and count as unseen;
    // every region has at least 690.
    const rareHealth = rare.find((f) => f.column === 'health') as CategoricalFeatureSpec;
    expect(rareHealth.categories).toEqual(['average']);
    const region = rare.find((f) => f.column === 'region') as CategoricalFeatureSpec;
    expect(region.categories).toEqual(['other', 'midwest', 'northeast', 'west']);
  });

  it('names the row and line of a non-number in a column the schema calls numeric', () => {
    // A stored schema that no longer fits the data: the cell is patient data, never in the message.
    const bad = parseCsv(Buffer.from('a,b,y\n1,x,0\n2,y,1\nJane Roe 555-12-3456,x,0\n'));
    const forced = inferSchema(parseCsv(Buffer.from('a,b,y\n1,x,0\n2,y,1\n3,x,0\n')), { target: 'y' });
    const message = (() => {
      try {
        columnValues(bad, forced);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    })();
    expect(message).toMatch(
      /^column "a" is numeric but row 3 \(line 4\) is not a number; a numeric column holds numbers/,
    );
    for (const part of ['Jane', 'Roe', '555-12-3456']) expect(message).not.toContain(part);
  });
});
