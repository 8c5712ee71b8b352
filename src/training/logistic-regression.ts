/**
 * Binary logistic regression with an L2 penalty, fitted by Newton's method (IRLS). Newton is exact and
 * deterministic — no learning rate, no shuffling — so the same data always gives the same weights,
 * which matters when a model's provenance must be reproducible.
 */
import { GalenError, invalidInput } from '../core/index.js';
import { toBinaryLabels, toDenseMatrix } from './features.js';
import type { FeatureInput } from './features.js';

/** Fit settings. */
export interface LogisticRegressionOptions {
  /** L2 penalty λ on the weights (not the intercept); scikit-learn's `C` is 1/λ. Default 1. */
  readonly l2?: number;
  /** Newton iterations before giving up. Default 100. */
  readonly maxIter?: number;
  /** Converged when no parameter moves more than `tol × (1 + max |parameter|)` in one step. Default 1e-10. */
  readonly tol?: number;
}

/** A fitted model: `p(y = 1 | x) = sigmoid(weights · x + intercept)`. */
export interface LogisticRegressionFit {
  readonly weights: Float64Array;
  readonly intercept: number;
  /** Newton steps taken. */
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Fits `y ~ sigmoid(X w + b)` by minimising `Σ logloss + (l2 / 2) ‖w‖²`.
 * Standardise the features first: the penalty treats every weight alike, so it is only fair when
 * features share a scale.
 *
 * @example
 * const s = fitStandardizer(trainRows);
 * const fit = fitLogisticRegression(standardize(s, trainRows), trainLabels, { l2: 1 });
 */
export function fitLogisticRegression(
  x: FeatureInput,
  y: ArrayLike<number>,
  options: LogisticRegressionOptions = {},
): LogisticRegressionFit {
  const l2 = options.l2 ?? 1;
  const maxIter = options.maxIter ?? 100;
  const tol = options.tol ?? 1e-10;
  if (!Number.isFinite(l2) || l2 < 0) throw invalidInput(`l2 is ${l2}; expected a finite number ≥ 0`);
  if (!Number.isSafeInteger(maxIter) || maxIter < 1)
    throw invalidInput(`maxIter is ${maxIter}; expected an integer ≥ 1`);
  if (!(tol > 0)) throw invalidInput(`tol is ${tol}; expected a number > 0`);

  const m = toDenseMatrix(x);
  const labels = toBinaryLabels(y, m.rows);
  const positives = labels.reduce((n, v) => n + v, 0);
  if (positives === 0 || positives === m.rows) {
    // The unpenalised intercept would run off to ±∞: there is nothing to separate.
    throw invalidInput(
      `labels contain only class ${positives === 0 ? 0 : 1}; logistic regression needs both 0 and 1`,
    );
  }

  const problem: Problem = { x: m.data, rows: m.rows, cols: m.cols, y: labels, l2 };
  // Parameters are the weights followed by the intercept.
  let theta: Float64Array = new Float64Array(m.cols + 1);
  let loss = objective(problem, theta);
  for (let iter = 1; iter <= maxIter; iter++) {
    const { gradient, hessian } = derivatives(problem, theta);
    const step = solveSymmetric(hessian, gradient, m.cols + 1);
    const slope = dot(gradient, step);
    // Backtracking keeps each step a descent step when the quadratic model overshoots (weak or no penalty).
    let t = 1;
    let next = axpy(theta, -t, step);
    let nextLoss = objective(problem, next);
    while (nextLoss > loss - 1e-4 * t * slope && t > 1e-10) {
      t /= 2;
      next = axpy(theta, -t, step);
      nextLoss = objective(problem, next);
    }
    const moved = t * maxAbs(step);
    theta = next;
    loss = nextLoss;
    // Relative to the parameters' size: large weights (weak penalty) carry proportionally larger rounding noise.
    if (moved < tol * (1 + maxAbs(theta))) {
      return {
        weights: theta.slice(0, m.cols),
        intercept: theta[m.cols] as number,
        iterations: iter,
        converged: true,
      };
    }
  }
  return {
    weights: theta.slice(0, m.cols),
    intercept: theta[m.cols] as number,
    iterations: maxIter,
    converged: false,
  };
}

/** The logistic function, computed without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

interface Problem {
  readonly x: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly y: Uint8Array;
  readonly l2: number;
}

function linear(p: Problem, theta: Float64Array, i: number): number {
  let z = theta[p.cols] as number;
  for (let j = 0; j < p.cols; j++) z += (p.x[i * p.cols + j] as number) * (theta[j] as number);
  return z;
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function objective(p: Problem, theta: Float64Array): number {
  let loss = 0;
  for (let i = 0; i < p.rows; i++) {
    const z = linear(p, theta, i);
    loss += softplus(z) - (p.y[i] as number) * z;
  }
  let norm = 0;
  for (let j = 0; j < p.cols; j++) norm += (theta[j] as number) ** 2;
  return loss + (p.l2 / 2) * norm;
}

function derivatives(p: Problem, theta: Float64Array): { gradient: Float64Array; hessian: Float64Array } {
  const k = p.cols + 1;
  const gradient = new Float64Array(k);
  const hessian = new Float64Array(k * k);
  const row = new Float64Array(k);
  row[p.cols] = 1;
  for (let i = 0; i < p.rows; i++) {
    for (let j = 0; j < p.cols; j++) row[j] = p.x[i * p.cols + j] as number;
    const prob = sigmoid(linear(p, theta, i));
    const residual = prob - (p.y[i] as number);
    const w = prob * (1 - prob);
    for (let a = 0; a < k; a++) {
      const ra = row[a] as number;
      gradient[a] = (gradient[a] as number) + residual * ra;
      // Only the lower triangle: the solver reads nothing else.
      for (let b = 0; b <= a; b++)
        hessian[a * k + b] = (hessian[a * k + b] as number) + w * ra * (row[b] as number);
    }
  }
  for (let j = 0; j < p.cols; j++) {
    gradient[j] = (gradient[j] as number) + p.l2 * (theta[j] as number);
    hessian[j * k + j] = (hessian[j * k + j] as number) + p.l2;
  }
  return { gradient, hessian };
}

/**
 * Solves H s = g for symmetric positive (semi)definite H (lower triangle used) by Cholesky.
 * Without a penalty, separable or collinear data make H singular; a growing ridge then keeps the step finite.
 */
function solveSymmetric(h: Float64Array, g: Float64Array, k: number): Float64Array {
  let trace = 0;
  for (let a = 0; a < k; a++) trace += h[a * k + a] as number;
  for (let ridge = 0; ; ridge = ridge === 0 ? 1e-12 * Math.max(trace / k, 1) : ridge * 100) {
    const l = cholesky(h, k, ridge);
    if (l) return choleskySolve(l, g, k);
    if (ridge > 1e12)
      throw new GalenError('internal', 'Newton step failed: the Hessian is not positive definite');
  }
}

function cholesky(h: Float64Array, k: number, ridge: number): Float64Array | undefined {
  const l = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b <= a; b++) {
      let sum = (h[a * k + b] as number) + (a === b ? ridge : 0);
      for (let c = 0; c < b; c++) sum -= (l[a * k + c] as number) * (l[b * k + c] as number);
      if (a === b) {
        if (!(sum > 0)) return undefined;
        l[a * k + a] = Math.sqrt(sum);
      } else {
        l[a * k + b] = sum / (l[b * k + b] as number);
      }
    }
  }
  return l;
}

function choleskySolve(l: Float64Array, g: Float64Array, k: number): Float64Array {
  const z = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    let sum = g[a] as number;
    for (let c = 0; c < a; c++) sum -= (l[a * k + c] as number) * (z[c] as number);
    z[a] = sum / (l[a * k + a] as number);
  }
  const s = new Float64Array(k);
  for (let a = k - 1; a >= 0; a--) {
    let sum = z[a] as number;
    for (let c = a + 1; c < k; c++) sum -= (l[c * k + a] as number) * (s[c] as number);
    s[a] = sum / (l[a * k + a] as number);
  }
  return s;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function axpy(x: Float64Array, t: number, d: Float64Array): Float64Array {
  return x.map((v, i) => v + t * (d[i] as number));
}

function maxAbs(a: Float64Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}
