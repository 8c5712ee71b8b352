import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../datasets/index.js';
import { fitLinearRegression, fitStandardizer, mulberry32, standardize } from './index.js';
import type { DenseMatrix } from './index.js';
import { duplicateRows, expectSameLinearFit } from '../../test/helpers/duplicate-rows.js';
import { dataUrl } from '../../test/helpers/data.js';

/** heart_cleveland.csv without its incomplete rows: 12 standardised features predicting `thalach` (max heart rate). */
function heartRate(): { z: DenseMatrix; y: number[] } {
  const table = parseCsv(readFileSync(dataUrl('clinical/heart_cleveland.csv')));
  const target = table.columns.indexOf('thalach');
  const complete = table.rows.filter((r) => r.every((v) => v !== null)).map((r) => r.map(Number));
  const rows = complete.map((r) => r.filter((_, j) => j !== target));
  return { z: standardize(fitStandardizer(rows), rows), y: complete.map((r) => r[target]!) };
}

/** Largest violation of the elastic-net KKT conditions for `½ Σ s r² + l1 ‖w‖₁ + (l2 / 2) ‖w‖²`. */
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
    const r = (s?.[i] ?? 1) * (row.reduce((acc, v, j) => acc + v * fit.weights[j]!, fit.intercept) - y[i]!);
    row.forEach((v, j) => (g[j] = g[j]! + r * v));
    gb += r;
  }
  const parts = g.map((gj, j) => {
    const w = fit.weights[j]!;
    return w === 0 ? Math.max(0, Math.abs(gj) - l1) : Math.abs(gj + l1 * Math.sign(w));
  });
  return Math.max(Math.abs(gb), ...parts);
}

describe('fitLinearRegression', () => {
  it('recovers an exact line by least squares', () => {
    const fit = fitLinearRegression([[0], [1], [2], [3]], [1, 3, 5, 7], { l2: 0 });
    expect(fit.weights[0]).toBeCloseTo(2, 12);
    expect(fit.intercept).toBeCloseTo(1, 12);
    expect(fit.iterations).toBe(0);
  });

  it('matches the one-feature ridge formula Sxy / (Sxx + l2), leaving the intercept unpenalised', () => {
    // x̄ = 2.5, ȳ = 2.75, Sxx = 5, Sxy = 5.5.
    const fit = fitLinearRegression([[1], [2], [3], [4]], [1, 3, 2, 5], { l2: 2 });
    expect(fit.weights[0]).toBeCloseTo(5.5 / 7, 13);
    expect(fit.intercept).toBeCloseTo(2.75 - 2.5 * (5.5 / 7), 13);
  });

  it('soft-thresholds each weight on an orthogonal design: w = S(xᵀy, l1) / (xᵀx + l2)', () => {
    const rows = [
      [1, 1],
      [-1, 1],
      [1, -1],
      [-1, -1],
    ];
    // x₁ᵀy = 4 and x₂ᵀy = 6, each column's xᵀx = 4.
    const fit = fitLinearRegression(rows, [3, 1, 0, -2], { l1: 5, l2: 1 });
    expect(fit.weights[0]).toBe(0);
    expect(fit.weights[1]).toBeCloseTo(1 / 5, 14);
    expect(fit.intercept).toBeCloseTo(0.5, 14);
  });

  it('meets the elastic-net optimality conditions on real data, with exact zeros', () => {
    const { z, y } = heartRate();
    for (const [l1, l2] of [
      [0, 0],
      [0, 10],
      [50, 0],
      [300, 5],
      [1000, 0],
    ] as const) {
      const fit = fitLinearRegression(z, y, { l1, l2 });
      expect(fit.converged).toBe(true);
      // Gradients are sums over 297 rows of (heart rate × standardised feature), of order 1e4.
      expect(kktResidual(z, y, fit, { l1, l2 })).toBeLessThan(1e-10);
      const zeros = fit.weights.filter((w) => w === 0).length;
      if (l1 === 0) expect(zeros).toBe(0);
      else expect(zeros).toBeGreaterThan(0);
      if (l1 > 0) expect(fit.iterations).toBeLessThan(100);
    }
    const kept = (l1: number) =>
      fitLinearRegression(z, y, { l1, l2: 0 }).weights.filter((w) => w !== 0).length;
    expect(kept(1000)).toBeLessThan(kept(50));
  });

  it('treats an integer sample weight as that many copies of the row', () => {
    const { z, y } = heartRate();
    const random = mulberry32(5);
    const s = y.map(() => Math.floor(random() * 4));
    const { x: copies, y: copiedY } = duplicateRows(z, y, s);
    for (const options of [{ l2: 3 }, { l1: 200, l2: 1 }]) {
      const weighted = fitLinearRegression(z, y, { ...options, sampleWeights: s });
      const duplicated = fitLinearRegression(copies, copiedY, options);
      expectSameLinearFit(weighted, duplicated);
      expect(kktResidual(z, y, weighted, { ...options, s })).toBeLessThan(1e-8);
    }
  });

  it('gives a repeated or constant feature weight 0 in least squares instead of failing', () => {
    const random = mulberry32(9);
    const base = Array.from({ length: 40 }, () => [random(), random()]);
    const y = base.map(([a, b]) => 3 * a! - 2 * b! + 0.5 + 0.01 * random());
    const reduced = fitLinearRegression(base, y, { l2: 0 });
    const padded = fitLinearRegression(
      base.map(([a, b]) => [a!, a!, 7, b!]),
      y,
      { l2: 0 },
    );
    expect(padded.weights[1]).toBe(0);
    expect(padded.weights[2]).toBe(0);
    expect(padded.weights[0]).toBeCloseTo(reduced.weights[0]!, 10);
    expect(padded.weights[3]).toBeCloseTo(reduced.weights[1]!, 10);
    expect(padded.intercept).toBeCloseTo(reduced.intercept, 10);
  });

  it('predicts the weighted mean once l1 removes every feature', () => {
    const fit = fitLinearRegression([[1], [2], [3]], [2, 4, 9], { l1: 1e6, sampleWeights: [1, 2, 1] });
    expect(fit.weights[0]).toBe(0);
    expect(fit.intercept).toBeCloseTo((2 + 8 + 9) / 4, 14);
  });

  it('rejects unusable targets, features and settings', () => {
    const rows = [[1], [2], [3]];
    expect(() => fitLinearRegression(rows, [1, Number.NaN, 2])).toThrow(
      /target 1 is NaN; targets must be finite/,
    );
    expect(() => fitLinearRegression(rows, [1, 2])).toThrow(/there are 2 targets for 3 rows/);
    expect(() => fitLinearRegression([[1], [Number.POSITIVE_INFINITY]], [1, 2])).toThrow(/must be finite/);
    expect(() => fitLinearRegression([], [])).toThrow(/zero rows/);
    expect(() => fitLinearRegression(rows, [1, 2, 3], { l2: -1 })).toThrow(
      /l2 is -1; expected a finite number ≥ 0/,
    );
    expect(() => fitLinearRegression(rows, [1, 2, 3], { l1: -2 })).toThrow(/l1 is -2/);
    expect(() => fitLinearRegression(rows, [1, 2, 3], { sampleWeights: [1, 1, -1] })).toThrow(
      /sample weight 2 is -1/,
    );
    expect(() => fitLinearRegression(rows, [1, 2, 3], { maxIter: 0 })).toThrow(/maxIter is 0/);
  });
});
