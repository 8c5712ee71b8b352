import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../core/index.js';
import { readOnnxModelInfo } from '../onnx/index.js';
import { evaluateBinary, sigmoid } from '../training/index.js';
import { WDBC_FEATURE_NAMES, buildBreastCancerModel, readWdbcCsv } from './index.js';
import type { BreastCancerModel } from './index.js';

let csv: string;
let model: BreastCancerModel;
let probabilities: Float32Array;
let labels: BigInt64Array;
let session: InferenceSession;

beforeAll(async () => {
  csv = await readWdbcCsv();
  model = buildBreastCancerModel(csv);
  session = await InferenceSession.create(Buffer.from(model.onnx));
  const n = model.test.labels.length;
  const out = await session.run({ features: new Tensor('float32', model.test.features, [n, 30]) });
  probabilities = out.probabilities!.data as Float32Array;
  labels = out.label!.data as BigInt64Array;
  return () => session.release();
});

describe('buildBreastCancerModel', () => {
  it('exports a graph with one FP32 [batch, 30] input and probabilities + label outputs', () => {
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['probabilities', 'label']);
    const [input] = session.inputMetadata;
    expect(input?.isTensor && [input.type, input.shape]).toEqual(['float32', ['batch', 30]]);
    const [probs, label] = session.outputMetadata;
    expect(probs?.isTensor && [probs.type, probs.shape]).toEqual(['float32', ['batch', 2]]);
    expect(label?.isTensor && [label.type, label.shape]).toEqual(['int64', ['batch']]);
  });

  it('classifies the held-out split well when run in ONNX Runtime', () => {
    const pMalignant = model.test.labels.map((_, i) => probabilities[i * 2 + 1]!);
    const result = evaluateBinary(pMalignant, model.test.labels);
    expect(result.n).toBe(model.test.labels.length);
    expect(result.auroc).toBeGreaterThan(0.97);
    expect(result.accuracy).toBeGreaterThan(0.93);
  });

  it('computes what the fitted coefficients say, with consistent probabilities and labels', () => {
    const { means, stds, weights, intercept } = model.coefficients;
    model.test.labels.forEach((_, i) => {
      let z = intercept;
      for (let j = 0; j < 30; j++)
        z += ((model.test.features[i * 30 + j]! - means[j]!) / stds[j]!) * weights[j]!;
      const p = sigmoid(z);
      expect(Math.abs(probabilities[i * 2 + 1]! - p)).toBeLessThan(1e-5);
      expect(Math.abs(probabilities[i * 2]! - (1 - p))).toBeLessThan(1e-5);
      expect(labels[i]).toBe(probabilities[i * 2 + 1]! >= 0.5 ? 1n : 0n);
    });
  });

  it('holds out a stratified 20% chosen by the seed, and records how it trained', () => {
    const malignantTotal = csv.split('\n').filter((l) => l.includes(',malignant')).length;
    expect(model.trainRows + model.test.labels.length).toBe(569);
    expect(model.test.labels.length).toBe(113);
    expect(model.test.features).toHaveLength(113 * 30);
    expect(model.test.labels.filter((y) => y === 1)).toHaveLength(Math.round(malignantTotal * 0.2));
    expect(model.parameters).toMatchObject({
      algorithm: 'logistic_regression',
      l2: 1,
      seed: 42,
      converged: true,
      split: { method: 'stratified', testFraction: 0.2, trainRows: 456, testRows: 113 },
    });
    expect(model.datasetSha256).toBe(sha256Hex(csv));
    expect(model.featureNames).toEqual(WDBC_FEATURE_NAMES);

    const other = buildBreastCancerModel(csv, { seed: 7 });
    expect(other.test.labels).toHaveLength(113);
    expect(other.test.features).not.toEqual(model.test.features);
  });

  it('is byte-for-byte reproducible from the same data and options', () => {
    const again = buildBreastCancerModel(csv);
    expect(sha256Hex(again.onnx)).toBe(sha256Hex(model.onnx));
  });

  it('describes itself in the ONNX file: opset 13, producer galen, feature order and label meaning', () => {
    const info = readOnnxModelInfo(model.onnx);
    expect(info.opsetImports).toEqual([{ domain: '', version: 13 }]);
    expect(info.producerName).toBe('galen');
    expect(info.producerVersion).toBe('0.1.0');
    expect(info.operators).toEqual([
      'Add',
      'Cast',
      'Concat',
      'Div',
      'GreaterOrEqual',
      'MatMul',
      'Sigmoid',
      'Squeeze',
      'Sub',
    ]);
    expect(JSON.parse(info.metadata.feature_names!)).toEqual(WDBC_FEATURE_NAMES);
    expect(JSON.parse(info.metadata.class_labels!)).toEqual(['benign', 'malignant']);
    expect(info.metadata.dataset_sha256).toBe(model.datasetSha256);
    expect(info.docString).toBe(model.description);
    expect(model.description).toContain('column 1 = P(malignant)');
    expect(model.description).toContain('mean_radius, mean_texture');

    const versioned = buildBreastCancerModel(csv, { producerVersion: '2.0.0' });
    expect(readOnnxModelInfo(versioned.onnx).producerVersion).toBe('2.0.0');
  });
});
