import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../datasets/index.js';
import { fitLogisticRegression, fitStandardizer, mulberry32, sigmoid, standardize } from './index.js';
import type { DenseMatrix } from './index.js';
import { duplicateRows, expectSameLinearFit } from '../../test/helpers/duplicate-rows.js';
import { dataUrl } from '../../test/helpers/data.js';

/** Gradient of the penalised loss at the fitted parameters: zero at the optimum. */
function gradientAt(
  rows: number[][],
  y: number[],
  fit: { weights: Float64Array; intercept: number },
  l2: number,
) {
  const g = Array.from(fit.weights, (w) => l2 * w);
  let gb = 0;
  rows.forEach((row, i) => {
    const p = sigmoid(row.reduce((z, v, j) => z + v * fit.weights[j]!, fit.intercept));
    const r = p - y[i]!;
    row.forEach((v, j) => (g[j] = g[j]! + r * v));
    gb += r;
  });
  return [...g, gb];
}

describe('fitLogisticRegression', () => {
  it('separates a simple case and finds the symmetric optimum', () => {
    const rows = [[-2], [-1], [1], [2]];
    const y = [0, 0, 1, 1];
    const fit = fitLogisticRegression(rows, y, { l2: 1 });
    expect(fit.converged).toBe(true);
    expect(fit.iterations).toBeLessThan(15);
    expect(fit.weights[0]).toBeGreaterThan(0.5);
    // The data are symmetric about 0, so the unpenalised intercept must be 0.
    expect(fit.intercept).toBeCloseTo(0, 10);
    for (const g of gradientAt(rows, y, fit, 1)) expect(Math.abs(g)).toBeLessThan(1e-9);
  });

  it('reaches the optimum on noisy data and accepts rows or a row-major matrix alike', () => {
    const random = mulberry32(3);
    const rows = Array.from({ length: 300 }, () => [random() * 4 - 2, random() * 10, random() - 0.5]);
    const y = rows.map(([a, b]) => (random() < sigmoid(2 * a! - 0.3 * b! + 1) ? 1 : 0));
    const s = fitStandardizer(rows);
    const z = standardize(s, rows);
    const fit = fitLogisticRegression(z, y, { l2: 0.5 });
    expect(fit.converged).toBe(true);
    const zRows = Array.from({ length: z.rows }, (_, i) => Array.from(z.data.subarray(i * 3, i * 3 + 3)));
    for (const g of gradientAt(zRows, y, fit, 0.5)) expect(Math.abs(g)).toBeLessThan(1e-8);
    expect(fit.weights[0]).toBeGreaterThan(0);
    expect(fit.weights[1]).toBeLessThan(0);

    const again = fitLogisticRegression(zRows, y, { l2: 0.5 });
    expect(Array.from(again.weights)).toEqual(Array.from(fit.weights));
    expect(again.intercept).toBe(fit.intercept);
  });

  it('penalises harder with a larger l2', () => {
    const rows = [[-2], [-1], [0.5], [1], [2], [-0.5]];
    const y = [0, 0, 0, 1, 1, 1];
    const weak = fitLogisticRegression(rows, y, { l2: 0.01 });
    const strong = fitLogisticRegression(rows, y, { l2: 100 });
    expect(Math.abs(strong.weights[0]!)).toBeLessThan(Math.abs(weak.weights[0]!) / 10);
  });

  it('stays finite and reports non-convergence on separable data without a penalty', () => {
    const fit = fitLogisticRegression([[-1], [1]], [0, 1], { l2: 0, maxIter: 20 });
    expect(fit.converged).toBe(false);
    expect(fit.iterations).toBe(20);
    expect(Number.isFinite(fit.weights[0])).toBe(true);
    expect(fit.weights[0]).toBeGreaterThan(5);
  });

  it('rejects unusable labels and settings', () => {
    expect(() => fitLogisticRegression([[1], [2]], [1, 1])).toThrow(/only class 1/);
    expect(() => fitLogisticRegression([[1], [2]], [0, 2])).toThrow(
      /label 1 is 2; binary labels must be 0 or 1/,
    );
    expect(() => fitLogisticRegression([[1], [2, 3]], [0, 1])).toThrow(/row 1 has 2 features; row 0 has 1/);
    expect(() => fitLogisticRegression([[1], [Number.NaN]], [0, 1])).toThrow(/must be finite/);
    expect(() => fitLogisticRegression([[1], [2]], [0, 1], { l2: -1 })).toThrow(/l2 is -1/);
  });
});

