/**
 * Trains the hybrid (LightFM-style) recommender by stochastic gradient descent with per-parameter
 * Adagrad, on a ranking loss over implicit positives: BPR (maximise log σ(s_pos − s_neg) for one
 * sampled negative) or WARP (sample negatives until one violates s_neg > s_pos − 1, at most
 * `maxSampled` tries, and weight the update by log ⌊(n_items − 1) / tries⌋). A seeded generator
 * drives initialisation, shuffling and sampling, so a seed always gives the same model.
 *
 * Differences from LightFM worth knowing: L2 acts as a gradient term on the parameters an update
 * touches (LightFM rescales all parameters once per epoch), and sampled negatives that are training
 * positives of the user are rejected for BPR as for WARP.
 */
import { invalidInput } from '../core/index.js';
import { mulberry32 } from '../training/index.js';
import type { RecommenderDataset, WeightedFeatures } from './interactions.js';
import type { HybridHyperParameters, HybridRecommenderModel, RankingLoss } from './model.js';

export interface HybridTrainingOptions {
  /** Default `'warp'`. */
  readonly loss?: RankingLoss;
  /** Embedding size. Default 32. */
  readonly components?: number;
  /** Passes over the training positives. Default 30. */
  readonly epochs?: number;
  /**
   * Adagrad's base step. Default 0.1, tuned for WARP on the MIMIC-III demo (LightFM's default is
   * 0.05); BPR's gradients shrink as σ saturates and it wanted about 1 there.
   */
  readonly learningRate?: number;
  /** L2 penalty on user-feature parameters (LightFM's `user_alpha`). Default 1e-5. */
  readonly userL2?: number;
  /** L2 penalty on item-feature parameters (LightFM's `item_alpha`). Default 1e-5. */
  readonly itemL2?: number;
  /** WARP's limit on negatives sampled per positive. Default 10. */
  readonly maxSampled?: number;
  /**
   * A user feature enters the model only if at least this many training users with positives carry
   * it; rarer ones are unknown at scoring time. Default 1.
   */
  readonly minFeatureUsers?: number;
  /** Default 42. */
  readonly seed?: number;
}

/** BPR gives up on a user after this many samples that were all positives. */
const BPR_MAX_TRIES = 100;

/**
 * Trains on `data.positives` (pass a split's `train`). The user-feature vocabulary is what the
 * users with positives carry: a feature seen only on held-out users would keep its random start.
 *
 * @example
 * const split = splitInteractions(data, { seed: 1 });
 * const model = trainHybridRecommender(split.train, { loss: 'warp', epochs: 30 });
 * const scores = scoreDatasetUser(model, data, 0);
 */
