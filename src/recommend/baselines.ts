/**
 * Baselines a recommender must beat: popularity (how many training users have each item) and
 * item-kNN (cosine similarity between items' training user vectors, summed over the user's
 * training items). Item-kNN needs a user's own history; a user without one, such as a new
 * admission, falls back to popularity, and the result says so.
 */
import { invalidInput } from '../core/index.js';
import type { RecommenderDataset } from './interactions.js';

/** Number of training users with each item as a positive. */
export function popularityScores(train: RecommenderDataset): Float64Array {
  const counts = new Float64Array(train.itemIds.length);
  for (const p of train.positives) for (const item of p.items) counts[item]! += 1;
  return counts;
}

export interface ItemKnn {
  readonly items: number;
  /** Cosine similarity between items i and j at `i × items + j`; the diagonal is 0. */
  readonly similarity: Float64Array;
  readonly popularity: Float64Array;
}

/** Scores from {@link itemKnnScores}: `fallback` when the user had no items and popularity answered. */
export interface ItemKnnScores {
  readonly scores: Float64Array;
  readonly fallback: boolean;
}

/**
 * Cosine similarities over binary training user × item vectors: |Uᵢ ∩ Uⱼ| / √(|Uᵢ|·|Uⱼ|).
 * Dense, so for item catalogues up to a few thousand.
 *
 * @example
 * const knn = fitItemKnn(split.train);
 * const { scores, fallback } = itemKnnScores(knn, split.train.positives[u].items);
 */
export function fitItemKnn(train: RecommenderDataset): ItemKnn {
  const n = train.itemIds.length;
  const popularity = popularityScores(train);
  const similarity = new Float64Array(n * n);
  for (const p of train.positives) {
    for (const i of p.items) for (const j of p.items) if (i !== j) similarity[i * n + j]! += 1;
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const co = similarity[i * n + j]!;
      if (co > 0) similarity[i * n + j] = co / Math.sqrt(popularity[i]! * popularity[j]!);
    }
  }
  return { items: n, similarity, popularity };
}

/** A user's item scores: the sum of similarities to `userItems` (their training positives). */
export function itemKnnScores(knn: ItemKnn, userItems: ArrayLike<number>): ItemKnnScores {
  if (userItems.length === 0) return { scores: Float64Array.from(knn.popularity), fallback: true };
  const n = knn.items;
  const scores = new Float64Array(n);
  for (let k = 0; k < userItems.length; k++) {
    const item = userItems[k]!;
    if (!Number.isInteger(item) || item < 0 || item >= n) {
      throw invalidInput(`item index ${item} is out of range; there are ${n} items`);
    }
    const row = knn.similarity.subarray(item * n, (item + 1) * n);
    for (let j = 0; j < n; j++) scores[j]! += row[j]!;
  }
  return { scores, fallback: false };
}
