/**
 * The recommender's dataset: plain long-format rows (interactions, user features, item features)
 * indexed into users, items and feature vocabularies, with each side's feature weights normalised
 * to sum 1 per user or item (LightFM's `normalize`).
 *
 * Users without features are kept. Their representation is the zero vector, so they score by item
 * biases alone (a learned popularity) and, in training, move only item biases. There is no user
 * identity feature `user:<id>`: it cannot help a new admission, which is the case this recommender
 * serves, and it would let the model memorise training users instead of learning from features.
 * Every item has its identity feature `item:<id>`, so the `item:` prefix is reserved.
 */
import { invalidInput, kindOf } from '../core/index.js';

/** One user–item interaction. `score` is an optional outcome (explicit feedback). */
export interface InteractionRow {
  readonly user: string;
  readonly item: string;
  readonly score?: number;
}

/** One feature of a user (a diagnosis code, an age band…); `value` defaults to 1. */
export interface UserFeatureRow {
  readonly user: string;
  readonly feature: string;
  readonly value?: number;
}

/** One feature of an item (a route, a drug class…); `value` defaults to 1. */
export interface ItemFeatureRow {
  readonly item: string;
  readonly feature: string;
  readonly value?: number;
}

export interface RecommenderInput {
  readonly interactions: readonly InteractionRow[];
  readonly userFeatures?: readonly UserFeatureRow[];
  readonly itemFeatures?: readonly ItemFeatureRow[];
}

export interface DatasetOptions {
  /** Explicit feedback: a scored interaction below this is not a positive. Unscored rows always are. */
  readonly minScore?: number;
  /** Use each positive's score as its sample weight (LightFM's `sample_weight`); unscored rows weigh 1. Default false. */
  readonly weightByScore?: boolean;
}

/** Features of one user or item: vocabulary indices (ascending) and weights summing to 1. */
export interface WeightedFeatures {
  readonly indices: Int32Array;
  readonly weights: Float64Array;
}

/** Positive items of one user (ascending item indices) and their sample weights. */
export interface UserPositives {
  readonly items: Int32Array;
  readonly weights: Float64Array;
}

/** Indexed recommender data. Users, items and feature names are sorted by code unit. */
export interface RecommenderDataset {
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
  readonly userFeatureNames: readonly string[];
  /** Starts with the identity features `item:<id>`, one per item in `itemIds` order. */
  readonly itemFeatureNames: readonly string[];
  /** Per user; empty for a user with no features. */
  readonly userFeatures: readonly WeightedFeatures[];
  /** Per item; always holds the item's identity feature. */
  readonly itemFeatures: readonly WeightedFeatures[];
  /** Per user. */
  readonly positives: readonly UserPositives[];
  readonly counts: {
    readonly positives: number;
    /** Distinct interactions whose (maximum) score was below `minScore`. */
    readonly belowMinScore: number;
    /** Rows that repeated an earlier user–item pair. */
    readonly duplicateInteractions: number;
    readonly usersWithoutFeatures: number;
  };
}

/** The identity feature every item carries. */
export const ITEM_IDENTITY_PREFIX = 'item:';

/**
 * Indexes long-format rows into a {@link RecommenderDataset}. Repeated user–item pairs collapse to
 * one, keeping the highest score; repeated features keep the highest value.
 * @throws GalenError `invalid_input` for empty or malformed rows, with the offending row's position.
 *
 * @example
 * const data = buildRecommenderDataset({
 *   interactions: [{ user: 'adm1', item: 'furosemide' }],
 *   userFeatures: [{ user: 'adm1', feature: 'dx:4280' }],
 *   itemFeatures: [{ item: 'furosemide', feature: 'route:IV' }],
 * });
 */
