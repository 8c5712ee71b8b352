/**
 * Held-out ranking metrics for recommenders. Each held-out user's candidates are all items except
 * their training positives; relevance is binary (held out or not). Precision, recall and NDCG at k
 * use the ranking with ties broken by item index; AUC counts ties as one half.
 */
import { invalidInput } from '../core/index.js';
import { auroc } from '../training/index.js';
import type { UserPositives } from './interactions.js';

/** Metrics at one cut-off, averaged over evaluated users. */
export interface RankingAtK {
  readonly k: number;
  readonly precision: number;
  readonly recall: number;
  readonly ndcg: number;
}

/** One user's metrics. */
export interface UserRanking {
  readonly atK: readonly RankingAtK[];
  /** The chance a held-out positive outranks a non-positive candidate; NaN without one of each. */
  readonly auc: number;
}

export interface RankingEvaluation {
  /** Users with at least one held-out positive: every average is over these. */
  readonly users: number;
  /** Users among them with an AUC (some candidate that is not a positive). */
  readonly aucUsers: number;
  readonly items: number;
  readonly heldOutPositives: number;
  readonly atK: readonly RankingAtK[];
  readonly auc: number;
}

/** Default cut-offs. */
export const DEFAULT_KS: readonly number[] = [5, 10];

/**
 * Ranks one user's candidates. `exclude` (training positives) leaves the ranking; `relevant` are the
 * held-out positives and must not overlap `exclude`.
 *
 * @example rankUser([0.9, 0.1, 0.5], [], [0], [1]) // precision@1 1, NDCG@1 1, AUC 1
 */
export function rankUser(
  scores: ArrayLike<number>,
  exclude: ArrayLike<number>,
  relevant: ArrayLike<number>,
  ks: readonly number[] = DEFAULT_KS,
): UserRanking {
  checkKs(ks);
  const n = scores.length;
  const excluded = new Uint8Array(n);
  for (let k = 0; k < exclude.length; k++) excluded[checkItem(exclude[k]!, n)] = 1;
  const isRelevant = new Uint8Array(n);
  for (let k = 0; k < relevant.length; k++) {
    const item = checkItem(relevant[k]!, n);
    if (excluded[item]) throw invalidInput(`item ${item} is both held out and a training positive`);
    isRelevant[item] = 1;
  }
  const candidates: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw invalidInput(`score ${i} is ${scores[i]}; scores must be finite`);
    if (!excluded[i]) candidates.push(i);
  }
  candidates.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const nRelevant = candidates.reduce((s, i) => s + isRelevant[i]!, 0);
  if (nRelevant === 0) throw invalidInput('the user has no held-out positive to rank');

  const atK = ks.map((k): RankingAtK => {
    let hits = 0;
    let dcg = 0;
    for (let r = 0; r < Math.min(k, candidates.length); r++) {
      if (isRelevant[candidates[r]!]) {
        hits += 1;
        dcg += 1 / Math.log2(r + 2);
      }
    }
    let ideal = 0;
    for (let r = 0; r < Math.min(k, nRelevant); r++) ideal += 1 / Math.log2(r + 2);
    return { k, precision: hits / k, recall: hits / nRelevant, ndcg: dcg / ideal };
  });
  const auc =
    nRelevant < candidates.length
      ? auroc(
          candidates.map((i) => scores[i]!),
          candidates.map((i) => isRelevant[i]!),
        )
      : Number.NaN;
  return { atK, auc };
}

/**
 * Averages {@link rankUser} over every user with held-out positives. `scoresOf(u)` gives user u's
 * scores for all items; `train[u]` and `test[u]` are u's training and held-out positives.
 *
 * @example const result = evaluateRanking((u) => scoreDatasetUser(model, data, u), split.train.positives, split.test);
 */
