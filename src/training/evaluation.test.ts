import { describe, expect, it } from 'vitest';
import {
  auprc,
  bySubgroup,
  calibrationCurve,
  evaluateBinaryReport,
  evaluateMulticlassReport,
  evaluateRegressionReport,
} from './evaluation.js';
import { mulberry32 } from './split.js';

describe('evaluateBinaryReport', () => {
  it('computes the threshold metrics and confusion matrix exactly', () => {
    const p = [0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.7, 0.4];
    const y = [1, 1, 1, 0, 0, 0, 1, 0];
    const r = evaluateBinaryReport(p, y, { bootstrap: 0 });
    expect(r.confusion).toEqual({ tp: 3, fn: 1, fp: 1, tn: 3 });
    expect(r.accuracy.value).toBe(6 / 8);
    expect(r.precision.value).toBe(3 / 4);
    expect(r.recall.value).toBe(3 / 4);
    expect(r.specificity.value).toBe(3 / 4);
    expect(r.f1.value).toBeCloseTo(0.75, 12);
    expect(r.auroc.value).toBe(14 / 16); // pairs where the positive scores higher
    expect(r.brier.value).toBeCloseTo((0.01 + 0.04 + 0.49 + 0.36 + 0.04 + 0.01 + 0.09 + 0.16) / 8, 12);
    const strict = evaluateBinaryReport(p, y, { threshold: 0.75, bootstrap: 0 });
    expect(strict.confusion).toEqual({ tp: 2, fn: 2, fp: 0, tn: 4 });
  });

  it('gives 95% bootstrap intervals around the value, reproducibly by seed', () => {
    const random = mulberry32(3);
    const y = Array.from({ length: 400 }, () => (random() < 0.3 ? 1 : 0));
    const p = y.map((label) => Math.min(1, Math.max(0, (label ? 0.65 : 0.35) + (random() - 0.5) * 0.6)));
    const a = evaluateBinaryReport(p, y, { bootstrap: 300, seed: 9 });
    const b = evaluateBinaryReport(p, y, { bootstrap: 300, seed: 9 });
    expect(a).toEqual(b);
    for (const m of ['accuracy', 'auroc', 'auprc', 'brier', 'f1'] as const) {
      const { value, ci95 } = a[m];
      expect(ci95, m).toBeDefined();
      expect(ci95!.low).toBeLessThanOrEqual(value);
      expect(ci95!.high).toBeGreaterThanOrEqual(value);
      expect(ci95!.high - ci95!.low).toBeLessThan(0.2);
    }
    expect(a.calibration.reduce((n, bin) => n + bin.count, 0)).toBe(400);
  });

  it('refuses labels other than 0/1 and probabilities outside [0, 1]', () => {
    expect(() => evaluateBinaryReport([0.5], [2])).toThrow(/binary labels are 0 or 1/);
    expect(() => evaluateBinaryReport([1.5], [1])).toThrow(/probabilities are in \[0, 1\]/);
    expect(() => evaluateBinaryReport([], [])).toThrow(/at least one row/);
  });
});

describe('auprc', () => {
  it('equals average precision (scikit-learn average_precision_score) on known cases', () => {
    expect(auprc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.8333333333, 9);
    expect(auprc([0.9, 0.8, 0.7], [1, 1, 0])).toBe(1);
    // Tied scores form one step: precision 2/4 at recall 1.
    expect(auprc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toBe(0.5);
  });
});

describe('calibrationCurve', () => {
  it('bins predictions by value and reports observed rates', () => {
    const bins = calibrationCurve([0.05, 0.07, 0.95, 0.92, 0.55], [0, 1, 1, 1, 0], 10);
    expect(bins.map((b) => [Number(b.predicted.toFixed(9)), b.observed, b.count])).toEqual([
      [0.06, 0.5, 2],
      [0.55, 0, 1],
      [0.935, 1, 2],
    ]);
  });
});

describe('evaluateRegressionReport', () => {
  it('computes RMSE, MAE and R² exactly', () => {
    const r = evaluateRegressionReport([2, 4, 6], [1, 4, 7], { bootstrap: 0 });
    expect(r.rmse.value).toBeCloseTo(Math.sqrt(2 / 3), 12);
    expect(r.mae.value).toBeCloseTo(2 / 3, 12);
    expect(r.r2.value).toBeCloseTo(1 - 2 / 18, 12);
  });
});

describe('bySubgroup', () => {
  it('evaluates each group and leaves small groups without metrics', () => {
    const groups = ['F', 'M', 'F', null, 'M', 'F'];
    const out = bySubgroup(groups, (rows) => rows.length, 2);
    expect(out).toEqual({ '(missing)': { n: 1 }, F: { n: 3, report: 3 }, M: { n: 2, report: 2 } });
  });

  it('labels numeric groups as numbers are written ("0", "1", "2.5"), not as the CSV spells them ("1.0")', () => {
    const out = bySubgroup(['1.0', '0.0', '1', '0.0', '2.50', ' 1.0 ', 'F'], (rows) => rows.length, 1);
    expect(out).toEqual({
      '0': { n: 2, report: 2 },
      '1': { n: 3, report: 3 },
      '2.5': { n: 1, report: 1 },
      F: { n: 1, report: 1 },
    });
  });
});

describe('evaluateMulticlassReport', () => {
  it('computes accuracy, macro averages, log loss and the confusion matrix exactly', () => {
    // rows: true class, probabilities over 3 classes
    const p = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8];
    const y = [0, 1, 2, 2];
    const r = evaluateMulticlassReport(p, y, 3, { bootstrap: 0 });
    expect(r.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ]);
    expect(r.accuracy.value).toBe(0.75);
    expect(r.macroPrecision.value).toBeCloseTo((1 + 0.5 + 1) / 3, 12);
    expect(r.macroRecall.value).toBeCloseTo((1 + 1 + 0.5) / 3, 12);
    expect(r.logLoss.value).toBeCloseTo(
      -(Math.log(0.7) + Math.log(0.8) + Math.log(0.3) + Math.log(0.8)) / 4,
      12,
    );
    expect(() => evaluateMulticlassReport(p, [0, 1, 2, 3], 3)).toThrow(/class indices run from 0 to 2/);
  });
});
