/**
 * A served tabular graph reads FP32 inputs, transforms them in float32 and compares them with float32
 * tree thresholds. These tests pin that the trainer and the TypeScript reference see the same
 * numbers: values that differ in float64 but not in float32, a value whose float32 sits on a
 * threshold, and preprocessing (impute, clip, scale) whose float64 result rounds differently.
 */
import { describe, expect, it } from 'vitest';
import type { FeatureSpec, NumericFeatureSpec, PipelineSpec, TreeEnsembleSpec } from '../core/index.js';
import { fitGbdt, predictGbdtProba, toTreeEnsembleSpec } from './gbdt.js';
import { designMatrix, featureMatrix, predictPipeline } from './pipeline-predict.js';
import type { PipelineColumns } from './pipeline-predict.js';
import { encodeColumns } from './preprocess.js';
import { mulberry32 } from './split.js';
import { runCompiledPipeline } from '../../test/helpers/run-pipeline.js';

/** A numeric column passed through as it is (what a GBDT pipeline fits by default). */
const raw = (column: string): NumericFeatureSpec => ({
  kind: 'numeric',
  column,
  impute: Number.NaN,
  missingIndicator: false,
  offset: 0,
  scale: 1,
});

describe('float32 agreement between training and the served graph', () => {
  it('fits on the values the graph reads: the served probabilities equal predictGbdtProba on every training row', async () => {
    // Feature a: 0.1 and 0.1 + 1e-9 are two numbers in float64 and one in float32, and they carry
    // the label. Feature b: 4-decimal values (like NMES income) with ties, a real but noisy signal.
    const random = mulberry32(17);
    const n = 400;
    const a: number[] = [];
    const b: number[] = [];
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 2;
      a.push(y[i] === 1 ? 0.1 + 1e-9 : 0.1);
      b.push(Math.round((random() * 3 + y[i]! * 0.8) * 40) / 10_000 + 1.4);
    }
    expect(Math.fround(0.1 + 1e-9)).toBe(Math.fround(0.1));
    const x = a.map((v, i) => Float64Array.of(v, b[i]!));
    const model = fitGbdt(x, y, { task: 'binary', maxIterations: 30, minSamplesLeaf: 5, seed: 3 });
    const spec: PipelineSpec = { features: [raw('a'), raw('b')], model: toTreeEnsembleSpec(model) };
    const trees = spec.model as TreeEnsembleSpec;
    const thresholds = trees.trees.flatMap((t) =>
      t.filter((node) => !node.leaf).map((node) => node.threshold),
    );
    expect(thresholds.length).toBeGreaterThan(0);
    // Every threshold is a float32 (the graph stores it as one) …
    for (const t of thresholds) expect(t).toBe(Math.fround(t));
    // … and feature a, one value in float32, is never split on.
    expect(trees.trees.every((t) => t.every((node) => node.leaf || node.feature === 1))).toBe(true);

    const { out } = await runCompiledPipeline(spec, { a, b });
    const served = out.probabilities!.data as Float32Array;
    const fitted = predictGbdtProba(model, x);
    let worst = 0;
    fitted.forEach((p, i) => (worst = Math.max(worst, Math.abs(p - served[i]!))));
    expect(worst).toBeLessThan(1e-6);
    // The reference of the whole pipeline agrees too.
    const reference = predictPipeline(spec, { a, b }).probabilities!;
    reference.forEach((row, i) => expect(Math.abs(row[1]! - served[2 * i + 1]!)).toBeLessThan(1e-6));
  });

  it('refuses a value the served graph cannot read (beyond float32, which would arrive as infinity)', () => {
    const x = [Float64Array.of(1), Float64Array.of(2), Float64Array.of(1e39)];
    expect(() => fitGbdt(x, Float64Array.of(0, 1, 1), { task: 'binary' })).toThrow(
      /^x holds an infinite value or one beyond float32's range \(±3\.40e\+38\), which the served model cannot read; give finite numbers within it, NaN for missing$/,
    );
  });

  it('routes a value whose float32 equals a threshold as the graph does (1.4 is 1.3999999761581421 in float32)', async () => {
    const t = Math.fround(1.4);
    expect(t).toBeLessThan(1.4);
    const spec: PipelineSpec = {
      features: [raw('income')],
      model: {
        type: 'trees',
        task: 'classification',
        classes: ['no', 'yes'],
        base: [0],
        trees: [
          [
            { feature: 0, threshold: t, left: 1, right: 2, missingGoesLeft: false },
            { feature: 0, threshold: 0, left: -1, right: -1, missingGoesLeft: false, leaf: [-2] },
            { feature: 0, threshold: 0, left: -1, right: -1, missingGoesLeft: false, leaf: [2] },
          ],
        ],
      },
    };
    const columns = { income: [1.4, 1.3999999, 1.4000001, null] };
    const { out } = await runCompiledPipeline(spec, columns);
    const served = Array.from(out.probabilities!.data as Float32Array);
    const reference = predictPipeline(spec, columns);
    const p = reference.probabilities!.flatMap((row) => [...row]);
    p.forEach((v, i) => expect(Math.abs(v - served[i]!)).toBeLessThan(1e-7));
    expect(reference.labels).toEqual(out.label!.data);
    expect(reference.labels).toEqual(['no', 'no', 'yes', 'yes']);
  });

  it('computes numeric features bit for bit as the graph does (impute, clip, scale in float32), in training too', async () => {
    const spec = (features: FeatureSpec[]): PipelineSpec => ({
      features,
      model: { type: 'linear', task: 'regression', coefficients: [[1]], intercepts: [0] },
    });
    const scaled: NumericFeatureSpec = {
      kind: 'numeric',
      column: 'v',
      impute: 1.1,
      missingIndicator: false,
      clip: { low: -0.3, high: 3.3 },
      offset: 0.3,
      scale: 1 / 0.7,
    };
    const values = [1.4, 0.7, 3.3, null, 100, -5, 2.881, 0.1, 1e-9, 2.5];
    const columns: PipelineColumns = { v: values };
    // A regression on the one feature with weight 1 and no intercept outputs the feature itself.
    const { out } = await runCompiledPipeline(spec([scaled]), columns);
    const served = Array.from(out.prediction!.data as Float32Array);
    const reference = featureMatrix([scaled], columns).map((row) => row[0]!);
    expect(reference).toEqual(served);
    // The trainer's design matrix for trees (float32) holds the same numbers.
    const encoded = encodeColumns({ v: Float64Array.from(values, (v) => v ?? Number.NaN) });
    const design = designMatrix([scaled], encoded, [...values.keys()], true);
    expect(Array.from(design.data)).toEqual(served);
  });

  it('keeps a missing value missing through clipping when a tree routes it (impute NaN)', async () => {
    const clipped: NumericFeatureSpec = { ...raw('v'), clip: { low: 0, high: 2 } };
    const spec: PipelineSpec = {
      features: [clipped],
      model: {
        type: 'trees',
        task: 'regression',
        base: [0],
        trees: [
          [
            { feature: 0, threshold: 1, left: 1, right: 2, missingGoesLeft: false },
            { feature: 0, threshold: 0, left: -1, right: -1, missingGoesLeft: false, leaf: [-1] },
            { feature: 0, threshold: 0, left: -1, right: -1, missingGoesLeft: false, leaf: [1] },
          ],
        ],
      },
    };
    const columns = { v: [null, -4, 5, 0.5] };
    const { out } = await runCompiledPipeline(spec, columns);
    const served = Array.from(out.prediction!.data as Float32Array);
    expect(Array.from(predictPipeline(spec, columns).predictions!)).toEqual(served);
    expect(served).toEqual([1, -1, 1, -1]);
  });
});