export function evaluateRanking(
  scoresOf: (user: number) => ArrayLike<number>,
  train: readonly UserPositives[],
  test: readonly UserPositives[],
  ks: readonly number[] = DEFAULT_KS,
): RankingEvaluation {
  if (train.length !== test.length) {
    throw invalidInput(
      `train has ${train.length} users and test ${test.length}; they must be the same users`,
    );
  }
  checkKs(ks);
  const sums = ks.map(() => ({ precision: 0, recall: 0, ndcg: 0 }));
  let users = 0;
  let aucUsers = 0;
  let aucSum = 0;
  let heldOutPositives = 0;
  let items = -1;
  test.forEach((held, u) => {
    if (held.items.length === 0) return;
    const scores = scoresOf(u);
    if (items >= 0 && scores.length !== items) {
      throw invalidInput(`user ${u} has ${scores.length} scores; earlier users had ${items}`);
    }
    items = scores.length;
    const r = rankUser(scores, train[u]!.items, held.items, ks);
    users += 1;
    heldOutPositives += held.items.length;
    r.atK.forEach((m, j) => {
      const s = sums[j]!;
      s.precision += m.precision;
      s.recall += m.recall;
      s.ndcg += m.ndcg;
    });
    if (!Number.isNaN(r.auc)) {
      aucUsers += 1;
      aucSum += r.auc;
    }
  });
  if (users === 0) throw invalidInput('no user has a held-out positive; nothing to evaluate');
  return {
    users,
    aucUsers,
    items,
    heldOutPositives,
    atK: ks.map((k, j) => ({
      k,
      precision: sums[j]!.precision / users,
      recall: sums[j]!.recall / users,
      ndcg: sums[j]!.ndcg / users,
    })),
    auc: aucUsers > 0 ? aucSum / aucUsers : Number.NaN,
  };
}

/**
 * One evaluation from several over disjoint users (the folds of a cross-validation): each average
 * weighted by its users, so every user counts once.
 */
export function poolEvaluations(evaluations: readonly RankingEvaluation[]): RankingEvaluation {
  const first = evaluations[0];
  if (!first) throw invalidInput('there are no evaluations to pool');
  const ks = first.atK.map((m) => m.k);
  for (const e of evaluations) {
    if (e.items !== first.items || e.atK.map((m) => m.k).join() !== ks.join()) {
      throw invalidInput('the evaluations to pool differ in items or cut-offs');
    }
  }
  const users = evaluations.reduce((s, e) => s + e.users, 0);
  const aucUsers = evaluations.reduce((s, e) => s + e.aucUsers, 0);
  const mean = (value: (e: RankingEvaluation) => number): number =>
    evaluations.reduce((s, e) => s + value(e) * e.users, 0) / users;
  return {
    users,
    aucUsers,
    items: first.items,
    heldOutPositives: evaluations.reduce((s, e) => s + e.heldOutPositives, 0),
    atK: ks.map((k, j) => ({
      k,
      precision: mean((e) => e.atK[j]!.precision),
      recall: mean((e) => e.atK[j]!.recall),
      ndcg: mean((e) => e.atK[j]!.ndcg),
    })),
    auc:
      aucUsers > 0
        ? evaluations.reduce((s, e) => s + (e.aucUsers > 0 ? e.auc * e.aucUsers : 0), 0) / aucUsers
        : Number.NaN,
  };
}

/**
 * A Markdown table of evaluations, one row each: precision, recall and NDCG at every cut-off, AUC
 * and the number of users.
 *
 * @example rankingTable([{ name: 'popularity', evaluation: popEval }, { name: 'WARP', evaluation: warpEval }])
 */
export function rankingTable(rows: readonly { name: string; evaluation: RankingEvaluation }[]): string {
  const first = rows[0];
  if (!first) throw invalidInput('there are no evaluations to tabulate');
  const ks = first.evaluation.atK.map((m) => m.k);
  const header = ['method', ...ks.flatMap((k) => [`P@${k}`, `R@${k}`, `NDCG@${k}`]), 'AUC', 'users'];
  const lines = rows.map(({ name, evaluation: e }) => [
    name,
    ...e.atK.flatMap((m) => [m.precision, m.recall, m.ndcg].map((v) => v.toFixed(3))),
    e.auc.toFixed(3),
    String(e.users),
  ]);
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function checkKs(ks: readonly number[]): void {
  if (ks.length === 0 || ks.some((k) => !Number.isSafeInteger(k) || k < 1)) {
    throw invalidInput(`cut-offs are [${ks.join(', ')}]; expected one or more integers ≥ 1`);
  }
}

function checkItem(item: number, n: number): number {
  if (!Number.isInteger(item) || item < 0 || item >= n) {
    throw invalidInput(`item index ${item} is out of range; there are ${n} items`);
  }
  return item;
}