/** breast_cancer_wdbc.csv: 569 rows, 30 standardised features, malignant = 1. */
function breastCancer(): { z: DenseMatrix; y: number[] } {
  const table = parseCsv(readFileSync(dataUrl('clinical/breast_cancer_wdbc.csv')));
  const rows = table.rows.map((r) => r.slice(0, 30).map(Number));
  const y = table.rows.map((r) => (r[30] === 'malignant' ? 1 : 0));
  return { z: standardize(fitStandardizer(rows), rows), y };
}

/**
 * The largest violation of the elastic-net optimality (KKT) conditions: the intercept's gradient is 0,
 * a nonzero weight's gradient is −l1·sign(w), and a zero weight's gradient is at most l1 in size.
 */
function kktResidual(
  z: DenseMatrix,
  y: ArrayLike<number>,
  fit: { weights: Float64Array; intercept: number },
  { l1 = 0, l2 = 1, s }: { l1?: number; l2?: number; s?: ArrayLike<number> },
): number {
  const g = Array.from(fit.weights, (w) => l2 * w);
  let gb = 0;
  for (let i = 0; i < z.rows; i++) {
    const row = z.data.subarray(i * z.cols, (i + 1) * z.cols);
    const r =
      (s?.[i] ?? 1) * (sigmoid(row.reduce((acc, v, j) => acc + v * fit.weights[j]!, fit.intercept)) - y[i]!);
    row.forEach((v, j) => (g[j] = g[j]! + r * v));
    gb += r;
  }
  const parts = g.map((gj, j) => {
    const w = fit.weights[j]!;
    return w === 0 ? Math.max(0, Math.abs(gj) - l1) : Math.abs(gj + l1 * Math.sign(w));
  });
  return Math.max(Math.abs(gb), ...parts);
}

