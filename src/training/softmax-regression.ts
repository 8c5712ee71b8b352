/**
 * Multinomial (softmax) logistic regression for K ≥ 2 classes with an L2 penalty and per-row sample
 * weights, fitted by Newton's method with the full K(d+1) × K(d+1) Hessian. Like the binary trainer it is
 * exact and deterministic. Each iteration costs O(n·K²·(d+1)²) to build the Hessian and O(K³(d+1)³) to
 * solve with it, which is small for tabular data (5 classes × 30 features: a 155 × 155 system); it is
 * not meant for hundreds of classes or thousands of features.
 */
import { invalidInput } from '../core/index.js';
import { toDenseMatrix } from './features.js';
import type { FeatureInput } from './features.js';
import { solveSymmetric } from './linear-algebra.js';
import { checkPenalty, toSampleWeights } from './sample-weights.js';

/** Fit settings. */
export interface SoftmaxRegressionOptions {
  /** L2 penalty λ2 on the weights (not the intercepts). Default 1. */
  readonly l2?: number;
  /** One weight ≥ 0 per row multiplying its loss (class weights go here). Default: all 1. */
  readonly sampleWeights?: ArrayLike<number>;
  /** The number of classes K; labels must lie in 0..K−1. Default: the largest label + 1. */
  readonly classes?: number;
  /** Newton iterations before giving up. Default 100. */
  readonly maxIter?: number;
  /** Converged when no parameter moves more than `tol × (1 + max |parameter|)` in one step. Default 1e-10. */
  readonly tol?: number;
}

