/**
 * Whole pipelines trained on real clinical data, compiled to ONNX and run in ONNX Runtime: the
 * served graph and the TypeScript model agree to 1e-6 (1e-5 for the five-class and ridge fits) on every
 * held-out row, the TypeScript reference reading the same raw cells a job compares.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LinearModelSpec, PipelineSpec } from '../core/index.js';
import { deriveTarget, inferSchema, parseCsv, parseTargetExpression } from '../datasets/index.js';
import { auroc } from './metrics.js';
import { predictPipeline } from './pipeline-predict.js';
import type { PipelineColumns } from './pipeline-predict.js';
import { trainTabular } from './train-tabular.js';
import type { TabularModelKind } from './train-tabular.js';
import { runCompiledPipeline } from '../../test/helpers/run-pipeline.js';
import { dataUrl } from '../../test/helpers/data.js';

const read = (name: string) => readFileSync(dataUrl(`clinical/${name}`));

async function runOnnx(spec: PipelineSpec, columns: PipelineColumns): Promise<Float32Array> {
  return (await runCompiledPipeline(spec, columns)).out['probabilities']!.data as Float32Array;
}

const cases: [string, string, string, TabularModelKind, number][] = [
  ['breast_cancer_wdbc.csv', 'diagnosis', 'malignant', 'logistic', 0.98],
  ['breast_cancer_wdbc.csv', 'diagnosis', 'malignant', 'gbdt', 0.97],
  // Any hospital stay among 4,406 Medicare patients: held-out AUROC 0.797 (logistic) and
  // 0.773 (GBDT) measured at seed 7.
  ['nmes1988.csv', 'hospital > 0', 'true', 'logistic', 0.74],
  ['nmes1988.csv', 'hospital > 0', 'true', 'gbdt', 0.74],
];

/** The table with a target such as `hospital > 0` derived as a column, as a training job derives it. */
function withTarget(name: string, target: string) {
  const parsed = parseCsv(read(name));
  const expression = parseTargetExpression(target, parsed.columns);
  const table = expression ? deriveTarget(parsed, expression) : parsed;
  const overrides = expression ? { [expression.column]: { role: 'ignored' as const } } : undefined;
  return { table, schema: inferSchema(table, { target, ...(overrides && { overrides }) }) };
}