export function trainHybridRecommender(
  data: RecommenderDataset,
  options: HybridTrainingOptions = {},
): HybridRecommenderModel {
  const hp = resolveOptions(options);
  const d = hp.components;
  const nItems = data.itemIds.length;
  const random = mulberry32(hp.seed);

  // User-feature vocabulary: features of at least `minFeatureUsers` users with positives, in dataset order.
  const featureUsers = new Int32Array(data.userFeatureNames.length);
  data.positives.forEach((p, u) => {
    if (p.items.length > 0) for (const f of data.userFeatures[u]!.indices) featureUsers[f]! += 1;
  });
  const userRemap = new Int32Array(data.userFeatureNames.length).fill(-1);
  const userFeatureNames: string[] = [];
  featureUsers.forEach((count, f) => {
    if (count >= hp.minFeatureUsers) userRemap[f] = userFeatureNames.push(data.userFeatureNames[f]!) - 1;
  });
  const users = toCsr(data.userFeatures, userRemap);
  const items = toCsr(data.itemFeatures);

  const userParams = newParams(userFeatureNames.length, d, random);
  const itemParams = newParams(data.itemFeatureNames.length, d, random);

  const posUser: number[] = [];
  const posItem: number[] = [];
  const posWeight: number[] = [];
  data.positives.forEach((p, u) => {
    p.items.forEach((item, k) => {
      posUser.push(u);
      posItem.push(item);
      posWeight.push(p.weights[k]!);
    });
  });
  if (posUser.length === 0) throw invalidInput('the training data has no positives');
  if (nItems < 2) throw invalidInput(`there are ${nItems} items; ranking needs at least 2`);
  const isPositive = (u: number, item: number): boolean => binarySearch(data.positives[u]!.items, item);

  const p = new Float64Array(d);
  const qPos = new Float64Array(d);
  const qNeg = new Float64Array(d);
  const gradUser = new Float64Array(d);
  const gradItem = new Float64Array(d);
  const order = Int32Array.from(posUser, (_, k) => k);
  const lr = hp.learningRate;

  /** Applies loss gradient `c·(q_neg − q_pos)` to p's features and `∓c·p`, `∓c` to the items'. */
  const step = (u: number, pos: number, neg: number, c: number): void => {
    for (let k = 0; k < d; k++) {
      gradUser[k] = c * (qNeg[k]! - qPos[k]!);
      gradItem[k] = c * p[k]!;
    }
    adagrad(itemParams, items, pos, gradItem, -1, -c, hp.itemL2, lr);
    adagrad(itemParams, items, neg, gradItem, 1, c, hp.itemL2, lr);
    adagrad(userParams, users, u, gradUser, 1, 0, hp.userL2, lr);
  };

  for (let epoch = 0; epoch < hp.epochs; epoch++) {
    shuffle(order, random);
    for (const k of order) {
      const u = posUser[k]!;
      const pos = posItem[k]!;
      const weight = posWeight[k]!;
      represent(userParams, users, u, p);
      const sPos = represent(itemParams, items, pos, qPos) + dot(p, qPos, d);
      if (hp.loss === 'warp') {
        for (let tries = 1; tries <= hp.maxSampled; tries++) {
          const neg = Math.floor(random() * nItems);
          if (isPositive(u, neg)) continue;
          const sNeg = represent(itemParams, items, neg, qNeg) + dot(p, qNeg, d);
          if (sNeg > sPos - 1) {
            step(u, pos, neg, weight * Math.log(Math.max(1, Math.floor((nItems - 1) / tries))));
            break;
          }
        }
      } else {
        let neg = -1;
        for (let tries = 0; tries < BPR_MAX_TRIES && neg < 0; tries++) {
          const j = Math.floor(random() * nItems);
          if (!isPositive(u, j)) neg = j;
        }
        if (neg < 0) continue;
        const sNeg = represent(itemParams, items, neg, qNeg) + dot(p, qNeg, d);
        step(u, pos, neg, weight / (1 + Math.exp(sPos - sNeg))); // weight · σ(−(s_pos − s_neg))
      }
    }
  }

  const itemEmbeddings = new Float32Array(nItems * d);
  const itemBiases = new Float32Array(nItems);
  const q = new Float64Array(d);
  for (let i = 0; i < nItems; i++) {
    itemBiases[i] = represent(itemParams, items, i, q);
    itemEmbeddings.set(q, i * d);
  }
  return {
    format: 'galen-hybrid-recommender/1',
    hyperParameters: hp,
    itemIds: [...data.itemIds],
    userFeatureNames,
    userFeatureEmbeddings: Array.from(userParams.embeddings),
    userFeatureBiases: Array.from(userParams.biases),
    itemFeatureNames: [...data.itemFeatureNames],
    itemFeatureEmbeddings: Array.from(itemParams.embeddings),
    itemFeatureBiases: Array.from(itemParams.biases),
    itemEmbeddings: Array.from(itemEmbeddings),
    itemBiases: Array.from(itemBiases),
  };
}

function resolveOptions(o: HybridTrainingOptions): HybridHyperParameters {
  const hp: HybridHyperParameters = {
    loss: o.loss ?? 'warp',
    components: o.components ?? 32,
    epochs: o.epochs ?? 30,
    learningRate: o.learningRate ?? 0.1,
    userL2: o.userL2 ?? 1e-5,
    itemL2: o.itemL2 ?? 1e-5,
    maxSampled: o.maxSampled ?? 10,
    minFeatureUsers: o.minFeatureUsers ?? 1,
    seed: o.seed ?? 42,
  };
  if (hp.loss !== 'warp' && hp.loss !== 'bpr') {
    throw invalidInput(`loss is ${JSON.stringify(hp.loss)}; expected "warp" or "bpr"`);
  }
  const integers = {
    components: hp.components,
    epochs: hp.epochs,
    maxSampled: hp.maxSampled,
    minFeatureUsers: hp.minFeatureUsers,
  };
  for (const [name, value] of Object.entries(integers)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw invalidInput(`${name} is ${value}; expected an integer ≥ 1`);
  }
  if (!Number.isSafeInteger(hp.seed)) throw invalidInput(`seed is ${hp.seed}; expected an integer`);
  if (!(hp.learningRate > 0 && Number.isFinite(hp.learningRate))) {
    throw invalidInput(`learningRate is ${hp.learningRate}; expected a finite number > 0`);
  }
  for (const [name, value] of Object.entries({ userL2: hp.userL2, itemL2: hp.itemL2 })) {
    if (!(value >= 0 && Number.isFinite(value)))
      throw invalidInput(`${name} is ${value}; expected a finite number ≥ 0`);
  }
  return hp;
}

