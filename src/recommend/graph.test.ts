import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { mimicTables } from '../../test/helpers/mimic.js';
import {
  buildRecommenderDataset,
  mimicRecommenderRows,
  recommenderGraph,
  scoreFeatureRows,
  trainHybridRecommender,
} from './index.js';
import type { HybridRecommenderModel } from './index.js';

const data = buildRecommenderDataset(mimicRecommenderRows(mimicTables()));

/** Runs the graph on rows of names padded with '' to one width. */
async function runGraph(bytes: Uint8Array, rows: readonly (readonly string[])[]) {
  const width = Math.max(...rows.map((r) => r.length));
  const flat = rows.flatMap((r) => [...r, ...Array<string>(width - r.length).fill('')]);
  const session = await InferenceSession.create(Buffer.from(bytes));
  try {
    const out = await session.run({ features: new Tensor('string', flat, [rows.length, width]) });
    return { session, scores: out.scores! };
  } finally {
    await session.release();
  }
}

function maxAbsDiff(actual: ArrayLike<number>, expected: readonly Float64Array[]): number {
  const flat = expected.flatMap((row) => [...row]);
  expect(actual.length).toBe(flat.length);
  let max = 0;
  for (let i = 0; i < flat.length; i++) max = Math.max(max, Math.abs(Number(actual[i]) - flat[i]!));
  return max;
}

describe('recommenderGraph', () => {
  const model = trainHybridRecommender(data, { components: 16, epochs: 5, seed: 3 });
  // Real admissions' features, in varying order and lengths, plus names the model never saw.
  const admissions = [0, 5, 17, 40, 88, 128].map((u) =>
    Array.from(data.userFeatures[u]!.indices, (f) => data.userFeatureNames[f]!).reverse(),
  );
  const rows = [
    ...admissions,
    [...admissions[1]!.slice(0, 3), 'dx:NOT-A-CODE'],
    ['gender:F', 'age:80+'],
    ['dx:NOT-A-CODE'],
    [],
  ];

  it('scores patients as the TypeScript model does, with padding and unknown names ignored', async () => {
    const { bytes, itemIds, inputName, outputName } = recommenderGraph(model, { producerVersion: '0.1.0' });
    const { session, scores } = await runGraph(bytes, rows);
    expect(session.inputNames).toEqual([inputName]);
    expect(session.outputNames).toEqual([outputName]);
    expect(itemIds).toEqual(model.itemIds);
    expect(scores.type).toBe('float32');
    expect(scores.dims).toEqual([rows.length, model.itemIds.length]);
    const expected = scoreFeatureRows(model, rows);
    expect(maxAbsDiff(scores.data as Float32Array, expected)).toBeLessThan(1e-4);
    // A row with no known feature gets the item biases alone.
    expect(
      maxAbsDiff((scores.data as Float32Array).slice(-itemIds.length), [Float64Array.from(model.itemBiases)]),
    ).toBeLessThan(1e-6);
  });

  it('serves a batch of one, and refuses a model it cannot look features up in', async () => {
    const { bytes } = recommenderGraph(model);
    const { scores } = await runGraph(bytes, [admissions[2]!]);
    expect(maxAbsDiff(scores.data as Float32Array, scoreFeatureRows(model, [admissions[2]!]))).toBeLessThan(
      1e-4,
    );
    const empty: HybridRecommenderModel = {
      ...model,
      userFeatureNames: [],
      userFeatureEmbeddings: [],
      userFeatureBiases: [],
    };
    expect(() => recommenderGraph(empty)).toThrow(/knows no user features/);
    expect(() => recommenderGraph({ ...model, itemBiases: [1] })).toThrow(/itemBiases has 1 values/);
  });
});
