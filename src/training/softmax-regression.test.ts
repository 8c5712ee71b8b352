import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../datasets/index.js';
import {
  fitLogisticRegression,
  fitSoftmaxRegression,
  fitStandardizer,
  mulberry32,
  standardize,
} from './index.js';
import type { DenseMatrix, SoftmaxRegressionFit } from './index.js';
import { duplicateRows } from '../../test/helpers/duplicate-rows.js';
import { dataUrl } from '../../test/helpers/data.js';

const read = (name: string) => parseCsv(readFileSync(dataUrl(`clinical/${name}`)));

/** heart_cleveland.csv without its incomplete rows: 13 standardised features, `num` in 0..4 (5 classes). */
function heartDisease(): { z: DenseMatrix; y: number[] } {
  const table = read('heart_cleveland.csv');
  const target = table.columns.indexOf('num');
  const complete = table.rows.filter((r) => r.every((v) => v !== null)).map((r) => r.map(Number));
  const rows = complete.map((r) => r.filter((_, j) => j !== target));
  return { z: standardize(fitStandardizer(rows), rows), y: complete.map((r) => r[target]!) };
}

/** Probabilities of every class for row i. */
function probabilities(z: DenseMatrix, fit: SoftmaxRegressionFit, i: number): number[] {
  const row = z.data.subarray(i * z.cols, (i + 1) * z.cols);
  const scores = fit.coefficients.map((w, k) =>
    row.reduce((acc, v, j) => acc + v * w[j]!, fit.intercepts[k]!),
  );
  const top = Math.max(...scores);
  const e = scores.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Largest entry of the gradient of `Σ s·(−log p) + (l2 / 2) ‖W‖²`: 0 at the optimum. */
function gradientNorm(
  z: DenseMatrix,
  y: ArrayLike<number>,
  fit: SoftmaxRegressionFit,
  l2: number,
  s?: ArrayLike<number>,
): number {
  const g = fit.coefficients.map((w) => [...Array.from(w, (v) => l2 * v), 0]);
  for (let i = 0; i < z.rows; i++) {
    const p = probabilities(z, fit, i);
    p.forEach((pk, k) => {
      const r = (s?.[i] ?? 1) * (pk - (y[i] === k ? 1 : 0));
      const gk = g[k]!;
      for (let j = 0; j < z.cols; j++) gk[j] = gk[j]! + r * z.data[i * z.cols + j]!;
      gk[z.cols] = gk[z.cols]! + r;
    });
  }
  return Math.max(...g.flat().map(Math.abs));
}

describe('fitSoftmaxRegression', () => {
  it('reduces to binary logistic regression with two classes (l2 doubled, weights as class differences)', () => {
    const table = read('breast_cancer_wdbc.csv');
    const rows = table.rows.map((r) => r.slice(0, 30).map(Number));
    const y = table.rows.map((r) => (r[30] === 'malignant' ? 1 : 0));
    const z = standardize(fitStandardizer(rows), rows);
    const binary = fitLogisticRegression(z, y, { l2: 1 });
    const softmax = fitSoftmaxRegression(z, y, { l2: 2 });
    expect(softmax.converged).toBe(true);
    expect(softmax.coefficients).toHaveLength(2);
    const [w0, w1] = softmax.coefficients as [Float64Array, Float64Array];
    binary.weights.forEach((b, j) => {
      expect(w1[j]! - w0[j]!).toBeCloseTo(b, 9);
      expect(w0[j]! + w1[j]!).toBeCloseTo(0, 14);
    });
    expect(softmax.intercepts[1]! - softmax.intercepts[0]!).toBeCloseTo(binary.intercept, 9);
  });

  it('reaches the optimum on five heart-disease classes, with class sums fixed at 0', () => {
    const { z, y } = heartDisease();
    for (const l2 of [1, 0.05]) {
      const fit = fitSoftmaxRegression(z, y, { l2 });
      expect(fit.converged).toBe(true);
      expect(fit.iterations).toBeLessThan(20);
      expect(fit.coefficients).toHaveLength(5);
      expect(fit.coefficients[0]).toHaveLength(13);
      expect(gradientNorm(z, y, fit, l2)).toBeLessThan(1e-9);
      for (let j = 0; j < 13; j++) expect(fit.coefficients.reduce((a, w) => a + w[j]!, 0)).toBeCloseTo(0, 13);
      expect(fit.intercepts.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 13);
      // Better than predicting the commonest class (54% are class 0) on the training rows.
      const correct = y.filter((label, i) => {
        const p = probabilities(z, fit, i);
        return p.indexOf(Math.max(...p)) === label;
      }).length;
      expect(correct / y.length).toBeGreaterThan(0.6);
    }
    const again = fitSoftmaxRegression(z, y, { l2: 1 });
    expect(Array.from(again.coefficients[3]!)).toEqual(
      Array.from(fitSoftmaxRegression(z, y, { l2: 1 }).coefficients[3]!),
    );
  });

  it('treats an integer sample weight as that many copies of the row', () => {
    const { z, y } = heartDisease();
    const random = mulberry32(21);
    const s = y.map(() => 1 + Math.floor(random() * 3));
    const { x: copies, y: copiedY } = duplicateRows(z, y, s);
    const weighted = fitSoftmaxRegression(z, y, { l2: 2, sampleWeights: s });
    const duplicated = fitSoftmaxRegression(copies, copiedY, { l2: 2 });
    weighted.coefficients.forEach((w, k) =>
      w.forEach((v, j) => expect(v).toBeCloseTo(duplicated.coefficients[k]![j]!, 9)),
    );
    weighted.intercepts.forEach((b, k) => expect(b).toBeCloseTo(duplicated.intercepts[k]!, 9));
    expect(gradientNorm(z, y, weighted, 2, s)).toBeLessThan(1e-9);
  });

  it('gives centred log class weights as intercepts when there are no features', () => {
    const labels = [0, 1, 1, 2, 2, 2, 0, 2];
    const s = [1, 1, 1, 1, 1, 1, 1, 0.5];
    const fit = fitSoftmaxRegression({ data: [], rows: 8, cols: 0 }, labels, { sampleWeights: s });
    const logs = [Math.log(2), Math.log(2), Math.log(3.5)];
    const mean = logs.reduce((a, b) => a + b, 0) / 3;
    fit.intercepts.forEach((b, k) => expect(b).toBeCloseTo(logs[k]! - mean, 12));
  });

  it('fits without a penalty, choosing the sum-to-zero solution', () => {
    const random = mulberry32(4);
    const rows = Array.from({ length: 400 }, () => [random() * 2 - 1, random() * 2 - 1]);
    // Noisy labels from three overlapping directions: not separable, so the unpenalised optimum is finite.
    const y = rows.map(([a, b]) => {
      const scores = [a!, b!, -a! - b!].map((v) => Math.exp(2 * v));
      const u = random() * scores.reduce((p, q) => p + q, 0);
      return u < scores[0]! ? 0 : u < scores[0]! + scores[1]! ? 1 : 2;
    });
    const z = { data: rows.flat(), rows: rows.length, cols: 2 };
    const fit = fitSoftmaxRegression(z, y, { l2: 0 });
    expect(fit.converged).toBe(true);
    expect(gradientNorm({ ...z, data: Float64Array.from(z.data) }, y, fit, 0)).toBeLessThan(1e-9);
    for (let j = 0; j < 2; j++) expect(fit.coefficients.reduce((a, w) => a + w[j]!, 0)).toBeCloseTo(0, 13);
    // Close to the generating weights (2, 0), (0, 2), (−2, −2), already centred, within sampling noise.
    expect(fit.coefficients[0]![0]).toBeCloseTo(2, 0);
    expect(fit.coefficients[2]![1]).toBeCloseTo(-2, 0);
  });

  it('rejects unusable labels and settings', () => {
    const rows = [[1], [2], [3], [4]];
    expect(() => fitSoftmaxRegression(rows, [0, 1, 2, 2.5])).toThrow(
      /label 3 is 2.5; class labels must be integers ≥ 0/,
    );
    expect(() => fitSoftmaxRegression(rows, [0, 1, -1, 2])).toThrow(/label 2 is -1/);
    expect(() => fitSoftmaxRegression(rows, [0, 1, 2, 3], { classes: 3 })).toThrow(
      /label 3 is 3; class labels must be integers from 0 to 2/,
    );
    expect(() => fitSoftmaxRegression(rows, [2, 2, 2, 2])).toThrow(
      /only class 2; softmax regression needs at least 2 classes/,
    );
    expect(() => fitSoftmaxRegression(rows, [0, 2, 2, 0])).toThrow(
      /class 1 has no rows with a positive weight/,
    );
    expect(() => fitSoftmaxRegression(rows, [0, 1, 2, 1], { sampleWeights: [1, 1, 0, 1] })).toThrow(
      /class 2 has no rows with a positive weight/,
    );
    expect(() => fitSoftmaxRegression(rows, [0, 1, 2])).toThrow(/there are 3 labels for 4 rows/);
    expect(() => fitSoftmaxRegression([[1], [Number.NaN]], [0, 1])).toThrow(/must be finite/);
    expect(() => fitSoftmaxRegression(rows, [0, 1, 2, 1], { l2: -1 })).toThrow(
      /l2 is -1; expected a finite number ≥ 0/,
    );
    expect(() => fitSoftmaxRegression(rows, [0, 1, 2, 1], { classes: 1 })).toThrow(
      /classes is 1; expected an integer ≥ 2/,
    );
  });
});
