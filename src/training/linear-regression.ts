/**
 * Linear regression with an elastic-net penalty and per-row sample weights: ridge (and ordinary least
 * squares) in closed form through the normal equations, and the elastic net by coordinate descent on the
 * same Gram matrix, finished by an exact solve on the nonzero weights. Both are exact and deterministic.
 */
import { invalidInput } from '../core/index.js';
import { toDenseMatrix } from './features.js';
import type { FeatureInput } from './features.js';
import { minimizeL1Quadratic, solveSemidefinite } from './linear-algebra.js';
import { checkPenalty, toSampleWeights } from './sample-weights.js';

/** Fit settings. */
export interface LinearRegressionOptions {
  /** L2 penalty λ2 on the weights (not the intercept); the same as scikit-learn's `Ridge(alpha)`. Default 1. */
  readonly l2?: number;
  /** L1 penalty λ1 on the weights (not the intercept). Default 0; any λ1 > 0 sets weak weights to exactly 0. */
  readonly l1?: number;
  /** One weight ≥ 0 per row multiplying its squared error. Default: all 1. */
  readonly sampleWeights?: ArrayLike<number>;
  /** Coordinate-descent sweeps before giving up (used only when `l1 > 0`). Default 10 000. */
  readonly maxIter?: number;
}

/** A fitted model: `y ≈ weights · x + intercept`. */
export interface LinearRegressionFit {
  readonly weights: Float64Array;
  readonly intercept: number;
  /** Coordinate-descent sweeps taken: 0 for the closed form. */
  readonly iterations: number;
  /** False only when coordinate descent ran out of sweeps. */
  readonly converged: boolean;
}

/**
 * Fits `y ≈ X w + b` by minimising `½ Σ sᵢ (yᵢ − xᵢ·w − b)² + l1 ‖w‖₁ + (l2 / 2) ‖w‖²`, with `sᵢ` the
 * sample weights and the intercept unpenalised. The penalties act on the sum, not the mean, of the
 * squared errors: scikit-learn's `ElasticNet(alpha, l1_ratio)` on n rows is
 * `l1 = n·alpha·l1_ratio`, `l2 = n·alpha·(1 − l1_ratio)`.
 *
 * Features and target are centred (weighted) first, which removes the intercept from the system.
 * With `l1 = 0` the weights solve `(XᵀSX + l2·I) w = XᵀSy` by Cholesky; with `l2 = 0` as well
 * (least squares), a feature that is constant or a combination of earlier ones gets weight 0.
 * Standardise the features first when penalising: the penalty treats every weight alike.
 *
 * @example
 * const fit = fitLinearRegression(standardize(s, rows), lengthOfStay, { l1: 5, l2: 1 });
 */
export function fitLinearRegression(
  x: FeatureInput,
  y: ArrayLike<number>,
  options: LinearRegressionOptions = {},
): LinearRegressionFit {
  const l2 = options.l2 ?? 1;
  const l1 = options.l1 ?? 0;
  const maxIter = options.maxIter ?? 10_000;
  checkPenalty('l2', l2);
  checkPenalty('l1', l1);
  if (!Number.isSafeInteger(maxIter) || maxIter < 1)
    throw invalidInput(`maxIter is ${maxIter}; expected an integer ≥ 1`);

  const m = toDenseMatrix(x);
  if (m.rows === 0) throw invalidInput('cannot fit a linear regression on zero rows');
  if (y.length !== m.rows) throw invalidInput(`there are ${y.length} targets for ${m.rows} rows`);
  const target = Float64Array.from(y);
  const bad = target.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw invalidInput(`target ${bad} is ${target[bad]}; targets must be finite numbers`);
  const s = toSampleWeights(options.sampleWeights, m.rows);

  const d = m.cols;
  let total = 0;
  let yMean = 0;
  const xMean = new Float64Array(d);
  for (let i = 0; i < m.rows; i++) {
    const si = s[i] as number;
    total += si;
    yMean += si * (target[i] as number);
    for (let j = 0; j < d; j++) xMean[j] = (xMean[j] as number) + si * (m.data[i * d + j] as number);
  }
  yMean /= total;
  for (let j = 0; j < d; j++) xMean[j] = (xMean[j] as number) / total;

  // Centred Gram matrix G = XᵀSX + l2·I and moment b = XᵀSy.
  const gram = new Float64Array(d * d);
  const moment = new Float64Array(d);
  const row = new Float64Array(d);
  for (let i = 0; i < m.rows; i++) {
    const si = s[i] as number;
    if (si === 0) continue;
    for (let j = 0; j < d; j++) row[j] = (m.data[i * d + j] as number) - (xMean[j] as number);
    const yi = si * ((target[i] as number) - yMean);
    for (let a = 0; a < d; a++) {
      const ra = row[a] as number;
      moment[a] = (moment[a] as number) + yi * ra;
      const sra = si * ra;
      for (let b = 0; b <= a; b++) gram[a * d + b] = (gram[a * d + b] as number) + sra * (row[b] as number);
    }
  }
  for (let a = 0; a < d; a++) {
    gram[a * d + a] = (gram[a * d + a] as number) + l2;
    for (let b = 0; b < a; b++) gram[b * d + a] = gram[a * d + b] as number;
  }

  let weights: Float64Array;
  let iterations = 0;
  let converged = true;
  if (l1 === 0) {
    weights = solveSemidefinite(gram, moment, d);
  } else {
    const c = moment.map((v) => -v);
    const solution = minimizeL1Quadratic(
      { h: gram, c, k: d, penalised: d, l1 },
      new Float64Array(d),
      maxIter,
    );
    weights = solution.u;
    iterations = solution.sweeps;
    converged = solution.converged;
  }
  let intercept = yMean;
  for (let j = 0; j < d; j++) intercept -= (xMean[j] as number) * (weights[j] as number);
  return { weights, intercept, iterations, converged };
}
