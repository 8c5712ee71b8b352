import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import {
  buildRecommenderDataset,
  evaluateRanking,
  fitItemKnn,
  itemKnnScores,
  poolEvaluations,
  popularityScores,
  rankUser,
} from './index.js';
import type { UserPositives } from './index.js';

const positives = (...items: number[]): UserPositives => ({
  items: Int32Array.from(items),
  weights: new Float64Array(items.length).fill(1),
});

describe('rankUser', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];

  it('gives a perfect ranking NDCG 1, precision 1 and AUC 1', () => {
    const r = rankUser(scores, [], [0, 1, 2], [3, 5]);
    expect(r.atK[0]).toEqual({ k: 3, precision: 1, recall: 1, ndcg: 1 });
    expect(r.atK[1]!.precision).toBeCloseTo(3 / 5, 12);
    expect(r.atK[1]!.ndcg).toBeCloseTo(1, 12);
    expect(r.auc).toBe(1);
  });

  it('gives a reversed ranking AUC 0 and nothing at the top', () => {
    const r = rankUser(scores, [], [5, 6, 7], [3]);
    expect(r.atK[0]).toEqual({ k: 3, precision: 0, recall: 0, ndcg: 0 });
    expect(r.auc).toBe(0);
  });

  it('discounts by log2 of the rank and normalises by the ideal over min(k, relevant)', () => {
    // Relevant items at ranks 2 and 4 of the candidates, k = 5: DCG = 1/log2(3) + 1/log2(5).
    const r = rankUser(scores, [], [1, 3], [5]);
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    expect(r.atK[0]!.ndcg).toBeCloseTo(dcg / (1 + 1 / Math.log2(3)), 12);
    expect(r.atK[0]!.precision).toBeCloseTo(0.4, 12);
    expect(r.atK[0]!.recall).toBe(1);
    // Each relevant item's share of the 6 non-positives it beats: (5 + 4) / (2 × 6).
    expect(r.auc).toBeCloseTo(9 / 12, 12);
  });

  it('ranks without the training positives and counts ties as one half', () => {
    // Item 0 (a training positive) scores highest but leaves the ranking, so item 1 is first.
    expect(rankUser(scores, [0], [1], [1]).atK[0]!.precision).toBe(1);
    // All tied: AUC is exactly one half.
    expect(rankUser([1, 1, 1, 1], [], [2], [1]).auc).toBe(0.5);
  });

  it('rejects overlapping, out-of-range and missing held-out items', () => {
    expect(() => rankUser(scores, [1], [1])).toThrow(GalenError);
    expect(() => rankUser(scores, [], [8])).toThrow(/out of range; there are 8 items/);
    expect(() => rankUser(scores, [], [])).toThrow(/no held-out positive/);
    expect(() => rankUser([Number.NaN, 1], [], [1])).toThrow(/scores must be finite/);
    expect(() => rankUser(scores, [], [1], [0])).toThrow(/integers ≥ 1/);
  });
});

describe('evaluateRanking and poolEvaluations', () => {
  const train = [positives(0), positives(), positives(1)];
  const test = [positives(1), positives(), positives(0, 2)];
  const scores = [
    [3, 2, 1],
    [1, 2, 3],
    [1, 2, 3],
  ];

  it('averages over users with held-out positives only', () => {
    const e = evaluateRanking((u) => scores[u]!, train, test, [1]);
    expect(e.users).toBe(2);
    expect(e.heldOutPositives).toBe(3);
    // User 0: item 1 first among {1, 2}: precision 1. User 2: item 2 first among {0, 2}: precision 1.
    expect(e.atK[0]!.precision).toBe(1);
    // User 0's AUC is 1; user 2 has no non-positive candidate, so no AUC.
    expect(e.aucUsers).toBe(1);
    expect(e.auc).toBe(1);
  });

  it('pools folds weighting each by its users', () => {
    const a = evaluateRanking(() => [3, 2, 1], [positives()], [positives(0)], [1]);
    const b = evaluateRanking(() => [3, 2, 1], [positives(), positives()], [positives(2), positives(2)], [1]);
    const pooled = poolEvaluations([a, b]);
    expect(pooled.users).toBe(3);
    expect(pooled.atK[0]!.precision).toBeCloseTo(1 / 3, 12);
    expect(pooled.auc).toBeCloseTo(1 / 3, 12);
  });
});

describe('baselines', () => {
  const data = buildRecommenderDataset({
    interactions: [
      { user: 'u1', item: 'a' },
      { user: 'u1', item: 'b' },
      { user: 'u2', item: 'a' },
      { user: 'u2', item: 'b' },
      { user: 'u3', item: 'a' },
      { user: 'u3', item: 'c' },
      { user: 'u4', item: 'd' },
    ],
  });

  it('scores popularity by training users per item', () => {
    expect(Array.from(popularityScores(data))).toEqual([3, 2, 1, 1]);
  });

  it('scores item-kNN by cosine similarity to the user’s items and falls back to popularity', () => {
    const knn = fitItemKnn(data);
    // a and b share 2 users; |a| = 3, |b| = 2.
    expect(knn.similarity[0 * 4 + 1]).toBeCloseTo(2 / Math.sqrt(6), 12);
    expect(knn.similarity[0]).toBe(0);
    const forB = itemKnnScores(knn, [1]);
    expect(forB.fallback).toBe(false);
    expect(Array.from(forB.scores)).toEqual([2 / Math.sqrt(6), 0, 0, 0]);
    const cold = itemKnnScores(knn, []);
    expect(cold.fallback).toBe(true);
    expect(Array.from(cold.scores)).toEqual([3, 2, 1, 1]);
    expect(() => itemKnnScores(knn, [9])).toThrow(/out of range/);
  });
});
