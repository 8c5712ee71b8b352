/**
 * The losses the gradient-boosted trees trainer minimises: their baselines, per-row gradients and
 * hessians, and their (weighted mean) values. Raw scores are laid out row-major, `outputs` per row.
 */

export type GbdtTask = 'binary' | 'multiclass' | 'regression';

/** Keeps priors and probabilities off 0 and 1, where log-odds and log-loss are infinite. */
const EPS = 1e-15;

/** The constant raw score that minimises the loss: log-odds, log priors or the mean. */
export function baseline(
  task: GbdtTask,
  y: Float64Array,
  w: Float64Array,
  rows: Uint32Array,
  outputs: number,
): number[] {
  let total = 0;
  const sums = new Float64Array(task === 'multiclass' ? outputs : 1);
  for (const i of rows) {
    const weight = w[i]!;
    total += weight;
    if (task === 'multiclass') sums[y[i]!] = sums[y[i]!]! + weight;
    else sums[0] = sums[0]! + weight * y[i]!;
  }
  switch (task) {
    case 'binary': {
      const p = Math.min(Math.max(sums[0]! / total, EPS), 1 - EPS);
      return [Math.log(p / (1 - p))];
    }
    case 'multiclass':
      return Array.from(sums, (s) => Math.log(Math.max(s / total, EPS)));
    case 'regression':
      return [sums[0]! / total];
  }
}

/**
 * Starts an iteration from the raw scores and returns their weighted mean loss (as `meanLoss` would,
 * sharing its exponentials). Binary and regression: fills `gh` with each row's gradient and hessian
 * (row `i` at `2i` and `2i + 1`) too. Multiclass: fills `probabilities` with the softmax, from which
 * `gradients` then gives each class's.
 */
export function startIteration(
  task: GbdtTask,
  y: Float64Array,
  w: Float64Array,
  raw: Float64Array,
  probabilities: Float64Array,
  outputs: number,
  gh: Float64Array,
): number {
  const n = y.length;
  let sum = 0;
  let total = 0;
  switch (task) {
    case 'binary':
      for (let i = 0; i < n; i++) {
        const z = raw[i]!;
        const weight = w[i]!;
        // e^-|z|: sigmoid and log(1 + e^z) from it without overflow.
        const e = Math.exp(z > 0 ? -z : z);
        const p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
        gh[2 * i] = weight * (p - y[i]!);
        gh[2 * i + 1] = weight * p * (1 - p);
        const softplus = z > 0 ? z + Math.log1p(e) : Math.log1p(e);
        sum += weight * (softplus - y[i]! * z);
        total += weight;
      }
      break;
    case 'multiclass':
      softmaxInto(raw, outputs, probabilities);
      return meanLoss(task, y, w, raw, outputs);
    case 'regression':
      for (let i = 0; i < n; i++) {
        const weight = w[i]!;
        const d = raw[i]! - y[i]!;
        gh[2 * i] = weight * d;
        gh[2 * i + 1] = weight;
        sum += weight * 0.5 * d * d;
        total += weight;
      }
      break;
  }
  return total > 0 ? sum / total : 0;
}

/**
 * Gradients and hessians of class `k` for every row (interleaved, as `startIteration` fills them),
 * from the softmax `probabilities` of the raw scores, so every class's tree of one iteration sees
 * the same.
 */
export function gradients(
  y: Float64Array,
  w: Float64Array,
  probabilities: Float64Array,
  outputs: number,
  k: number,
  gh: Float64Array,
): void {
  for (let i = 0; i < y.length; i++) {
    const p = probabilities[i * outputs + k]!;
    gh[2 * i] = w[i]! * (p - (y[i] === k ? 1 : 0));
    gh[2 * i + 1] = w[i]! * p * (1 - p);
  }
}

/** Row-wise softmax of `raw` into `out` (same layout). */
export function softmaxInto(raw: Float64Array, outputs: number, out: Float64Array): void {
  for (let start = 0; start < raw.length; start += outputs) {
    let max = -Infinity;
    for (let k = 0; k < outputs; k++) max = Math.max(max, raw[start + k]!);
    let sum = 0;
    for (let k = 0; k < outputs; k++) {
      const e = Math.exp(raw[start + k]! - max);
      out[start + k] = e;
      sum += e;
    }
    for (let k = 0; k < outputs; k++) out[start + k] = out[start + k]! / sum;
  }
}

/** Weighted mean loss: log-loss, cross-entropy, or half the squared error (scikit-learn's scale). */
export function meanLoss(
  task: GbdtTask,
  y: Float64Array,
  w: Float64Array,
  raw: Float64Array,
  outputs: number,
): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const weight = w[i]!;
    total += weight;
    switch (task) {
      case 'binary': {
        const z = raw[i]!;
        // log(1 + e^z) - y z, computed without overflow.
        const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
        sum += weight * (softplus - y[i]! * z);
        break;
      }
      case 'multiclass': {
        const start = i * outputs;
        let max = -Infinity;
        for (let k = 0; k < outputs; k++) max = Math.max(max, raw[start + k]!);
        let s = 0;
        for (let k = 0; k < outputs; k++) s += Math.exp(raw[start + k]! - max);
        sum += weight * (max + Math.log(s) - raw[start + y[i]!]!);
        break;
      }
      case 'regression': {
        const d = raw[i]! - y[i]!;
        sum += weight * 0.5 * d * d;
        break;
      }
    }
  }
  return total > 0 ? sum / total : 0;
}
