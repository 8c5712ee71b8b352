import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { buildRecommenderDataset, splitColdStartUsers, splitInteractions } from './index.js';
import type { RecommenderDataset, RecommenderInput } from './index.js';

function expectInvalid(run: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(GalenError);
  expect((caught as GalenError).code).toBe('invalid_input');
  expect((caught as GalenError).message).toMatch(message);
}

const positivesOf = (data: RecommenderDataset, user: string): string[] =>
  Array.from(data.positives[data.userIds.indexOf(user)]!.items, (i) => data.itemIds[i]!);

describe('buildRecommenderDataset', () => {
  const input: RecommenderInput = {
    interactions: [
      { user: 'b', item: 'x' },
      { user: 'a', item: 'y' },
      { user: 'a', item: 'x' },
      { user: 'a', item: 'x' },
    ],
    userFeatures: [
      { user: 'a', feature: 'dx:1' },
      { user: 'a', feature: 'dx:2', value: 3 },
      { user: 'c', feature: 'dx:1' },
    ],
    itemFeatures: [{ item: 'z', feature: 'route:PO' }],
  };

  it('indexes users, items and features in sorted order and collapses duplicate interactions', () => {
    const data = buildRecommenderDataset(input);
    expect(data.userIds).toEqual(['a', 'b', 'c']);
    expect(data.itemIds).toEqual(['x', 'y', 'z']);
    expect(data.userFeatureNames).toEqual(['dx:1', 'dx:2']);
    expect(data.itemFeatureNames).toEqual(['item:x', 'item:y', 'item:z', 'route:PO']);
    expect(positivesOf(data, 'a')).toEqual(['x', 'y']);
    expect(positivesOf(data, 'c')).toEqual([]);
    expect(data.counts).toEqual({
      positives: 3,
      belowMinScore: 0,
      duplicateInteractions: 1,
      usersWithoutFeatures: 1,
    });
  });

  it("normalises each user's and item's feature weights to sum 1", () => {
    const data = buildRecommenderDataset(input);
    expect(Array.from(data.userFeatures[0]!.weights)).toEqual([0.25, 0.75]);
    expect(data.userFeatures[1]!.indices.length).toBe(0);
    const z = data.itemFeatures[2]!;
    expect(Array.from(z.indices)).toEqual([2, 3]);
    expect(Array.from(z.weights)).toEqual([0.5, 0.5]);
  });

  it('treats scored interactions below minScore as non-positives and can weight positives by score', () => {
    const rows: RecommenderInput = {
      interactions: [
        { user: 'a', item: 'x', score: 1 },
        { user: 'a', item: 'x', score: 4 },
        { user: 'a', item: 'y', score: 2 },
        { user: 'a', item: 'z' },
      ],
    };
    const data = buildRecommenderDataset(rows, { minScore: 3, weightByScore: true });
    expect(positivesOf(data, 'a')).toEqual(['x', 'z']);
    // The duplicate kept its higher score (4); the unscored row weighs 1.
    expect(Array.from(data.positives[0]!.weights)).toEqual([4, 1]);
    expect(data.counts.belowMinScore).toBe(1);
  });

  it('rejects empty and malformed input with what was wrong', () => {
    expectInvalid(() => buildRecommenderDataset({ interactions: [] }), /interactions is empty/);
    expectInvalid(() => buildRecommenderDataset(null as unknown as RecommenderInput), /not an object/);
    expectInvalid(
      () => buildRecommenderDataset({ interactions: [{ user: 'a', item: 'x' }], userFeatures: {} as never }),
      /userFeatures is not an array/,
    );
    expectInvalid(
      () => buildRecommenderDataset({ interactions: [{ user: '', item: 'x' }] }),
      /interactions\[0\]\.user is empty; expected a non-empty string/,
    );
    expectInvalid(
      () => buildRecommenderDataset({ interactions: [{ user: 'a', item: 7 as unknown as string }] }),
      /interactions\[0\]\.item is a number; expected a non-empty string/,
    );
    // A numeric patient id (a subject_id) is named by its kind, never shown.
    expect(() =>
      buildRecommenderDataset({ interactions: [{ user: 5551234 as unknown as string, item: 'x' }] }),
    ).toThrow(/^interactions\[0\]\.user is a number; expected a non-empty string$/);
    expectInvalid(
      () => buildRecommenderDataset({ interactions: [{ user: 'a', item: 'x', score: Number.NaN }] }),
      /score is NaN; expected a finite number/,
    );
    expectInvalid(
      () =>
        buildRecommenderDataset({
          interactions: [{ user: 'a', item: 'x' }],
          userFeatures: [{ user: 'a', feature: 'dx:1', value: -1 }],
        }),
      /userFeatures\[0\]\.value is -1; expected a finite number > 0/,
    );
    expectInvalid(
      () =>
        buildRecommenderDataset({
          interactions: [{ user: 'a', item: 'x' }],
          itemFeatures: [{ item: 'x', feature: 'item:y' }],
        }),
      /reserved prefix "item:"/,
    );
    expectInvalid(
      () => buildRecommenderDataset({ interactions: [{ user: 'a', item: 'x', score: 1 }] }, { minScore: 2 }),
      /no interaction is a positive/,
    );
    expectInvalid(
      () =>
        buildRecommenderDataset(
          { interactions: [{ user: 'a', item: 'x', score: 0 }] },
          { minScore: 0, weightByScore: true },
        ),
      /cannot be a sample weight/,
    );
  });
});