describe('fitLogisticRegression with an L1 penalty and sample weights', () => {
  const { z, y } = breastCancer();

  it('meets the elastic-net optimality conditions on real data, with exact zeros', () => {
    for (const [l1, l2] of [
      [1, 0],
      [4, 1],
      [20, 0.5],
    ] as const) {
      const fit = fitLogisticRegression(z, y, { l1, l2 });
      expect(fit.converged).toBe(true);
      expect(fit.iterations).toBeLessThan(40);
      expect(kktResidual(z, y, fit, { l1, l2 })).toBeLessThan(1e-10);
      const zeros = fit.weights.filter((w) => w === 0).length;
      expect(zeros).toBeGreaterThan(5);
      expect(zeros).toBeLessThan(30);
    }
    // A stronger L1 penalty keeps fewer features.
    const count = (l1: number) =>
      fitLogisticRegression(z, y, { l1, l2: 0 }).weights.filter((w) => w !== 0).length;
    expect(count(20)).toBeLessThan(count(1));
  });

  it('zeroes every weight once l1 exceeds the largest gradient, leaving the base-rate intercept', () => {
    const fit = fitLogisticRegression(z, y, { l1: 1e4 });
    expect(Array.from(fit.weights).every((w) => w === 0)).toBe(true);
    const rate = y.filter((v) => v === 1).length / y.length;
    expect(fit.intercept).toBeCloseTo(Math.log(rate / (1 - rate)), 12);
  });

  it('treats an integer sample weight as that many copies of the row', () => {
    const random = mulberry32(11);
    const s = y.map(() => Math.floor(random() * 3));
    const { x: copies, y: copiedY } = duplicateRows(z, y, s);
    for (const options of [{ l2: 1 }, { l1: 3, l2: 0.5 }]) {
      const weighted = fitLogisticRegression(z, y, { ...options, sampleWeights: s });
      const duplicated = fitLogisticRegression(copies, copiedY, options);
      // Zero-weight rows are dropped, not merely down-weighted: the same weights are exactly 0.
      expectSameLinearFit(weighted, duplicated);
      expect(kktResidual(z, y, weighted, { ...options, s })).toBeLessThan(1e-8);
    }
  });

  it('shifts the intercept by log(w1 / w0) under class weights when there are no features', () => {
    const labels = [0, 0, 0, 1, 1, 0, 1, 0];
    const empty = { data: [], rows: labels.length, cols: 0 };
    const fit = fitLogisticRegression(empty, labels, { sampleWeights: labels.map((v) => (v ? 2.5 : 1)) });
    expect(fit.intercept).toBeCloseTo(Math.log((3 * 2.5) / 5), 12);
  });

  it('leaves the L2-only path unchanged when l1 is 0 and every weight is 1', () => {
    const plain = fitLogisticRegression(z, y, { l2: 0.3 });
    const explicit = fitLogisticRegression(z, y, { l2: 0.3, l1: 0, sampleWeights: y.map(() => 1) });
    expect(Array.from(explicit.weights)).toEqual(Array.from(plain.weights));
    expect(explicit.intercept).toBe(plain.intercept);
    expect(plain.weights.every((w) => w !== 0)).toBe(true);
  });

  it('rejects unusable penalties and sample weights', () => {
    const rows = [[1], [2], [3]];
    const labels = [0, 1, 0];
    expect(() => fitLogisticRegression(rows, labels, { l1: -0.5 })).toThrow(
      /l1 is -0.5; expected a finite number ≥ 0/,
    );
    expect(() => fitLogisticRegression(rows, labels, { l1: Number.NaN })).toThrow(/l1 is NaN/);
    expect(() => fitLogisticRegression(rows, labels, { sampleWeights: [1, 1] })).toThrow(
      /there are 2 sample weights for 3 rows/,
    );
    expect(() => fitLogisticRegression(rows, labels, { sampleWeights: [1, -1, 1] })).toThrow(
      /sample weight 1 is -1; sample weights must be finite numbers ≥ 0/,
    );
    expect(() => fitLogisticRegression(rows, labels, { sampleWeights: [1, Number.NaN, 1] })).toThrow(
      /is NaN/,
    );
    expect(() => fitLogisticRegression(rows, labels, { sampleWeights: [0, 0, 0] })).toThrow(/all 0/);
    expect(() => fitLogisticRegression(rows, labels, { sampleWeights: [1, 0, 1] })).toThrow(
      /only class 0 among rows with a positive sample weight/,
    );
  });
});

describe('standardizer', () => {
  it('centres and scales each feature with population statistics, guarding constant features', () => {
    const rows = [
      [1, 5, 0.1],
      [3, 5, 0.1],
      [5, 5, 0.1],
    ];
    const s = fitStandardizer(rows);
    expect(Array.from(s.means)).toEqual([3, 5, expect.closeTo(0.1, 15) as number]);
    expect(s.stds[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(s.stds[1]).toBe(1);
    expect(s.stds[2]).toBe(1);
    const z = standardize(s, { data: [3, 5, 0.1, 5, 7, 0.1], rows: 2, cols: 3 });
    expect(z.data[0]).toBe(0);
    expect(z.data[3]).toBeCloseTo(2 / Math.sqrt(8 / 3), 12);
    expect(z.data[4]).toBe(2);
    expect(Math.abs(z.data[5]!)).toBeLessThan(1e-15);
    expect(() => standardize(s, [[1, 2]])).toThrow(/rows have 2 features; the standardizer was fitted on 3/);
  });
});
