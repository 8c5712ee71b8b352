/**
 * The trained hybrid recommender as plain, JSON-serialisable data, and how it scores: a user is the
 * weighted mean of its known features' embeddings, an item the sum of its features' embeddings
 * (precomputed), and score(u, i) = ⟨p_u, q_i⟩ + b_u + b_i.
 */
import { invalidInput } from '../core/index.js';
import type { RecommenderDataset } from './interactions.js';

export type RankingLoss = 'warp' | 'bpr';

/** Hyper-parameters as trained, every default filled in. */
export interface HybridHyperParameters {
  readonly loss: RankingLoss;
  readonly components: number;
  readonly epochs: number;
  readonly learningRate: number;
  readonly userL2: number;
  readonly itemL2: number;
  readonly maxSampled: number;
  readonly minFeatureUsers: number;
  readonly seed: number;
}

/**
 * A trained model. Matrices are row-major `number[]` holding float32 values, so the model survives
 * `JSON.stringify` and the ONNX graph made from it computes with exactly these numbers.
 */
export interface HybridRecommenderModel {
  readonly format: 'galen-hybrid-recommender/1';
  readonly hyperParameters: HybridHyperParameters;
  /** Column labels of every score vector. */
  readonly itemIds: readonly string[];
  /** Features of at least `minFeatureUsers` training users with positives; others are unknown at scoring time. */
  readonly userFeatureNames: readonly string[];
  /** [userFeatureNames.length × components]. */
  readonly userFeatureEmbeddings: readonly number[];
  /**
   * One per user feature. Ranking losses are blind to a per-user constant, so training leaves
   * these at 0; they are kept so the format (and the ONNX graph) also fits pointwise losses.
   */
  readonly userFeatureBiases: readonly number[];
  readonly itemFeatureNames: readonly string[];
  /** [itemFeatureNames.length × components]. */
  readonly itemFeatureEmbeddings: readonly number[];
  readonly itemFeatureBiases: readonly number[];
  /** Item representations q_i, the weighted sums of their features' embeddings: [itemIds.length × components]. */
  readonly itemEmbeddings: readonly number[];
  /** b_i, the weighted sums of item feature biases. */
  readonly itemBiases: readonly number[];
}

/** One user feature with its weight (weights are renormalised over the features the model knows). */
export interface NamedFeature {
  readonly name: string;
  readonly weight: number;
}

const vocabularies = new WeakMap<HybridRecommenderModel, ReadonlyMap<string, number>>();

function userFeatureIndex(model: HybridRecommenderModel): ReadonlyMap<string, number> {
  let index = vocabularies.get(model);
  if (!index) {
    index = new Map(model.userFeatureNames.map((n, i) => [n, i]));
    vocabularies.set(model, index);
  }
  return index;
}

/**
 * Item scores for a user described by weighted features. Features the model does not know are
 * ignored and the rest renormalised to sum 1, as in training; a user with no known feature gets
 * the item biases alone.
 */
export function scoreFeatures(
  model: HybridRecommenderModel,
  features: readonly NamedFeature[],
): Float64Array {
  const index = userFeatureIndex(model);
  const d = model.hyperParameters.components;
  const p = new Float64Array(d);
  let bias = 0;
  let total = 0;
  for (const { name, weight } of features) {
    const f = index.get(name);
    if (f === undefined) continue;
    if (!(Number.isFinite(weight) && weight > 0)) {
      throw invalidInput(`feature "${name}" has weight ${weight}; expected a finite number > 0`);
    }
    total += weight;
    bias += weight * model.userFeatureBiases[f]!;
    for (let c = 0; c < d; c++) p[c]! += weight * model.userFeatureEmbeddings[f * d + c]!;
  }
  if (total > 0) {
    for (let c = 0; c < d; c++) p[c]! /= total;
    bias /= total;
  }
  const n = model.itemIds.length;
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = bias + model.itemBiases[i]!;
    for (let c = 0; c < d; c++) s += p[c]! * model.itemEmbeddings[i * d + c]!;
    scores[i] = s;
  }
  return scores;
}

/**
 * Scores rows of feature names, each name weighing 1 and `''` (padding) or unknown names ignored:
 * exactly what the ONNX graph from `recommenderGraph` computes. Send each name once per row.
 *
 * @example const [scores] = scoreFeatureRows(model, [['dx:4280', 'gender:F', 'age:70-79']]);
 */
export function scoreFeatureRows(
  model: HybridRecommenderModel,
  rows: readonly (readonly string[])[],
): Float64Array[] {
  return rows.map((row) =>
    scoreFeatures(
      model,
      row.map((name) => ({ name, weight: 1 })),
    ),
  );
}

/** Item scores for user `user` of `data` (any user, trained on or not), from its features. */
export function scoreDatasetUser(
  model: HybridRecommenderModel,
  data: RecommenderDataset,
  user: number,
): Float64Array {
  const features = data.userFeatures[user];
  if (!features) throw invalidInput(`user ${user} is not in the dataset (it has ${data.userIds.length})`);
  if (data.itemIds.length !== model.itemIds.length) {
    throw invalidInput(
      `the dataset has ${data.itemIds.length} items and the model ${model.itemIds.length}; score with the dataset the model was trained on`,
    );
  }
  const named = Array.from(features.indices, (f, k) => ({
    name: data.userFeatureNames[f]!,
    weight: features.weights[k]!,
  }));
  return scoreFeatures(model, named);
}