describe('splits', () => {
  // 20 users with 1…20 positives among 30 items, each with a feature.
  const interactions = Array.from({ length: 20 }, (_, u) =>
    Array.from({ length: u + 1 }, (_, k) => ({ user: `u${u}`, item: `i${(u + k) % 30}` })),
  ).flat();
  const userFeatures = Array.from({ length: 20 }, (_, u) => ({ user: `u${u}`, feature: `f${u % 4}` }));
  const data = buildRecommenderDataset({ interactions, userFeatures });

  it('holds out about a fifth of each user’s positives, never all, and only from users with 2 or more', () => {
    const split = splitInteractions(data, { seed: 3 });
    data.positives.forEach((all, u) => {
      const train = [...split.train.positives[u]!.items];
      const test = [...split.test[u]!.items];
      expect([...train, ...test].sort((a, b) => a - b)).toEqual([...all.items]);
      expect(train.length).toBeGreaterThanOrEqual(1);
      const n = all.items.length;
      expect(test.length).toBe(n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * 0.2))));
    });
    expect(split.testUsers).toBe(19);
    expect(splitInteractions(data, { seed: 3 }).test).toEqual(split.test);
    expect(splitInteractions(data, { seed: 4 }).test).not.toEqual(split.test);
  });

  it('holds out whole users for cold start, keeping their features, and groups together', () => {
    const split = splitColdStartUsers(data, { seed: 3 });
    expect(split.testUsers).toBe(4);
    data.positives.forEach((all, u) => {
      const held = split.test[u]!.items.length > 0;
      expect(split.train.positives[u]!.items.length).toBe(held ? 0 : all.items.length);
    });
    expect(split.train.userFeatures).toBe(data.userFeatures);

    const groups = new Map(data.userIds.map((id, u) => [id, `patient${u % 5}`]));
    const folds = [0, 1, 2, 3, 4].map((fold) => splitColdStartUsers(data, { folds: 5, fold, groups }));
    const heldIn = data.userIds.map((_, u) => folds.filter((f) => f.test[u]!.items.length > 0).length);
    expect(heldIn.every((n) => n === 1)).toBe(true);
    for (const f of folds) {
      const heldGroups = new Set(
        data.userIds.filter((_, u) => f.test[u]!.items.length > 0).map((id) => groups.get(id)),
      );
      expect(heldGroups.size).toBe(1);
    }
  });

  it('rejects impossible splits', () => {
    expectInvalid(() => splitInteractions(data, { testFraction: 1 }), /strictly between 0 and 1/);
    expectInvalid(() => splitColdStartUsers(data, { testFraction: 0.01 }), /holds out 0 of 20 groups/);
    expectInvalid(() => splitColdStartUsers(data, { folds: 5, fold: 5 }), /from 0 to 4/);
  });
});
