/** Binary classification metrics for held-out evaluation. */
import { invalidInput } from '../core/index.js';
import { toBinaryLabels } from './features.js';

/**
 * Area under the ROC curve, via the Mann–Whitney U statistic: the chance that a random positive
 * scores above a random negative, counting ties as one half (tied scores share their average rank).
 * @throws GalenError `invalid_input` when either class is absent, since AUROC is then undefined.
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const y = toBinaryLabels(labels, scores.length);
  const order = Array.from({ length: scores.length }, (_, i) => i);
  for (const i of order) {
    if (!Number.isFinite(scores[i])) throw invalidInput(`score ${i} is ${scores[i]}; scores must be finite`);
  }
  order.sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positiveRankSum = 0;
  let positives = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1] as number] === scores[order[start] as number])
      end += 1;
    // Ranks are 1-based; every member of a tie group gets the group's mean rank.
    const averageRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (y[order[k] as number] === 1) {
        positiveRankSum += averageRank;
        positives += 1;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) {
    throw invalidInput(
      `AUROC needs both classes; the labels hold ${positives} positives and ${negatives} negatives`,
    );
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Fraction of predicted labels equal to the true labels. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length) {
    throw invalidInput(`there are ${predicted.length} predictions for ${labels.length} labels`);
  }
  if (labels.length === 0) throw invalidInput('accuracy needs at least one label');
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct += 1;
  return correct / labels.length;
}

/** Held-out performance of a binary classifier. */
export interface BinaryEvaluation {
  /** At threshold 0.5: predicted 1 when p ≥ 0.5. */
  readonly accuracy: number;
  readonly auroc: number;
  readonly n: number;
}

/**
 * Scores positive-class probabilities against 0/1 labels, thresholding at 0.5 for accuracy
 * (the same rule Galen's exported classifiers use for their `label` output).
 */
export function evaluateBinary(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
): BinaryEvaluation {
  const y = toBinaryLabels(labels, probabilities.length);
  const predicted = Array.from(probabilities, (p) => (p >= 0.5 ? 1 : 0));
  return { accuracy: accuracy(predicted, y), auroc: auroc(probabilities, y), n: y.length };
}
