import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../training/index.js';
import {
  buildRecommenderDataset,
  scoreDatasetUser,
  scoreFeatureRows,
  scoreFeatures,
  trainHybridRecommender,
} from './index.js';
import type { HybridRecommenderModel, InteractionRow, UserFeatureRow } from './index.js';

/**
 * 90 users in 3 groups; each user takes 6 of their group's 10 items. A user's features: its group
 * and a random one of 20 noise features. Items carry a shared `kind:` feature per group.
 */
function plantedData() {
  const random = mulberry32(5);
  const interactions: InteractionRow[] = [];
  const userFeatures: UserFeatureRow[] = [];
  for (let u = 0; u < 90; u++) {
    const group = u % 3;
    userFeatures.push({ user: `u${u}`, feature: `group:${group}` });
    userFeatures.push({ user: `u${u}`, feature: `noise:${Math.floor(random() * 20)}` });
    const taken = new Set<number>();
    while (taken.size < 6) taken.add(Math.floor(random() * 10));
    for (const k of taken) interactions.push({ user: `u${u}`, item: `g${group}-${k}` });
  }
  const itemFeatures = Array.from({ length: 30 }, (_, i) => ({
    item: `g${Math.floor(i / 10)}-${i % 10}`,
    feature: `kind:${Math.floor(i / 10)}`,
  }));
  return buildRecommenderDataset({ interactions, userFeatures, itemFeatures });
}

function topItems(model: HybridRecommenderModel, scores: Float64Array, k: number): string[] {
  return Array.from(scores.keys())
    .sort((a, b) => scores[b]! - scores[a]!)
    .slice(0, k)
    .map((i) => model.itemIds[i]!);
}

describe('trainHybridRecommender', () => {
  const data = plantedData();

  for (const loss of ['warp', 'bpr'] as const) {
    it(`learns from features which items a new user's group takes (${loss})`, () => {
      const model = trainHybridRecommender(data, {
        loss,
        components: 8,
        epochs: 20,
        learningRate: 0.1,
        seed: 1,
      });
      for (const group of [0, 1, 2]) {
        // A new user: their group and a noise feature never seen in training.
        const [scores] = scoreFeatureRows(model, [[`group:${group}`, 'noise:unseen']]);
        const top = topItems(model, scores!, 10);
        expect(top.filter((id) => id.startsWith(`g${group}-`)).length).toBeGreaterThanOrEqual(9);
      }
    });
  }

  it('is reproducible from its seed and survives JSON', () => {
    const options = { components: 4, epochs: 3, seed: 7 };
    const model = trainHybridRecommender(data, options);
    expect(trainHybridRecommender(data, options)).toEqual(model);
    expect(trainHybridRecommender(data, { ...options, seed: 8 }).userFeatureEmbeddings).not.toEqual(
      model.userFeatureEmbeddings,
    );
    const copy = JSON.parse(JSON.stringify(model)) as HybridRecommenderModel;
    expect(scoreDatasetUser(copy, data, 4)).toEqual(scoreDatasetUser(model, data, 4));
    expect(model.hyperParameters).toEqual({
      loss: 'warp',
      components: 4,
      epochs: 3,
      learningRate: 0.1,
      userL2: 1e-5,
      itemL2: 1e-5,
      maxSampled: 10,
      minFeatureUsers: 1,
      seed: 7,
    });
  });

  it('scores a user with no known feature by item biases alone, and leaves user biases at 0', () => {
    const model = trainHybridRecommender(data, { components: 4, epochs: 3 });
    expect(Array.from(scoreFeatures(model, []))).toEqual(model.itemBiases);
    expect(Array.from(scoreFeatures(model, [{ name: 'never-seen', weight: 1 }]))).toEqual(model.itemBiases);
    expect(model.userFeatureBiases.every((b) => b === 0)).toBe(true);
  });

  it('leaves features of users without training positives, and rare ones, out of the vocabulary', () => {
    const withCold = buildRecommenderDataset({
      interactions: [
        { user: 'a', item: 'x' },
        { user: 'b', item: 'y' },
      ],
      userFeatures: [
        { user: 'a', feature: 'common' },
        { user: 'b', feature: 'common' },
        { user: 'a', feature: 'rare' },
        { user: 'c', feature: 'cold-only' },
      ],
    });
    expect(trainHybridRecommender(withCold, { epochs: 1 }).userFeatureNames).toEqual(['common', 'rare']);
    expect(trainHybridRecommender(withCold, { epochs: 1, minFeatureUsers: 2 }).userFeatureNames).toEqual([
      'common',
    ]);
  });

  it('rejects bad options with the allowed range', () => {
    expect(() => trainHybridRecommender(data, { loss: 'hinge' as 'warp' })).toThrow(
      /expected "warp" or "bpr"/,
    );
    expect(() => trainHybridRecommender(data, { components: 0 })).toThrow(
      /components is 0; expected an integer ≥ 1/,
    );
    expect(() => trainHybridRecommender(data, { learningRate: -1 })).toThrow(/learningRate is -1/);
    expect(() => trainHybridRecommender(data, { userL2: Number.NaN })).toThrow(/userL2 is NaN/);
    expect(() => trainHybridRecommender(data, { epochs: 1.5 })).toThrow(/epochs is 1.5/);
  });
});
