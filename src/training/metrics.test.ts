import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { accuracy, auroc, evaluateBinary, mulberry32 } from './index.js';

/** AUROC by definition: over all positive/negative pairs, 1 if the positive scores higher, ½ on a tie. */
function pairwiseAuroc(scores: number[], labels: number[]): number {
  let sum = 0;
  let pairs = 0;
  labels.forEach((yi, i) => {
    labels.forEach((yj, j) => {
      if (yi !== 1 || yj !== 0) return;
      const si = scores[i]!;
      const sj = scores[j]!;
      sum += si > sj ? 1 : si === sj ? 0.5 : 0;
      pairs += 1;
    });
  });
  return sum / pairs;
}

describe('auroc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one and 0.5 when every score ties', () => {
    const labels = [0, 0, 1, 1, 0, 1];
    expect(auroc([0.1, 0.2, 0.8, 0.9, 0.3, 0.7], labels)).toBe(1);
    expect(auroc([0.9, 0.8, 0.2, 0.1, 0.7, 0.3], labels)).toBe(0);
    expect(auroc([0.5, 0.5, 0.5, 0.5, 0.5, 0.5], labels)).toBe(0.5);
  });

  it('counts a tie between a positive and a negative as one half', () => {
    // Pairs (pos, neg): (0.5, 0.5) = ½, (0.5, 0.2) = 1, (0.8, 0.5) = 1, (0.8, 0.2) = 1 → 3.5 / 4.
    expect(auroc([0.5, 0.5, 0.2, 0.8], [1, 0, 0, 1])).toBe(0.875);
    expect(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });

  it('agrees with the pairwise definition on tie-heavy random data', () => {
    const random = mulberry32(7);
    const scores = Array.from({ length: 200 }, () => Math.round(random() * 10) / 10);
    const labels = scores.map((s) => (random() < 0.3 + 0.4 * s ? 1 : 0));
    expect(auroc(scores, labels)).toBeCloseTo(pairwiseAuroc(scores, labels), 12);
  });

  it('rejects labels with one class, non-binary labels and non-finite scores', () => {
    expect(() => auroc([0.1, 0.2], [1, 1])).toThrow(/needs both classes/);
    expect(() => auroc([0.1, 0.2], [1, 2])).toThrow(GalenError);
    expect(() => auroc([0.1, Number.NaN], [0, 1])).toThrow(/score 1 is NaN/);
    expect(() => auroc([0.1], [0, 1])).toThrow(/2 labels for 1 rows/);
  });
});

describe('accuracy and evaluateBinary', () => {
  it('counts matching labels', () => {
    expect(accuracy([1, 0, 1, 1], [1, 0, 0, 1])).toBe(0.75);
    expect(() => accuracy([1], [1, 0])).toThrow(/1 predictions for 2 labels/);
  });

  it('predicts the positive class at exactly p = 0.5', () => {
    expect(evaluateBinary([0.5, 0.49, 0.9, 0.1], [1, 0, 1, 0])).toEqual({ accuracy: 1, auroc: 1, n: 4 });
    expect(evaluateBinary([0.5, 0.7, 0.2], [0, 1, 0])).toEqual({ accuracy: 2 / 3, auroc: 1, n: 3 });
  });
});
