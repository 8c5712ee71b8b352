/**
 * Held-out evaluation as a clinical reader expects it: threshold metrics (accuracy, precision,
 * recall/sensitivity, specificity, F1) and the confusion matrix at a chosen threshold, ranking
 * metrics (AUROC, AUPRC), probability quality (Brier score, a calibration curve), each with a 95%
 * bootstrap confidence interval; RMSE/MAE/R² for regression; and the same per subgroup.
 */
import { invalidInput } from '../core/index.js';
import { auroc } from './metrics.js';
import { mulberry32 } from './split.js';

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** A metric's value on the evaluation rows, with its 95% bootstrap interval (when computable). */
export interface Estimate {
  readonly value: number;
  readonly ci95?: Interval;
}

export interface ConfusionMatrix {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

export interface CalibrationBin {
  /** Mean predicted probability in the bin. */
  readonly predicted: number;
  /** Fraction of positives in the bin. */
  readonly observed: number;
  readonly count: number;
}

export interface BinaryReport {
  readonly n: number;
  readonly positives: number;
  readonly threshold: number;
  readonly confusion: ConfusionMatrix;
  readonly accuracy: Estimate;
  readonly precision: Estimate;
  readonly recall: Estimate;
  readonly specificity: Estimate;
  readonly f1: Estimate;
  readonly auroc: Estimate;
  readonly auprc: Estimate;
  readonly brier: Estimate;
  readonly calibration: readonly CalibrationBin[];
}

export interface RegressionReport {
  readonly n: number;
  readonly rmse: Estimate;
  readonly mae: Estimate;
  readonly r2: Estimate;
}

export interface EvaluationOptions {
  /** Predicted positive when p ≥ threshold (default 0.5). */
  threshold?: number;
  /** Bootstrap resamples for the intervals (default 1000; 0 = no intervals). */
  bootstrap?: number;
  /** Seed of the resampling, so a report can be reproduced. */
  seed?: number;
  /** Equal-width probability bins of the calibration curve (default 10). */
  calibrationBins?: number;
}

function confusion(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  threshold: number,
  rows: ArrayLike<number>,
): ConfusionMatrix {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k]!;
    const predicted = p[i]! >= threshold;
    if (y[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

const ratio = (a: number, b: number): number => (b === 0 ? Number.NaN : a / b);

/** Average precision: the area under the precision–recall curve as a step function over ranked scores. */
export function auprc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives++;
  if (positives === 0) throw invalidInput('AUPRC needs at least one positive label');
  let tp = 0;
  let seen = 0;
  let area = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    let groupPositives = 0;
    for (let k = start; k <= end; k++) if (labels[order[k]!] === 1) groupPositives++;
    tp += groupPositives;
    seen += end - start + 1;
    area += (groupPositives / positives) * (tp / seen); // recall gained × precision at this cut
    start = end + 1;
  }
  return area;
}

interface BinaryPoint {
  accuracy: number;
  precision: number;
  recall: number;
  specificity: number;
  f1: number;
  auroc: number;
  auprc: number;
  brier: number;
}

function binaryPoint(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  threshold: number,
  rows: ArrayLike<number>,
): BinaryPoint {
  const c = confusion(p, y, threshold, rows);
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  const ps = Float64Array.from({ length: rows.length }, (_, k) => p[rows[k]!]!);
  const ys = Float64Array.from({ length: rows.length }, (_, k) => y[rows[k]!]!);
  const bothClasses = c.tp + c.fn > 0 && c.tn + c.fp > 0;
  let brier = 0;
  for (let k = 0; k < ps.length; k++) brier += (ps[k]! - ys[k]!) ** 2;
  return {
    accuracy: (c.tp + c.tn) / rows.length,
    precision,
    recall,
    specificity: ratio(c.tn, c.tn + c.fp),
    f1: ratio(2 * precision * recall, precision + recall),
    auroc: bothClasses ? auroc(ps, ys) : Number.NaN,
    auprc: c.tp + c.fn > 0 ? auprc(ps, ys) : Number.NaN,
    brier: brier / rows.length,
  };
}

function percentile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** Resamples rows with replacement `times` times and returns the 2.5th–97.5th percentile of each metric. */
function bootstrap<M extends Record<string, number>>(
  n: number,
  times: number,
  seed: number,
  metric: (rows: Uint32Array) => M,
): Partial<Record<keyof M, Interval>> {
  if (times <= 0 || n < 2) return {};
  const random = mulberry32(seed);
  const samples = new Map<keyof M, number[]>();
  const rows = new Uint32Array(n);
  for (let b = 0; b < times; b++) {
    for (let i = 0; i < n; i++) rows[i] = Math.floor(random() * n);
    for (const [k, v] of Object.entries(metric(rows)) as [keyof M, number][]) {
      if (!Number.isFinite(v)) continue; // e.g. a resample with one class has no AUROC
      const list = samples.get(k) ?? [];
      list.push(v);
      samples.set(k, list);
    }
  }
  const out: Partial<Record<keyof M, Interval>> = {};
  for (const [k, list] of samples) {
    if (list.length < times * 0.9) continue; // too many undefined resamples to trust
    list.sort((a, b) => a - b);
    out[k] = { low: percentile(list, 0.025), high: percentile(list, 0.975) };
  }
  return out;
}

function estimates<M extends Record<string, number>>(
  point: M,
  intervals: Partial<Record<keyof M, Interval>>,
): Record<keyof M, Estimate> {
  const out = {} as Record<keyof M, Estimate>;
  for (const k of Object.keys(point) as (keyof M)[]) {
    const ci95 = intervals[k];
    const value = point[k] as number;
    out[k] = ci95 ? { value, ci95 } : { value };
  }
  return out;
}

/** Calibration curve: `bins` equal-width bins of predicted probability, empty bins left out. */
export function calibrationCurve(p: ArrayLike<number>, y: ArrayLike<number>, bins = 10): CalibrationBin[] {
  const sums = new Float64Array(bins);
  const positives = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < p.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    sums[b] = sums[b]! + p[i]!;
    positives[b] = positives[b]! + y[i]!;
    counts[b] = counts[b]! + 1;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (counts[b]! > 0)
      out.push({ predicted: sums[b]! / counts[b]!, observed: positives[b]! / counts[b]!, count: counts[b]! });
  }
  return out;
}