/** A fitted model: `p(y = k | x) = softmax_k(coefficients[k] · x + intercepts[k])`. */
export interface SoftmaxRegressionFit {
  /** K rows of d weights. For every feature the K weights sum to 0 (see `fitSoftmaxRegression`). */
  readonly coefficients: Float64Array[];
  /** K intercepts summing to 0. */
  readonly intercepts: Float64Array;
  /** Newton steps taken. */
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Fits `p(y = k | x) = softmax(W x + b)_k` by minimising `Σ sᵢ·(−log p(yᵢ | xᵢ)) + (l2 / 2) ‖W‖²`,
 * with `sᵢ` the sample weights and the intercepts unpenalised. Labels are class indices 0..K−1 and every
 * class needs a row with positive weight (else its intercept would run off to −∞).
 *
 * Softmax is over-parameterised: adding one vector to every class's parameters changes no probability.
 * The fit removes that freedom by keeping each feature's K weights, and the K intercepts, summing to 0.
 * With `l2 > 0` that is where the penalised optimum lies anyway; with `l2 = 0` it picks one of the equal
 * optima, so the fit is unique and Newton's system non-singular. With K = 2 and `l2 = 2λ`, the difference
 * `coefficients[1] − coefficients[0]` equals binary logistic regression's weights at `l2 = λ`.
 *
 * @example
 * const fit = fitSoftmaxRegression(standardize(s, rows), severity, { l2: 1 });
 */
export function fitSoftmaxRegression(
  x: FeatureInput,
  y: ArrayLike<number>,
  options: SoftmaxRegressionOptions = {},
): SoftmaxRegressionFit {
  const l2 = options.l2 ?? 1;
  const maxIter = options.maxIter ?? 100;
  const tol = options.tol ?? 1e-10;
  checkPenalty('l2', l2);
  if (!Number.isSafeInteger(maxIter) || maxIter < 1)
    throw invalidInput(`maxIter is ${maxIter}; expected an integer ≥ 1`);
  if (!(tol > 0)) throw invalidInput(`tol is ${tol}; expected a number > 0`);
  const m = toDenseMatrix(x);
  const s = toSampleWeights(options.sampleWeights, m.rows);
  const { labels, classes } = toClassLabels(y, m.rows, s, options.classes);

  const p: Problem = { x: m.data, rows: m.rows, cols: m.cols, classes, y: labels, s, l2 };
  const size = classes * (m.cols + 1);
  let theta: Float64Array = new Float64Array(size);
  let loss = objective(p, theta);
  for (let iter = 1; iter <= maxIter; iter++) {
    const { gradient, hessian } = derivatives(p, theta);
    const step = solveSymmetric(hessian, gradient, size);
    let slope = 0;
    for (let a = 0; a < size; a++) slope += (gradient[a] as number) * (step[a] as number);
    // Backtracking keeps each step a descent step when the quadratic model overshoots (weak or no penalty);
    // the slack stops rounding noise in the loss from rejecting the tiny steps near the optimum.
    const slack = 64 * Number.EPSILON * Math.abs(loss);
    const from = theta;
    const trial = (t: number) =>
      centre(
        p,
        from.map((v, a) => v - t * (step[a] as number)),
      );
    let t = 1;
    let next = trial(t);
    let nextLoss = objective(p, next);
    while (nextLoss > loss - 1e-4 * t * slope + slack && t > 1e-10) {
      t /= 2;
      next = trial(t);
      nextLoss = objective(p, next);
    }
    theta = next;
    loss = nextLoss;
    // The full Newton step is 0 exactly at the optimum, so its size (not the damped move) measures convergence.
    let largest = 0;
    for (const v of theta) largest = Math.max(largest, Math.abs(v));
    let full = 0;
    for (const v of step) full = Math.max(full, Math.abs(v));
    if (full < tol * (1 + largest)) return result(p, theta, iter, true);
  }
  return result(p, theta, maxIter, false);
}

/** Validates class labels against the number of classes, and that each class has positive weight. */
function toClassLabels(
  y: ArrayLike<number>,
  rows: number,
  s: Float64Array,
  classes: number | undefined,
): { labels: Uint32Array; classes: number } {
  if (y.length !== rows) throw invalidInput(`there are ${y.length} labels for ${rows} rows`);
  if (classes !== undefined && (!Number.isSafeInteger(classes) || classes < 2)) {
    throw invalidInput(`classes is ${classes}; expected an integer ≥ 2`);
  }
  const labels = new Uint32Array(rows);
  let largest = 0;
  for (let i = 0; i < rows; i++) {
    const v = y[i] as number;
    if (!Number.isSafeInteger(v) || v < 0 || (classes !== undefined && v >= classes)) {
      const range = classes === undefined ? 'integers ≥ 0' : `integers from 0 to ${classes - 1}`;
      throw invalidInput(`label ${i} is ${v}; class labels must be ${range}`);
    }
    labels[i] = v;
    largest = Math.max(largest, v);
  }
  const k = classes ?? largest + 1;
  const weight = new Float64Array(k);
  labels.forEach((c, i) => (weight[c] = (weight[c] as number) + (s[i] as number)));
  const present = weight.reduce((n, w) => n + (w > 0 ? 1 : 0), 0);
  if (present < 2) {
    throw invalidInput(
      `labels contain only class ${weight.findIndex((w) => w > 0)}; softmax regression needs at least 2 classes`,
    );
  }
  const missing = weight.findIndex((w) => !(w > 0));
  if (missing >= 0) {
    throw invalidInput(
      `class ${missing} has no rows with a positive weight; every class from 0 to ${k - 1} needs one (relabel the classes to 0..K−1 without gaps)`,
    );
  }
  return { labels, classes: k };
}

interface Problem {
  readonly x: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly classes: number;
  readonly y: Uint32Array;
  /** Sample weights. */
  readonly s: Float64Array;
  readonly l2: number;
}

/** Parameters are class-major: class k's d weights, then its intercept, at `k·(d+1)`. */
function scores(p: Problem, theta: Float64Array, i: number, out: Float64Array): void {
  const w = p.cols + 1;
  for (let k = 0; k < p.classes; k++) {
    let z = theta[k * w + p.cols] as number;
    for (let j = 0; j < p.cols; j++) z += (p.x[i * p.cols + j] as number) * (theta[k * w + j] as number);
    out[k] = z;
  }
}

/** Turns scores into probabilities in place, and returns log Σ exp(score) (computed without overflow). */
function softmaxInPlace(z: Float64Array): number {
  let top = -Infinity;
  for (const v of z) top = Math.max(top, v);
  let sum = 0;
  for (let k = 0; k < z.length; k++) sum += Math.exp((z[k] as number) - top);
  const logSum = top + Math.log(sum);
  for (let k = 0; k < z.length; k++) z[k] = Math.exp((z[k] as number) - logSum);
  return logSum;
}

function objective(p: Problem, theta: Float64Array): number {
  const z = new Float64Array(p.classes);
  let loss = 0;
  for (let i = 0; i < p.rows; i++) {
    scores(p, theta, i, z);
    const own = z[p.y[i] as number] as number;
    loss += (p.s[i] as number) * (softmaxInPlace(z) - own);
  }
  let norm = 0;
  for (let k = 0; k < p.classes; k++)
    for (let j = 0; j < p.cols; j++) norm += (theta[k * (p.cols + 1) + j] as number) ** 2;
  return loss + (p.l2 / 2) * norm;
}

function derivatives(p: Problem, theta: Float64Array): { gradient: Float64Array; hessian: Float64Array } {
  const w = p.cols + 1;
  const size = p.classes * w;
  const gradient = new Float64Array(size);
  const hessian = new Float64Array(size * size);
  const row = new Float64Array(w);
  row[p.cols] = 1;
  const prob = new Float64Array(p.classes);
  for (let i = 0; i < p.rows; i++) {
    const si = p.s[i] as number;
    if (si === 0) continue;
    for (let j = 0; j < p.cols; j++) row[j] = p.x[i * p.cols + j] as number;
    scores(p, theta, i, prob);
    softmaxInPlace(prob);
    for (let k = 0; k < p.classes; k++) {
      const pk = prob[k] as number;
      const residual = si * (pk - (p.y[i] === k ? 1 : 0));
      for (let a = 0; a < w; a++)
        gradient[k * w + a] = (gradient[k * w + a] as number) + residual * (row[a] as number);
      // Block (k, l) of the Hessian is Σ sᵢ pₖ(δₖₗ − pₗ) x̃ x̃ᵀ; only the lower triangle is filled (l ≤ k).
      for (let l = 0; l <= k; l++) {
        const curvature = si * pk * ((k === l ? 1 : 0) - (prob[l] as number));
        for (let a = 0; a < w; a++) {
          const ca = curvature * (row[a] as number);
          const base = (k * w + a) * size + l * w;
          const last = k === l ? a : w - 1;
          for (let b = 0; b <= last; b++)
            hessian[base + b] = (hessian[base + b] as number) + ca * (row[b] as number);
        }
      }
    }
  }
  let trace = 0;
  for (let a = 0; a < size; a++) trace += hessian[a * size + a] as number;
  // Moving every class's parameters together is flat for the loss. Adding gauge·(J/K ⊗ I) gives that
  // direction curvature; the gradient has no component along it, so the step never moves the class sums.
  const gauge = Math.max(trace / size, 1e-8) / p.classes;
  for (let k = 0; k < p.classes; k++) {
    for (let a = 0; a < w; a++) {
      const index = k * w + a;
      if (a < p.cols) {
        gradient[index] = (gradient[index] as number) + p.l2 * (theta[index] as number);
        hessian[index * size + index] = (hessian[index * size + index] as number) + p.l2;
      }
      for (let l = 0; l <= k; l++)
        hessian[index * size + l * w + a] = (hessian[index * size + l * w + a] as number) + gauge;
    }
  }
  return { gradient, hessian };
}

/** Subtracts the mean over classes from each parameter, removing the rounding drift of the class sums. */
function centre(p: Problem, theta: Float64Array): Float64Array {
  const w = p.cols + 1;
  for (let a = 0; a < w; a++) {
    let mean = 0;
    for (let k = 0; k < p.classes; k++) mean += theta[k * w + a] as number;
    mean /= p.classes;
    for (let k = 0; k < p.classes; k++) theta[k * w + a] = (theta[k * w + a] as number) - mean;
  }
  return theta;
}

function result(
  p: Problem,
  theta: Float64Array,
  iterations: number,
  converged: boolean,
): SoftmaxRegressionFit {
  const w = p.cols + 1;
  const coefficients = Array.from({ length: p.classes }, (_, k) => theta.slice(k * w, k * w + p.cols));
  const intercepts = Float64Array.from({ length: p.classes }, (_, k) => theta[k * w + p.cols] as number);
  return { coefficients, intercepts, iterations, converged };
}
