/**
 * Binary logistic regression with an elastic-net penalty and per-row sample weights.
 * With no L1 term it is fitted by Newton's method (IRLS); with one, by proximal Newton: each step
 * minimises the IRLS quadratic plus the L1 term exactly (coordinate descent, then an exact solve on the
 * support, as glmnet's inner loop but finished exactly), so weights the penalty removes are exactly 0.
 * Both are deterministic — no learning rate, no shuffling — so the same data always gives the same
 * weights, which matters when a model's provenance must be reproducible.
 */
import { invalidInput } from '../core/index.js';
import { toBinaryLabels, toDenseMatrix } from './features.js';
import type { FeatureInput } from './features.js';
import { minimizeL1Quadratic, solveSymmetric } from './linear-algebra.js';
import { checkPenalty, toSampleWeights } from './sample-weights.js';

/** Fit settings. */
export interface LogisticRegressionOptions {
  /** L2 penalty λ2 on the weights (not the intercept); scikit-learn's `C` is 1/λ2. Default 1. */
  readonly l2?: number;
  /**
   * L1 penalty λ1 on the weights (not the intercept). Default 0. Any λ1 > 0 sets weak weights to exactly
   * 0; a weight stays 0 while its loss gradient there is at most λ1 in size.
   */
  readonly l1?: number;
  /** One weight ≥ 0 per row multiplying its loss (class weights go here). Default: all 1. */
  readonly sampleWeights?: ArrayLike<number>;
  /** Newton (or proximal Newton) iterations before giving up. Default 100. */
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
 * Fits `y ~ sigmoid(X w + b)` by minimising `Σ sᵢ·loglossᵢ + l1 ‖w‖₁ + (l2 / 2) ‖w‖²`, with `sᵢ` the
 * sample weights; the intercept is not penalised. Penalties act on sums, not means: doubling every row
 * (or every sample weight) halves their effect.
 * Standardise the features first: the penalty treats every weight alike, so it is only fair when
 * features share a scale.
 *
 * @example
 * const s = fitStandardizer(trainRows);
 * const fit = fitLogisticRegression(standardize(s, trainRows), trainLabels, { l2: 1 });
 * // Lasso-style selection with balanced class weights:
 * const sparse = fitLogisticRegression(z, y, { l1: 2, l2: 0.1, sampleWeights: y.map((v) => (v ? 3 : 1)) });
 */
export function fitLogisticRegression(
  x: FeatureInput,
  y: ArrayLike<number>,
  options: LogisticRegressionOptions = {},
): LogisticRegressionFit {
  const l2 = options.l2 ?? 1;
  const l1 = options.l1 ?? 0;
  const maxIter = options.maxIter ?? 100;
  const tol = options.tol ?? 1e-10;
  checkPenalty('l2', l2);
  checkPenalty('l1', l1);
  if (!Number.isSafeInteger(maxIter) || maxIter < 1)
    throw invalidInput(`maxIter is ${maxIter}; expected an integer ≥ 1`);
  if (!(tol > 0)) throw invalidInput(`tol is ${tol}; expected a number > 0`);

  const m = toDenseMatrix(x);
  const labels = toBinaryLabels(y, m.rows);
  const weights = toSampleWeights(options.sampleWeights, m.rows);
  let positive = 0;
  let negative = 0;
  labels.forEach((v, i) =>
    v === 1 ? (positive += weights[i] as number) : (negative += weights[i] as number),
  );
  if (positive === 0 || negative === 0) {
    // The unpenalised intercept would run off to ±∞: there is nothing to separate.
    const among = options.sampleWeights === undefined ? '' : ' among rows with a positive sample weight';
    throw invalidInput(
      `labels contain only class ${positive === 0 ? 0 : 1}${among}; logistic regression needs both 0 and 1`,
    );
  }

  const problem: Problem = { x: m.data, rows: m.rows, cols: m.cols, y: labels, s: weights, l2 };
  return l1 > 0 ? proximalNewton(problem, l1, maxIter, tol) : newton(problem, maxIter, tol);
}

function newton(problem: Problem, maxIter: number, tol: number): LogisticRegressionFit {
  const k = problem.cols + 1;
  // Parameters are the weights followed by the intercept.
  let theta: Float64Array = new Float64Array(k);
  let loss = objective(problem, theta);
  for (let iter = 1; iter <= maxIter; iter++) {
    const { gradient, hessian } = derivatives(problem, theta);
    const step = solveSymmetric(hessian, gradient, k);
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
    if (moved < tol * (1 + maxAbs(theta))) return result(problem, theta, iter, true);
  }
  return result(problem, theta, maxIter, false);
}

/**
 * Proximal Newton for the elastic net: the smooth part (weighted log-loss + L2) is replaced by its
 * second-order model at θ, the model plus `l1 ‖w‖₁` is minimised exactly, and a backtracking line search
 * on the true objective guards the step. Near the optimum full steps are taken and convergence is
 * quadratic, as for plain Newton.
 */
function proximalNewton(problem: Problem, l1: number, maxIter: number, tol: number): LogisticRegressionFit {
  const d = problem.cols;
  const k = d + 1;
  const total = (theta: Float64Array) => objective(problem, theta) + l1 * l1Norm(theta, d);
  let theta: Float64Array = new Float64Array(k);
  let loss = total(theta);
  for (let iter = 1; iter <= maxIter; iter++) {
    const { gradient, hessian } = derivatives(problem, theta);
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) hessian[b * k + a] = hessian[a * k + b] as number;
    // In terms of the new parameters u: gᵀ(u − θ) + ½ (u − θ)ᵀH(u − θ) = (g − Hθ)ᵀu + ½ uᵀHu + const.
    const c = Float64Array.from(gradient);
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++)
        c[a] = (c[a] as number) - (hessian[a * k + b] as number) * (theta[b] as number);
    const { u } = minimizeL1Quadratic({ h: hessian, c, k, penalised: d, l1 }, theta, 1000 * k);
    const step = u.map((v, i) => v - (theta[i] as number));
    // The decrease the model predicts; Armijo asks for a fraction of it, give or take the loss's rounding.
    const predicted = dot(gradient, step) + l1 * (l1Norm(u, d) - l1Norm(theta, d));
    const slack = 64 * Number.EPSILON * Math.abs(loss);
    let t = 1;
    let next: Float64Array = u;
    let nextLoss = total(next);
    while (nextLoss > loss + 1e-4 * t * predicted + slack && t > 1e-10) {
      t /= 2;
      next = axpy(theta, t, step);
      nextLoss = total(next);
    }
    theta = next;
    loss = nextLoss;
    // The full step is 0 exactly at the optimum, so its size (not the damped move) measures convergence.
    if (maxAbs(step) < tol * (1 + maxAbs(theta))) return result(problem, theta, iter, true);
  }
  return result(problem, theta, maxIter, false);
}

function result(
  p: Problem,
  theta: Float64Array,
  iterations: number,
  converged: boolean,
): LogisticRegressionFit {
  return { weights: theta.slice(0, p.cols), intercept: theta[p.cols] as number, iterations, converged };
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
  /** Sample weights. */
  readonly s: Float64Array;
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
    // A weight of 1 multiplies exactly, so unweighted fits are bit-identical to the unweighted formula.
    loss += (p.s[i] as number) * (softplus(z) - (p.y[i] as number) * z);
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
    const si = p.s[i] as number;
    const residual = si * (prob - (p.y[i] as number));
    const w = si * prob * (1 - prob);
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

function l1Norm(theta: Float64Array, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += Math.abs(theta[j] as number);
  return s;
}