describe('trainTabular on real data, compiled to ONNX', () => {
  for (const [file, target, positive, model, minAuroc] of cases) {
    it(`${model} on ${file}: ONNX and TypeScript agree to 1e-6 on the held-out rows`, async () => {
      const { table, schema } = withTarget(file, target);
      const result = trainTabular(table, schema, { model, positive, seed: 7 });
      expect(result.classes).toEqual([expect.any(String), positive]);
      expect(result.test.length).toBeGreaterThan(0.19 * table.rows.length);
      expect(new Set([...result.train, ...result.test]).size).toBe(result.train.length + result.test.length);

      // The raw cells, as a job compares them: the reference reads numbers as the graph does (float32).
      const reference = predictPipeline(result.spec, result.testColumns).probabilities!;
      const onnx = await runOnnx(result.spec, result.testColumns);
      let worst = 0;
      reference.forEach((row, i) => {
        for (let k = 0; k < 2; k++) worst = Math.max(worst, Math.abs(row[k]! - onnx[i * 2 + k]!));
      });
      expect(worst).toBeLessThan(1e-6); // measured ≤ 2.1e-7: float32 arithmetic only

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
    // Regression: linear regression and trees, scored by RMSE.
    const heart = parseCsv(read('heart_cleveland.csv'));
    const chol = trainTabular(heart, inferSchema(heart, { target: 'chol' }), { model: 'auto', folds: 3 });
    expect(chol.selection!.metric).toBe('rmse');
    expect(chol.selection!.candidates.map((c) => c.model)).toEqual(['linear', 'gbdt']);
    const lowest = chol.selection!.candidates.reduce((a, b) => (b.mean < a.mean ? b : a));
    expect(chol.model).toBe(lowest.model);
    expect(() => trainTabular(table, schema, { model: 'auto', folds: 1 })).toThrow(/folds is 1/);
    // A chosen metric: the candidates are scored by it, and the lowest Brier score wins.
    const byBrier = trainTabular(table, schema, {
      model: 'auto',
      positive: 'malignant',
      folds: 4,
      seed: 3,
      selectBy: 'brier',
    });
    expect(byBrier.selection!.metric).toBe('brier');
    const lowestBrier = byBrier.selection!.candidates.reduce((a, b) => (b.mean < a.mean ? b : a));
    expect(byBrier.model).toBe(lowestBrier.model);
    for (const c of byBrier.selection!.candidates) expect(c.mean).toBeLessThan(0.1);
    expect(() => trainTabular(table, schema, { model: 'auto', selectBy: 'rmse' })).toThrow(
      /selectBy "rmse" does not apply to a binary target; use one of auroc, auprc, logLoss, brier, accuracy/,
    );
  }, 60_000);

  it('refuses what it cannot train, saying why', () => {
    const table = parseCsv(read('heart_cleveland.csv'));
    const chol = inferSchema(table, { target: 'chol' });
    expect(() => trainTabular(table, chol, { model: 'logistic' })).toThrow(
      /logistic regression predicts classes, and target "chol" is a number: use linear or gbdt/,
    );
    expect(() => trainTabular(table, inferSchema(table, { target: 'sex' }), { model: 'linear' })).toThrow(
      /linear regression predicts a number, and target "sex" has classes: use logistic or gbdt/,
    );
    expect(() =>
      trainTabular(table, inferSchema(table, { target: 'num' }), { model: 'gbdt', l1: 1 }),
    ).toThrow(/l1 applies to two-class logistic regression and linear regression, not gbdt/);
    expect(() =>
      trainTabular(table, inferSchema(table, { target: 'sex' }), {
        model: 'logistic',
        classWeight: { '2': 1 },
      }),
    ).toThrow(/classWeight names "2", which is not a class/);
    const sex = inferSchema(table, { target: 'sex' });
    expect(() => trainTabular(table, sex, { model: 'logistic', positive: '7' })).toThrow(
      /"7" is not a value of target "sex"/,
    );
    expect(() => trainTabular(table, inferSchema(table), { model: 'gbdt' })).toThrow(/names no target/);
  });

  it('trains multinomial logistic regression on a five-class target; ONNX agrees to 1e-5', async () => {
    const table = parseCsv(read('heart_cleveland.csv'));
    // num (0–4) reads as a number; as classes it is the five-level diagnosis.
    const schema = inferSchema(table, { target: 'num', overrides: { num: { kind: 'categorical' } } });
    const result = trainTabular(table, schema, { model: 'logistic', seed: 5 });
    expect(result.task).toBe('multiclass');
    expect(result.spec.model).toMatchObject({ type: 'linear', task: 'classification' });
    expect((result.spec.model as LinearModelSpec).coefficients).toHaveLength(5);
    const reference = predictPipeline(result.spec, result.testColumns).probabilities!;
    const onnx = await runOnnx(result.spec, result.testColumns);
    let worst = 0;
    reference.forEach((row, i) =>
      row.forEach((p, k) => (worst = Math.max(worst, Math.abs(p - onnx[i * 5 + k]!)))),
    );
    expect(worst).toBeLessThan(1e-5);
    // Better than always predicting the training rows' class frequencies (log loss on held-out rows).
    const prior = new Array<number>(5).fill(0);
    for (const i of result.train)
      prior[Number(table.rows[i]![table.columns.indexOf('num')])]! += 1 / result.train.length;
    const loss = (p: (k: number, i: number) => number) =>
      -Array.from(result.testTargets).reduce((s, c, i) => s + Math.log(Math.max(1e-15, p(c, i))), 0) /
      result.test.length;
    expect(loss((c, i) => reference[i]![c]!)).toBeLessThan(loss((c) => prior[c]!));
  }, 60_000);

  it('trains linear regression (ridge, and elastic net with exact zeros); ONNX agrees', async () => {
    const table = parseCsv(read('heart_cleveland.csv'));
    const schema = inferSchema(table, { target: 'thalach' });
    const ridge = trainTabular(table, schema, { model: 'linear', seed: 5 });
    expect(ridge.spec.model).toMatchObject({ type: 'linear', task: 'regression' });
    const reference = predictPipeline(ridge.spec, ridge.testColumns).predictions!;
    const onnx = (await runCompiledPipeline(ridge.spec, ridge.testColumns)).out['prediction']!
      .data as Float32Array;
    reference.forEach((v, i) => expect(Math.abs(v - onnx[i]!)).toBeLessThan(1e-6 * Math.abs(v) + 1e-5));
    // It beats predicting the training mean on the held-out rows.
    const mean =
      ridge.train.reduce((s, i) => s + Number(table.rows[i]![table.columns.indexOf('thalach')]), 0) /
      ridge.train.length;
    const sse = (p: (i: number) => number) =>
      Array.from(ridge.testTargets).reduce((s, t, i) => s + (t - p(i)) ** 2, 0);
    expect(sse((i) => reference[i]!)).toBeLessThan(sse(() => mean));

    const lasso = trainTabular(table, schema, { model: 'linear', seed: 5, l1: 300, l2: 0 });
    const weights = (lasso.spec.model as LinearModelSpec).coefficients[0]!;
    expect(weights.filter((w) => w === 0).length).toBeGreaterThan(0);
    expect(weights.filter((w) => w !== 0).length).toBeGreaterThan(0);
  }, 60_000);

  it('class weights and oversampling raise the rare class’s predicted share; training rows only', () => {
    const table = parseCsv(read('breast_cancer_wdbc.csv'));
    const schema = inferSchema(table, { target: 'diagnosis' });
    const meanP = (options: Parameters<typeof trainTabular>[2]) => {
      const r = trainTabular(table, schema, { positive: 'malignant', seed: 2, ...options });
      const p = predictPipeline(r.spec, r.testColumns).probabilities!.map((row) => row[1]!);
      return { mean: p.reduce((a, b) => a + b, 0) / p.length, test: r.test };
    };
    const plain = meanP({ model: 'logistic', l2: 10 });
    const balanced = meanP({ model: 'logistic', l2: 10, classWeight: 'balanced' });
    const oversampled = meanP({ model: 'logistic', l2: 10, oversample: true });
    const heavier = meanP({ model: 'gbdt', classWeight: { malignant: 5 } });
    const gbdt = meanP({ model: 'gbdt' });
    expect(balanced.mean).toBeGreaterThan(plain.mean);
    expect(oversampled.mean).toBeGreaterThan(plain.mean);
    expect(heavier.mean).toBeGreaterThan(gbdt.mean);
    // The held-out rows are the same whatever the weighting.
    expect(balanced.test).toEqual(plain.test);
    expect(oversampled.test).toEqual(plain.test);
  }, 60_000);
});