export function buildRecommenderDataset(
  input: RecommenderInput,
  options: DatasetOptions = {},
): RecommenderDataset {
  const { minScore } = options;
  if (minScore !== undefined && !Number.isFinite(minScore)) {
    throw invalidInput(`minScore is ${minScore}; expected a finite number`);
  }
  if (typeof input !== 'object' || input === null) {
    throw invalidInput(
      'the recommender input is not an object; expected { interactions, userFeatures?, itemFeatures? }',
    );
  }
  if (!isArray(input.interactions) || input.interactions.length === 0) {
    throw invalidInput('interactions is empty; expected at least one {user, item} row');
  }
  const pairs = new Map<string, Map<string, number>>(); // user → item → score (NaN when unscored)
  let duplicateInteractions = 0;
  input.interactions.forEach((row, i) => {
    const where = `interactions[${i}]`;
    const user = checkId(row?.user, `${where}.user`);
    const item = checkId(row?.item, `${where}.item`);
    const score = row.score;
    if (score !== undefined && !Number.isFinite(score)) {
      throw invalidInput(`${where}.score is ${String(score)}; expected a finite number or no score`);
    }
    const items = pairs.get(user) ?? new Map<string, number>();
    pairs.set(user, items);
    const previous = items.get(item);
    if (previous !== undefined) duplicateInteractions += 1;
    const next = score ?? Number.NaN;
    // NaN never wins a comparison, so a scored row beats an unscored one and the highest score stays.
    if (previous === undefined || !(previous >= next)) items.set(item, next);
  });

  const userFeatureRows = collectFeatures(input.userFeatures ?? [], 'userFeatures', 'user', (r) => r?.user);
  const itemFeatureRows = collectFeatures(input.itemFeatures ?? [], 'itemFeatures', 'item', (r) => r?.item);
  for (const [item, features] of itemFeatureRows) {
    for (const feature of features.keys()) {
      if (feature.startsWith(ITEM_IDENTITY_PREFIX)) {
        throw invalidInput(
          `item feature "${feature}" of item "${item}" uses the reserved prefix "${ITEM_IDENTITY_PREFIX}" (every item gets its own identity feature); rename it`,
        );
      }
    }
  }

  const userIds = sorted(new Set([...pairs.keys(), ...userFeatureRows.keys()]));
  const itemIdSet = new Set(itemFeatureRows.keys());
  for (const items of pairs.values()) for (const item of items.keys()) itemIdSet.add(item);
  const itemIds = sorted(itemIdSet);
  const itemIndex = indexOf(itemIds);

  const userFeatureNames = sorted(new Set([...userFeatureRows.values()].flatMap((m) => [...m.keys()])));
  const extraItemFeatures = sorted(new Set([...itemFeatureRows.values()].flatMap((m) => [...m.keys()])));
  const itemFeatureNames = [...itemIds.map((id) => ITEM_IDENTITY_PREFIX + id), ...extraItemFeatures];
  const userFeatureIndex = indexOf(userFeatureNames);
  const itemFeatureIndex = indexOf(itemFeatureNames);

  const userFeatures = userIds.map((user) =>
    weighted(userFeatureRows.get(user) ?? new Map<string, number>(), userFeatureIndex),
  );
  const itemFeatures = itemIds.map((item) => {
    const features = new Map(itemFeatureRows.get(item) ?? []);
    features.set(ITEM_IDENTITY_PREFIX + item, 1);
    return weighted(features, itemFeatureIndex);
  });

  let positiveCount = 0;
  let belowMinScore = 0;
  const positives = userIds.map((user): UserPositives => {
    const kept: [number, number][] = [];
    for (const [item, score] of pairs.get(user) ?? []) {
      const scored = !Number.isNaN(score);
      if (scored && minScore !== undefined && score < minScore) {
        belowMinScore += 1;
        continue;
      }
      const weight = options.weightByScore && scored ? score : 1;
      if (!(weight > 0)) {
        throw invalidInput(
          `a positive interaction has score ${score}, which cannot be a sample weight; weightByScore needs scores > 0 on positives (raise minScore)`,
        );
      }
      kept.push([itemIndex.get(item)!, weight]);
    }
    kept.sort((a, b) => a[0] - b[0]);
    positiveCount += kept.length;
    return { items: Int32Array.from(kept, (k) => k[0]), weights: Float64Array.from(kept, (k) => k[1]) };
  });
  if (positiveCount === 0) {
    throw invalidInput(
      `no interaction is a positive: all ${belowMinScore} scored interactions are below minScore ${minScore}`,
    );
  }
  return {
    userIds,
    itemIds,
    userFeatureNames,
    itemFeatureNames,
    userFeatures,
    itemFeatures,
    positives,
    counts: {
      positives: positiveCount,
      belowMinScore,
      duplicateInteractions,
      usersWithoutFeatures: userFeatures.filter((f) => f.indices.length === 0).length,
    },
  };
}

/** A copy of `data` with other positives (a training split); users, items and features unchanged. */
export function withPositives(
  data: RecommenderDataset,
  positives: readonly UserPositives[],
): RecommenderDataset {
  if (positives.length !== data.userIds.length) {
    throw invalidInput(`got positives for ${positives.length} users; the dataset has ${data.userIds.length}`);
  }
  const count = positives.reduce((n, p) => n + p.items.length, 0);
  return { ...data, positives, counts: { ...data.counts, positives: count } };
}

/** `Array.isArray` without its narrowing of readonly arrays to `any[]`: input may come from JSON. */
export function isArray(value: unknown): boolean {
  return Array.isArray(value);
}

function checkId(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    // Its kind, not its value: a user id is a patient's identifier.
    throw invalidInput(
      `${where} is ${typeof value === 'string' ? 'empty' : kindOf(value)}; expected a non-empty string`,
    );
  }
  return value;
}

/** owner → feature → value, validated; repeated features keep the highest value. */
function collectFeatures<R extends UserFeatureRow | ItemFeatureRow>(
  rows: readonly R[],
  name: string,
  ownerKey: 'user' | 'item',
  ownerOf: (row: R | undefined) => unknown,
): Map<string, Map<string, number>> {
  if (!isArray(rows)) throw invalidInput(`${name} is not an array; expected an array of rows`);
  const out = new Map<string, Map<string, number>>();
  rows.forEach((row, i) => {
    const where = `${name}[${i}]`;
    const owner = checkId(ownerOf(row), `${where}.${ownerKey}`);
    const feature = checkId(row.feature, `${where}.feature`);
    const value = row.value ?? 1;
    if (!(Number.isFinite(value) && value > 0)) {
      throw invalidInput(`${where}.value is ${String(value)}; expected a finite number > 0 (default 1)`);
    }
    const features = out.get(owner) ?? new Map<string, number>();
    out.set(owner, features);
    features.set(feature, Math.max(value, features.get(feature) ?? 0));
  });
  return out;
}

function weighted(
  features: ReadonlyMap<string, number>,
  index: ReadonlyMap<string, number>,
): WeightedFeatures {
  const entries = [...features].map(([name, value]) => [index.get(name)!, value] as const);
  entries.sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, e) => s + e[1], 0);
  return {
    indices: Int32Array.from(entries, (e) => e[0]),
    weights: Float64Array.from(entries, (e) => e[1] / total),
  };
}

/** Sorted by UTF-16 code unit, so the order never depends on a locale. */
function sorted(values: Iterable<string>): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function indexOf(names: readonly string[]): Map<string, number> {
  return new Map(names.map((n, i) => [n, i]));
}