function checkBinary(p: ArrayLike<number>, y: ArrayLike<number>): void {
  if (p.length !== y.length) throw invalidInput(`there are ${p.length} predictions for ${y.length} labels`);
  if (p.length === 0) throw invalidInput('evaluation needs at least one row');
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw invalidInput(`label ${i} is ${y[i]}; binary labels are 0 or 1`);
    if (!(p[i]! >= 0 && p[i]! <= 1))
      throw invalidInput(`probability ${i} is ${p[i]}; probabilities are in [0, 1]`);
  }
}

/**
 * Evaluates positive-class probabilities `p` against 0/1 labels `y` on held-out rows.
 * @example evaluateBinaryReport(probabilities, labels, { threshold: 0.3, bootstrap: 1000, seed: 7 })
 */
export function evaluateBinaryReport(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  options: EvaluationOptions = {},
): BinaryReport {
  checkBinary(p, y);
  const threshold = options.threshold ?? 0.5;
  const all = Uint32Array.from({ length: p.length }, (_, i) => i);
  const point = binaryPoint(p, y, threshold, all);
  const intervals = bootstrap(
    p.length,
    options.bootstrap ?? 1000,
    options.seed ?? 1,
    (rows) => binaryPoint(p, y, threshold, rows) as unknown as Record<string, number>,
  );
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i]!;
  return {
    n: p.length,
    positives,
    threshold,
    confusion: confusion(p, y, threshold, all),
    ...(estimates(point as unknown as Record<string, number>, intervals) as unknown as Omit<
      BinaryReport,
      'n' | 'positives' | 'threshold' | 'confusion' | 'calibration'
    >),
    calibration: calibrationCurve(p, y, options.calibrationBins ?? 10),
  };
}

function regressionPoint(pred: ArrayLike<number>, y: ArrayLike<number>, rows: ArrayLike<number>) {
  let se = 0;
  let ae = 0;
  let mean = 0;
  for (let k = 0; k < rows.length; k++) mean += y[rows[k]!]!;
  mean /= rows.length;
  let ss = 0;
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k]!;
    const e = pred[i]! - y[i]!;
    se += e * e;
    ae += Math.abs(e);
    ss += (y[i]! - mean) ** 2;
  }
  return {
    rmse: Math.sqrt(se / rows.length),
    mae: ae / rows.length,
    r2: ss === 0 ? Number.NaN : 1 - se / ss,
  };
}

/** Evaluates regression predictions on held-out rows. */
export function evaluateRegressionReport(
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
  options: Pick<EvaluationOptions, 'bootstrap' | 'seed'> = {},
): RegressionReport {
  if (pred.length !== y.length)
    throw invalidInput(`there are ${pred.length} predictions for ${y.length} targets`);
  if (pred.length === 0) throw invalidInput('evaluation needs at least one row');
  const all = Uint32Array.from({ length: pred.length }, (_, i) => i);
  const point = regressionPoint(pred, y, all);
  const intervals = bootstrap(pred.length, options.bootstrap ?? 1000, options.seed ?? 1, (rows) =>
    regressionPoint(pred, y, rows),
  );
  return { n: pred.length, ...estimates(point, intervals) };
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * A group's label: a number as numbers are written (`"1.0"` → `"1"`, so a 0/1 column shows 0 and
 * 1, and "1" and "1.0" are one group), anything else trimmed as given (category names).
 */
