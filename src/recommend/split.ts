/**
 * Seeded held-out splits for recommender evaluation: per-user held-out interactions (LightFM's
 * standard protocol) and cold-start users, held out whole with only their features known.
 */
import { invalidInput } from '../core/index.js';
import { mulberry32 } from '../training/index.js';
import { withPositives } from './interactions.js';
import type { RecommenderDataset, UserPositives } from './interactions.js';

export interface RecommenderSplitOptions {
  /** Share held out: of each user's positives, or of the users. Default 0.2. */
  readonly testFraction?: number;
  /** Default 42. */
  readonly seed?: number;
}

export interface ColdStartSplitOptions extends RecommenderSplitOptions {
  /**
   * K-fold cold start: with `folds` = K, fold `fold` (0…K−1) holds out every K-th group of one
   * seeded shuffle, so the K folds of a seed hold out each group exactly once; `testFraction` is
   * then unused. Pool the folds' evaluations with `poolEvaluations`.
   */
  readonly folds?: number;
  readonly fold?: number;
  /**
   * user id → group id (a patient, for admissions): a group's users are held out together, so one
   * patient's admissions never sit on both sides. Users missing from the map are their own group.
   */
  readonly groups?: ReadonlyMap<string, string>;
}

/** Training data and the held-out positives, both indexed like the original dataset. */
export interface RecommenderSplit {
  readonly train: RecommenderDataset;
  /** Per user; empty for users with nothing held out. */
  readonly test: readonly UserPositives[];
  /** Users with at least one held-out positive. */
  readonly testUsers: number;
}

const EMPTY: UserPositives = { items: new Int32Array(0), weights: new Float64Array(0) };

/**
 * Holds out `round(n × testFraction)` (at least 1) of the positives of every user with at least
 * 2, keeping at least one for training; users with fewer keep all theirs.
 *
 * @example const { train, test } = splitInteractions(data, { testFraction: 0.2, seed: 7 });
 */
export function splitInteractions(
  data: RecommenderDataset,
  options: RecommenderSplitOptions = {},
): RecommenderSplit {
  const { testFraction, random } = settings(options);
  const train: UserPositives[] = [];
  const test: UserPositives[] = [];
  for (const p of data.positives) {
    const n = p.items.length;
    if (n < 2) {
      train.push(p);
      test.push(EMPTY);
      continue;
    }
    const order = shuffled(n, random);
    const nTest = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
    test.push(pick(p, order.slice(0, nTest)));
    train.push(pick(p, order.slice(nTest)));
  }
  return { train: withPositives(data, train), test, testUsers: countNonEmpty(test) };
}

/**
 * Holds out `round(g × testFraction)` of the `g` groups (users by default) that have positives:
 * all their positives go to the test side, their features stay known.
 *
 * @example const split = splitColdStartUsers(data, { groups: patientOfAdmission, seed: 7 });
 */
export function splitColdStartUsers(
  data: RecommenderDataset,
  options: ColdStartSplitOptions = {},
): RecommenderSplit {
  const { testFraction, random } = settings(options);
  const groupsWithPositives = new Set<string>();
  const groupOf = data.userIds.map((id) => options.groups?.get(id) ?? `user:${id}`);
  data.positives.forEach((p, u) => {
    if (p.items.length > 0) groupsWithPositives.add(groupOf[u]!);
  });
  // Groups in a fixed (sorted) order, so the split depends only on the data and the seed.
  const groups = [...groupsWithPositives].sort();
  const order = shuffled(groups.length, random);
  const { folds, fold } = options;
  let chosen: number[];
  if (folds === undefined && fold === undefined) {
    chosen = order.slice(0, Math.round(groups.length * testFraction));
  } else {
    if (folds === undefined || fold === undefined || !Number.isSafeInteger(folds) || folds < 2) {
      throw invalidInput(`folds is ${folds} and fold ${fold}; give both, folds an integer ≥ 2`);
    }
    if (!Number.isSafeInteger(fold) || fold < 0 || fold >= folds) {
      throw invalidInput(`fold is ${fold}; expected an integer from 0 to ${folds - 1}`);
    }
    chosen = order.filter((_, position) => position % folds === fold);
  }
  if (chosen.length === 0 || chosen.length === groups.length) {
    throw invalidInput(
      `the split holds out ${chosen.length} of ${groups.length} groups with positives; need at least one on each side`,
    );
  }
  const held = new Set(chosen.map((g) => groups[g]!));
  const train: UserPositives[] = [];
  const test: UserPositives[] = [];
  data.positives.forEach((p, u) => {
    const isHeld = held.has(groupOf[u]!);
    train.push(isHeld ? EMPTY : p);
    test.push(isHeld ? p : EMPTY);
  });
  return { train: withPositives(data, train), test, testUsers: countNonEmpty(test) };
}

function settings(options: RecommenderSplitOptions): { testFraction: number; random: () => number } {
  const testFraction = options.testFraction ?? 0.2;
  const seed = options.seed ?? 42;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw invalidInput(`testFraction is ${testFraction}; expected a number strictly between 0 and 1`);
  }
  if (!Number.isSafeInteger(seed)) throw invalidInput(`seed is ${seed}; expected an integer`);
  return { testFraction, random: mulberry32(seed) };
}

/** 0..n-1 in a seeded random order (Fisher–Yates). */
function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function pick(p: UserPositives, positions: number[]): UserPositives {
  positions.sort((a, b) => a - b);
  return {
    items: Int32Array.from(positions, (k) => p.items[k]!),
    weights: Float64Array.from(positions, (k) => p.weights[k]!),
  };
}

function countNonEmpty(positives: readonly UserPositives[]): number {
  return positives.filter((p) => p.items.length > 0).length;
}