/** Feature lists as flat arrays (compressed sparse rows), indices optionally remapped (−1 drops). */
interface Csr {
  readonly offsets: Int32Array;
  readonly indices: Int32Array;
  readonly weights: Float64Array;
}

function toCsr(rows: readonly WeightedFeatures[], remap?: Int32Array): Csr {
  const offsets = new Int32Array(rows.length + 1);
  const indices: number[] = [];
  const weights: number[] = [];
  rows.forEach((row, r) => {
    let total = 0;
    row.indices.forEach((f, k) => {
      const to = remap ? remap[f]! : f;
      if (to < 0) return;
      indices.push(to);
      weights.push(row.weights[k]!);
      total += row.weights[k]!;
    });
    // Dropped features leave the rest to sum 1 again, as scoring does with unknown features.
    for (let k = offsets[r]!; k < indices.length; k++) weights[k]! /= total;
    offsets[r + 1] = indices.length;
  });
  return { offsets, indices: Int32Array.from(indices), weights: Float64Array.from(weights) };
}

/** Embeddings, biases and their Adagrad accumulators (started at 1, as LightFM does). */
interface Params {
  readonly d: number;
  readonly embeddings: Float32Array;
  readonly biases: Float32Array;
  readonly embeddingSquares: Float32Array;
  readonly biasSquares: Float32Array;
}

function newParams(rows: number, d: number, random: () => number): Params {
  const embeddings = new Float32Array(rows * d);
  // LightFM's start: uniform in [−0.5, 0.5) / d.
  for (let k = 0; k < embeddings.length; k++) embeddings[k] = (random() - 0.5) / d;
  return {
    d,
    embeddings,
    biases: new Float32Array(rows),
    embeddingSquares: new Float32Array(rows * d).fill(1),
    biasSquares: new Float32Array(rows).fill(1),
  };
}

/** Writes row `r`'s representation Σ wₖ·eₖ into `out`; returns its bias Σ wₖ·bₖ. */
function represent(params: Params, csr: Csr, r: number, out: Float64Array): number {
  const { d, embeddings, biases } = params;
  out.fill(0);
  let bias = 0;
  const end = csr.offsets[r + 1]!;
  for (let k = csr.offsets[r]!; k < end; k++) {
    const f = csr.indices[k]!;
    const w = csr.weights[k]!;
    bias += w * biases[f]!;
    const base = f * d;
    for (let c = 0; c < d; c++) out[c]! += w * embeddings[base + c]!;
  }
  return bias;
}

/**
 * One Adagrad step for every feature of row `r`, given the loss gradient with respect to the row's
 * representation (`sign · grad`) and bias (`biasGrad`); the chain rule scales both by the feature's weight.
 */
function adagrad(
  params: Params,
  csr: Csr,
  r: number,
  grad: Float64Array,
  sign: number,
  biasGrad: number,
  l2: number,
  lr: number,
): void {
  const { d, embeddings, embeddingSquares, biases, biasSquares } = params;
  const end = csr.offsets[r + 1]!;
  for (let k = csr.offsets[r]!; k < end; k++) {
    const f = csr.indices[k]!;
    const scale = sign * csr.weights[k]!;
    const base = f * d;
    for (let c = 0; c < d; c++) {
      const at = base + c;
      const value = embeddings[at]!;
      const g = scale * grad[c]! + l2 * value;
      const squares = embeddingSquares[at]! + g * g;
      embeddingSquares[at] = squares;
      embeddings[at] = value - (lr * g) / Math.sqrt(squares);
    }
    const w = csr.weights[k]!;
    if (biasGrad !== 0) {
      const g = w * biasGrad + l2 * biases[f]!;
      biasSquares[f]! += g * g;
      biases[f]! -= (lr * g) / Math.sqrt(biasSquares[f]!);
    }
  }
}

function dot(a: Float64Array, b: Float64Array, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[c]! * b[c]!;
  return s;
}

function binarySearch(sorted: Int32Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function shuffle(order: Int32Array, random: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
}