function groupLabel(value: string): string {
  const text = value.trim();
  return NUMBER.test(text) ? String(Number(text)) : text;
}

/**
 * Runs `evaluate` on each subgroup of rows named by `groups` (e.g. sex or age band per row);
 * missing group values form the group `(missing)`. Numeric values are labelled as numbers are
 * written and ordered by value. Groups smaller than `minSize` are listed with their size only:
 * their metrics would mislead.
 */
export function bySubgroup<R>(
  groups: readonly (string | null)[],
  evaluate: (rows: number[]) => R,
  minSize = 10,
): Record<string, { n: number; report?: R }> {
  const members = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const label = g === null ? '' : groupLabel(g);
    const key = label === '' ? '(missing)' : label;
    const list = members.get(key) ?? [];
    list.push(i);
    members.set(key, list);
  });
  const out: Record<string, { n: number; report?: R }> = {};
  const order = (a: string, b: string): number =>
    NUMBER.test(a) && NUMBER.test(b) ? Number(a) - Number(b) : a < b ? -1 : 1;
  for (const [key, rows] of [...members].sort(([a], [b]) => order(a, b))) {
    let report: R | undefined;
    if (rows.length >= minSize) {
      try {
        report = evaluate(rows);
      } catch {
        report = undefined; // e.g. a subgroup with one class has no AUROC
      }
    }
    out[key] = report === undefined ? { n: rows.length } : { n: rows.length, report };
  }
  return out;
}

export interface MulticlassReport {
  readonly n: number;
  readonly classes: number;
  /** confusion[true][predicted] */
  readonly confusion: readonly (readonly number[])[];
  readonly accuracy: Estimate;
  /** Unweighted means over classes (a class never predicted counts precision 0). */
  readonly macroPrecision: Estimate;
  readonly macroRecall: Estimate;
  readonly macroF1: Estimate;
  readonly logLoss: Estimate;
}

function multiclassPoint(p: ArrayLike<number>, y: ArrayLike<number>, k: number, rows: ArrayLike<number>) {
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let loss = 0;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + best]!) best = c;
    confusion[y[i]!]![best]!++;
    loss -= Math.log(Math.max(1e-15, p[i * k + y[i]!]!));
  }
  let correct = 0;
  let precision = 0;
  let recall = 0;
  let f1 = 0;
  for (let c = 0; c < k; c++) {
    correct += confusion[c]![c]!;
    const predicted = confusion.reduce((s, row) => s + row[c]!, 0);
    const actual = confusion[c]!.reduce((s, v) => s + v, 0);
    const pc = predicted === 0 ? 0 : confusion[c]![c]! / predicted;
    const rc = actual === 0 ? 0 : confusion[c]![c]! / actual;
    precision += pc;
    recall += rc;
    f1 += pc + rc === 0 ? 0 : (2 * pc * rc) / (pc + rc);
  }
  return {
    confusion,
    point: {
      accuracy: correct / rows.length,
      macroPrecision: precision / k,
      macroRecall: recall / k,
      macroF1: f1 / k,
      logLoss: loss / rows.length,
    },
  };
}

/**
 * Evaluates class probabilities (row-major, `k` per row) against class indices `y`; the predicted
 * class is the most probable one.
 */
export function evaluateMulticlassReport(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  k: number,
  options: Pick<EvaluationOptions, 'bootstrap' | 'seed'> = {},
): MulticlassReport {
  if (p.length !== y.length * k)
    throw invalidInput(`there are ${p.length} probabilities for ${y.length} rows of ${k} classes`);
  if (y.length === 0) throw invalidInput('evaluation needs at least one row');
  for (let i = 0; i < y.length; i++) {
    if (!Number.isInteger(y[i]) || y[i]! < 0 || y[i]! >= k)
      throw invalidInput(`label ${i} is ${y[i]}; class indices run from 0 to ${k - 1}`);
  }
  const all = Uint32Array.from({ length: y.length }, (_, i) => i);
  const { confusion, point } = multiclassPoint(p, y, k, all);
  const intervals = bootstrap(
    y.length,
    options.bootstrap ?? 1000,
    options.seed ?? 1,
    (rows) => multiclassPoint(p, y, k, rows).point,
  );
  return { n: y.length, classes: k, confusion, ...estimates(point, intervals) };
}
