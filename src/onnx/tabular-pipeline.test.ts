import { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { FeatureSpec, PipelineSpec, TreeNodeSpec } from '../core/index.js';
import { featureMatrix, predictPipeline } from '../training/index.js';
import type { PipelineColumns } from '../training/index.js';
import { compileTabularPipeline, readOnnxModelInfo } from './index.js';
import { runCompiledPipeline } from '../../test/helpers/run-pipeline.js';

const TOLERANCE = 1e-5;

const runCompiled = runCompiledPipeline;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(Number(a[i]) - Number(b[i])));
  return max;
}

/** Compiles, runs in ONNX Runtime and checks names, dtypes, shapes and values against `predictPipeline`. */
async function expectAgreement(spec: PipelineSpec, columns: PipelineColumns): Promise<void> {
  const { session, out } = await runCompiled(spec, columns);
  const expected = predictPipeline(spec, columns);
  const rows = spec.features[0] ? (columns[spec.features[0].column]?.length ?? 0) : 0;
  if (spec.model.task === 'regression') {
    expect(session.outputNames).toEqual(['prediction']);
    expect(out.prediction?.type).toBe('float32');
    expect(out.prediction?.dims).toEqual([rows, 1]);
    expect(maxAbsDiff(out.prediction!.data as Float32Array, expected.predictions!)).toBeLessThanOrEqual(
      TOLERANCE,
    );
    return;
  }
  const k = spec.model.classes?.length ?? 0;
  expect([...session.outputNames].sort()).toEqual(['label', 'probabilities']);
  expect(out.probabilities?.type).toBe('float32');
  expect(out.probabilities?.dims).toEqual([rows, k]);
  const flat = expected.probabilities!.flatMap((p) => [...p]);
  expect(maxAbsDiff(out.probabilities!.data as Float32Array, flat)).toBeLessThanOrEqual(TOLERANCE);
  expect(out.label?.type).toBe('string');
  expect(out.label?.dims).toEqual([rows]);
  expect(out.label?.data).toEqual(expected.labels);
}

const age: FeatureSpec = {
  kind: 'numeric',
  column: 'age',
  impute: 60,
  missingIndicator: true,
  clip: { low: 18, high: 90 },
  offset: 60,
  scale: 0.1,
};
const creatinine: FeatureSpec = {
  kind: 'numeric',
  column: 'creatinine',
  impute: 1,
  missingIndicator: false,
  offset: 1,
  scale: 2,
};
const sex: FeatureSpec = { kind: 'categorical', column: 'sex', categories: ['F', 'M'] };
const lactate: FeatureSpec = {
  kind: 'numeric',
  column: 'lactate',
  impute: 2,
  missingIndicator: true,
  offset: 0,
  scale: 1,
};
const ward: FeatureSpec = { kind: 'categorical', column: 'ward', categories: ['icu', 'er', 'general'] };
/** Order mixes kinds so the compiled graph must reorder its stacked blocks: width 1+2+2+2+3 = 10. */
const FEATURES = [creatinine, sex, age, lactate, ward];
const COLUMNS: PipelineColumns = {
  creatinine: [0.9, 1.4, null, 3.2, Number.NaN, 0.7],
  sex: ['F', 'M', '', 'X', null, 'M'],
  age: [45, 101, null, 12, 60.5, 88],
  lactate: [1.1, null, 4.5, 0.8, null, 2.2],
  ward: ['icu', 'general', 'er', 'ICU', '', null],
};
const WIDTH = 10;

