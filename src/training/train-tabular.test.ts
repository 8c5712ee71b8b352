/**
 * Whole pipelines trained on real clinical data, compiled to ONNX and run in ONNX Runtime: the
 * served graph and the TypeScript model agree to 1e-5 on every held-out row.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PipelineSpec } from '../core/index.js';
import { inferSchema, parseCsv } from '../datasets/index.js';
import { auroc } from './metrics.js';
import { predictPipeline } from './pipeline-predict.js';
import type { PipelineColumns } from './pipeline-predict.js';
import { trainTabular } from './train-tabular.js';
import type { TabularModelKind } from './train-tabular.js';
import { runCompiledPipeline } from '../../test/helpers/run-pipeline.js';

const read = (name: string) =>
  readFileSync(new URL(`../../../shared/data/clinical/${name}`, import.meta.url));

/** The columns as the served model receives them: numbers as float32, '' for missing text. */
function asServed(spec: PipelineSpec, columns: PipelineColumns): PipelineColumns {
  const out: Record<string, (number | string | null)[]> = {};
  for (const f of spec.features) {
    const cells = columns[f.column] ?? [];
    out[f.column] =
      f.kind === 'numeric'
        ? cells.map((c) => (c === null ? Number.NaN : Math.fround(Number(c))))
        : [...cells];
  }
  return out;
}

async function runOnnx(spec: PipelineSpec, columns: PipelineColumns): Promise<Float32Array> {
  return (await runCompiledPipeline(spec, columns)).out['probabilities']!.data as Float32Array;
}

const cases: [string, string, string, TabularModelKind, number][] = [
  ['breast_cancer_wdbc.csv', 'diagnosis', 'malignant', 'logistic', 0.98],
  ['breast_cancer_wdbc.csv', 'diagnosis', 'malignant', 'gbdt', 0.97],
  ['hospital_readmissions.csv', 'readmitted', 'yes', 'logistic', 0.62],
  ['hospital_readmissions.csv', 'readmitted', 'yes', 'gbdt', 0.62],
];

describe('trainTabular on real data, compiled to ONNX', () => {
  for (const [file, target, positive, model, minAuroc] of cases) {
    it(`${model} on ${file}: ONNX and TypeScript agree to 1e-5 on the held-out rows`, async () => {
      const table = parseCsv(read(file));
      const schema = inferSchema(table, { target });
      const result = trainTabular(table, schema, { model, positive, seed: 7 });
      expect(result.classes).toEqual([expect.any(String), positive]);
      expect(result.test.length).toBeGreaterThan(0.19 * table.rows.length);
      expect(new Set([...result.train, ...result.test]).size).toBe(result.train.length + result.test.length);

      const served = asServed(result.spec, result.testColumns);
      const reference = predictPipeline(result.spec, served).probabilities!;
      const onnx = await runOnnx(result.spec, result.testColumns);
      let worst = 0;
      reference.forEach((row, i) => {
        for (let k = 0; k < 2; k++) worst = Math.max(worst, Math.abs(row[k]! - onnx[i * 2 + k]!));
      });
      expect(worst).toBeLessThan(1e-5);

      const positives = reference.map((row) => row[1]!);
      expect(auroc(positives, result.testTargets)).toBeGreaterThan(minAuroc);
    }, 60_000);
  }

  it('auto picks the kind with the better cross-validated score on the training rows only', () => {
    const table = parseCsv(read('breast_cancer_wdbc.csv'));
    const schema = inferSchema(table, { target: 'diagnosis' });
    const result = trainTabular(table, schema, { model: 'auto', positive: 'malignant', folds: 4, seed: 3 });
    const selection = result.selection!;
    expect(selection.metric).toBe('auroc');
    expect(selection.candidates.map((c) => c.model)).toEqual(['logistic', 'gbdt']);
    for (const c of selection.candidates) {
      expect(c.scores).toHaveLength(4);
      expect(c.mean).toBeGreaterThan(0.9);
    }
    const best = selection.candidates.reduce((a, b) => (b.mean > a.mean ? b : a));
    expect(result.model).toBe(best.model);
    expect(selection.chosen).toBe(best.model);
    expect(result.spec.model.type).toBe(best.model === 'logistic' ? 'linear' : 'trees');
    // Regression has one candidate, scored by RMSE.
    const los = parseCsv(read('heart_cleveland.csv'));
    const chol = trainTabular(los, inferSchema(los, { target: 'chol' }), { model: 'auto', folds: 3 });
    expect(chol.selection).toMatchObject({ metric: 'rmse', chosen: 'gbdt' });
    expect(() => trainTabular(table, schema, { model: 'auto', folds: 1 })).toThrow(/folds is 1/);
  }, 60_000);

  it('refuses what it cannot train, saying why', () => {
    const table = parseCsv(read('heart_cleveland.csv'));
    const numericTarget = inferSchema(table, { target: 'num' });
    expect(() => trainTabular(table, numericTarget, { model: 'logistic' })).toThrow(
      /logistic regression here predicts two classes.*use gbdt/,
    );
    const sex = inferSchema(table, { target: 'sex' });
    expect(() => trainTabular(table, sex, { model: 'logistic', positive: '7' })).toThrow(
      /"7" is not a value of target "sex"/,
    );
    expect(() => trainTabular(table, inferSchema(table), { model: 'gbdt' })).toThrow(/names no target/);
  });
});
