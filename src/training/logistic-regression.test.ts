import { describe, expect, it } from 'vitest';
import { fitLogisticRegression, fitStandardizer, mulberry32, sigmoid, standardize } from './index.js';

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