describe('compileTabularPipeline', () => {
  it('lays out features exactly as featureMatrix does: impute, indicator, clip, scale, one-hot', async () => {
    const expected = featureMatrix(FEATURES, COLUMNS);
    // Row 1: creatinine 1.4 → 0.8; sex M → [0, 1]; age 101 clipped to 90 → 3, present; lactate missing → 2, 1; general.
    // Row 3: unseen sex 'X' and ward 'ICU' (case matters) give zeros; age 12 is clipped up to 18.
    const hand = [
      [0.8, 0, 1, 3, 0, 2, 1, 0, 0, 1],
      [4.4, 0, 0, -4.2, 0, 0.8, 0, 0, 0, 0],
    ];
    // The features are float32 numbers, as the graph computes them: the decimals above to 1e-6.
    for (const [row, values] of [expected[1], expected[3]].entries()) {
      expect(maxAbsDiff(values ?? [], hand[row] ?? [])).toBeLessThan(1e-6);
    }
    for (let j = 0; j < WIDTH; j++) {
      // A regression on feature j alone outputs that feature: the graph's column j, seen from outside.
      const coefficients = Array.from({ length: WIDTH }, (_, i) => (i === j ? 1 : 0));
      const spec: PipelineSpec = {
        features: FEATURES,
        model: { type: 'linear', task: 'regression', coefficients: [coefficients], intercepts: [0] },
      };
      const { out } = await runCompiled(spec, COLUMNS);
      // Bit for bit: weight 1 times the feature plus zeros adds no rounding.
      const column = expected.map((row) => row[j] ?? Number.NaN);
      expect(Array.from(out.prediction!.data as Float32Array), `feature ${j}`).toEqual(column);
    }
  });

  it('serves a binary linear classifier with label strings and [1 - p, p]', async () => {
    const spec: PipelineSpec = {
      features: FEATURES,
      model: {
        type: 'linear',
        task: 'classification',
        classes: ['survived', 'died'],
        coefficients: [[0.8, -0.5, 0.4, 1.2, 0.9, 0.6, 0.7, 1.1, -0.3, 0.2]],
        intercepts: [-1.5],
      },
    };
    await expectAgreement(spec, COLUMNS);
    const labels = predictPipeline(spec, COLUMNS).labels ?? [];
    expect(new Set(labels)).toEqual(new Set(['survived', 'died']));
  });

  it('serves a three-class linear classifier (softmax) and a linear regression', async () => {
    const rowOf = (seed: number): number[] =>
      Array.from({ length: WIDTH }, (_, j) => Math.sin(seed * 7 + j) * 0.9);
    await expectAgreement(
      {
        features: FEATURES,
        model: {
          type: 'linear',
          task: 'classification',
          classes: ['low', 'medium', 'high'],
          coefficients: [rowOf(1), rowOf(2), rowOf(3)],
          intercepts: [0.2, -0.1, 0.4],
        },
      },
      COLUMNS,
    );
    await expectAgreement(
      {
        features: FEATURES,
        model: { type: 'linear', task: 'regression', coefficients: [rowOf(4)], intercepts: [3.5] },
      },
      COLUMNS,
    );
  });

  it('routes missing values in trees by missingGoesLeft when impute is NaN (regression)', async () => {
    // NaN survives Max/Min (clip) and Scaler, so the trees see it.
    const raw: FeatureSpec = {
      kind: 'numeric',
      column: 'x',
      impute: Number.NaN,
      missingIndicator: false,
      clip: { low: -1, high: 3.5 },
      offset: 0,
      scale: 1,
    };
    const branch = (feature: number, threshold: number, missingGoesLeft: boolean): TreeNodeSpec => ({
      feature,
      threshold,
      left: 1,
      right: 2,
      missingGoesLeft,
    });
    const leaf = (...values: number[]): TreeNodeSpec => ({
      feature: 0,
      threshold: 0,
      left: 0,
      right: 0,
      missingGoesLeft: false,
      leaf: values,
    });
    const spec: PipelineSpec = {
      features: [raw],
      model: {
        type: 'trees',
        task: 'regression',
        base: [0.5],
        trees: [
          [branch(0, 1.5, true), leaf(-1), leaf(2)],
          [branch(0, 3.25, false), leaf(10), leaf(20)],
        ],
      },
    };
    const columns = { x: [0, 2, null, 4, -5] };
    expect([...(predictPipeline(spec, columns).predictions ?? [])]).toEqual([9.5, 12.5, 19.5, 22.5, 9.5]);
    await expectAgreement(spec, columns);
  });

  it('serves binary and multiclass gradient-boosted trees over mixed features', async () => {
    const leaf = (...values: number[]): TreeNodeSpec => ({
      feature: 0,
      threshold: 0,
      left: 0,
      right: 0,
      missingGoesLeft: false,
      leaf: values,
    });
    const split = (feature: number, threshold: number, left: number, right: number): TreeNodeSpec => ({
      feature,
      threshold,
      left,
      right,
      missingGoesLeft: true,
    });
    // Features: 0 creatinine, 1-2 sex, 3 age, 4 age missing, 5 lactate, 6 lactate missing, 7-9 ward.
    const binaryTrees = [
      [split(3, 0.75, 1, 2), leaf(-0.4), split(1, 0.5, 3, 4), leaf(0.3), leaf(0.9)],
      [split(6, 0.5, 1, 2), split(7, 0.5, 3, 4), leaf(1.2), leaf(-0.2), leaf(0.5)],
    ];
    await expectAgreement(
      {
        features: FEATURES,
        model: {
          type: 'trees',
          task: 'classification',
          classes: ['no', 'yes'],
          base: [-0.3],
          trees: binaryTrees,
        },
      },
      COLUMNS,
    );
    // All-positive leaves: ONNX Runtime's own binary label rule (raw score > 0.5) would say "no" where p > 0.5.
    await expectAgreement(
      {
        features: FEATURES,
        model: {
          type: 'trees',
          task: 'classification',
          classes: ['no', 'yes'],
          base: [0],
          trees: [[split(0, 0, 1, 2), leaf(0.2), leaf(0.4)]],
        },
      },
      COLUMNS,
    );
    const multiTrees = [
      [split(5, 2.1, 1, 2), leaf(0.5, -0.2, 0.1), leaf(-0.4, 0.6, 0.3)],
      [split(9, 0.5, 1, 2), split(0, 0.1, 3, 4), leaf(0.1, 0.1, 1.5), leaf(0.7, 0, -0.3), leaf(-0.2, 0.4, 0)],
    ];
    await expectAgreement(
      {
        features: FEATURES,
        model: {
          type: 'trees',
          task: 'classification',
          classes: ['a', 'b', 'c'],
          base: [0.1, 0, -0.1],
          trees: multiTrees,
        },
      },
      COLUMNS,
    );
  });

  it('declares one [batch, 1] input per column and is readable by Galen and ONNX Runtime', async () => {
    const spec: PipelineSpec = {
      features: FEATURES,
      model: {
        type: 'linear',
        task: 'classification',
        classes: ['n', 'y'],
        coefficients: [Array<number>(WIDTH).fill(0.1)],
        intercepts: [0],
      },
    };
    const bytes = compileTabularPipeline(spec, { producerName: 'galen-trainer', docString: 'sepsis v1' });
    const info = readOnnxModelInfo(bytes);
    expect(info.producerName).toBe('galen-trainer');
    expect(info.docString).toBe('sepsis v1');
    expect(info.opsetImports).toEqual(
      expect.arrayContaining([
        { domain: '', version: 13 },
        { domain: 'ai.onnx.ml', version: 3 },
      ]),
    );
    expect(info.operators).toEqual(
      expect.arrayContaining([
        'ai.onnx.ml::Imputer',
        'ai.onnx.ml::OneHotEncoder',
        'ai.onnx.ml::Scaler',
        'ai.onnx.ml::LinearClassifier',
      ]),
    );
    const session = await InferenceSession.create(Buffer.from(bytes));
    const inputs = session.inputMetadata.map((m) => [
      m.name,
      m.isTensor ? m.type : '',
      m.isTensor ? m.shape : [],
    ]);
    await session.release();
    expect(inputs).toEqual([
      ['creatinine', 'float32', ['batch', 1]],
      ['sex', 'string', ['batch', 1]],
      ['age', 'float32', ['batch', 1]],
      ['lactate', 'float32', ['batch', 1]],
      ['ward', 'string', ['batch', 1]],
    ]);
    // A batch of zero rows still runs.
    await expectAgreement(spec, { creatinine: [], sex: [], age: [], lactate: [], ward: [] });
  });

  it('rejects inconsistent specs with messages that name the problem', () => {
    const linear = (coefficients: number[][], features: readonly FeatureSpec[] = FEATURES): PipelineSpec => ({
      features,
      model: { type: 'linear', task: 'classification', classes: ['n', 'y'], coefficients, intercepts: [0] },
    });
    expect(() => compileTabularPipeline(linear([[1, 2]]))).toThrow(
      /coefficient row 0 has 2 values; the features give 10/,
    );
    expect(() =>
      compileTabularPipeline(linear([[1]], [{ kind: 'categorical', column: 'c', categories: ['a', ''] }])),
    ).toThrow(/'' means missing/);
    expect(() => compileTabularPipeline(linear([[1]], [{ ...creatinine, impute: Number.NaN }]))).toThrow(
      /a linear model needs a finite impute value/,
    );
    expect(() => compileTabularPipeline(linear([[1]], [{ ...creatinine, column: 'label' }]))).toThrow(
      /named like an output/,
    );
    const loop: PipelineSpec = {
      features: [creatinine],
      model: {
        type: 'trees',
        task: 'regression',
        base: [0],
        trees: [[{ feature: 0, threshold: 0, left: 0, right: 0, missingGoesLeft: true }]],
      },
    };
    expect(() => compileTabularPipeline(loop)).toThrow(/tree 0 links to node 0, which is reached twice/);
  });
});
