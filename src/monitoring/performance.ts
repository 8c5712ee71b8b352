/**
 * Live performance from predictions and the labels given later: for two classes AUROC, Brier
 * score, expected calibration error and the calibration curve; for more classes accuracy; for a
 * value RMSE, MAE and mean error. Subgroup gaps compare the same figures across groups.
 */
import type { Cell, ScoredOutput } from '../core/index.js';
import { auroc, calibrationCurve } from '../training/index.js';

export type Performance =
  | {
      task: 'binary';
      n: number;
      positives: number;
      /** Mean predicted probability, and the observed share of positives. */
      meanPredicted: number;
      observedRate: number;
      /** Absent when the labels hold one class only. */
      auroc?: number;
      brier: number;
      /** Expected calibration error over 10 equal-width bins (mean |predicted − observed|, weighted by count). */
      calibrationError: number;
      calibration: { predicted: number; observed: number; count: number }[];
    }
  | { task: 'multiclass'; n: number; accuracy: number }
  | { task: 'regression'; n: number; rmse: number; mae: number; meanError: number };

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * Performance of `predictions` (as `predictionOf` gives them) against `labels` (class index or
 * value). Pairs with a missing prediction are left out.
 */
export function performanceOf(
  output: ScoredOutput,
  predictions: readonly Cell[],
  labels: readonly number[],
): Performance {
  const pairs: [Cell, number][] = [];
  predictions.forEach((p, i) => {
    if (p !== null) pairs.push([p, labels[i]!]);
  });
  const n = pairs.length;
  if (output.task === 'multiclass') {
    const classes = output.classes ?? [];
    const correct = pairs.filter(([p, y]) => classes.indexOf(String(p)) === y).length;
    return { task: 'multiclass', n, accuracy: round(n === 0 ? 0 : correct / n) };
  }
  const p = pairs.map(([v]) => Number(v));
  const y = pairs.map(([, v]) => v);
  if (output.task === 'regression') {
    let se = 0;
    let ae = 0;
    let e = 0;
    p.forEach((v, i) => {
      const d = v - y[i]!;
      se += d * d;
      ae += Math.abs(d);
      e += d;
    });
    const k = Math.max(1, n);
    return {
      task: 'regression',
      n,
      rmse: round(Math.sqrt(se / k)),
      mae: round(ae / k),
      meanError: round(e / k),
    };
  }
  const positives = y.filter((v) => v === 1).length;
  const curve = n === 0 ? [] : calibrationCurve(p, y, 10);
  const brier = p.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / Math.max(1, n);
  const ece = curve.reduce((s, b) => s + (b.count / Math.max(1, n)) * Math.abs(b.predicted - b.observed), 0);
  return {
    task: 'binary',
    n,
    positives,
    meanPredicted: round(p.reduce((s, v) => s + v, 0) / Math.max(1, n)),
    observedRate: round(positives / Math.max(1, n)),
    ...(positives > 0 && positives < n && { auroc: round(auroc(p, y)) }),
    brier: round(brier),
    calibrationError: round(ece),
    calibration: curve.map((b) => ({
      predicted: round(b.predicted),
      observed: round(b.observed),
      count: b.count,
    })),
  };
}

/** The figure subgroups are compared on: AUROC, accuracy or RMSE. */
export function headlineMetric(performance: Performance): { metric: string; value: number | undefined } {
  switch (performance.task) {
    case 'binary':
      return { metric: 'auroc', value: performance.auroc };
    case 'multiclass':
      return { metric: 'accuracy', value: performance.accuracy };
    case 'regression':
      return { metric: 'rmse', value: performance.rmse };
  }
}

export interface SubgroupGap {
  metric: string;
  /** Largest difference between two groups with enough labels (best − worst, ≥ 0). */
  gap: number;
  best: string;
  worst: string;
  /** Also for two classes: the largest difference in calibration error. */
  calibrationGap?: number;
}

/** Groups need this many labelled rows (and, for AUROC, both classes) to be compared. */
export const MIN_GROUP_LABELS = 20;

/** Performance per group and the gap between the best and worst group. */
export function subgroupGap(groups: Record<string, Performance>): SubgroupGap | undefined {
  const comparable = Object.entries(groups)
    .filter(([, p]) => p.n >= MIN_GROUP_LABELS)
    .map(([g, p]) => ({ g, p, ...headlineMetric(p) }))
    .filter((x): x is typeof x & { value: number } => x.value !== undefined);
  if (comparable.length < 2) return undefined;
  const lowerIsBetter = comparable[0]!.metric === 'rmse';
  comparable.sort((a, b) => (lowerIsBetter ? a.value - b.value : b.value - a.value));
  const best = comparable[0]!;
  const worst = comparable.at(-1)!;
  const eces = comparable.flatMap((x) => (x.p.task === 'binary' ? [x.p.calibrationError] : []));
  return {
    metric: best.metric,
    gap: round(Math.abs(best.value - worst.value)),
    best: best.g,
    worst: worst.g,
    ...(eces.length >= 2 && { calibrationGap: round(Math.max(...eces) - Math.min(...eces)) }),
  };
}
