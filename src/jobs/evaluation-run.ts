/**
 * What every trainer shares after fitting: the compiled ONNX run in Galen's own runtime (what is
 * evaluated is what will be served), and held-out metrics in the shape model cards and the API
 * report them.
 */
import { randomUUID } from 'node:crypto';
import { GalenError } from '../core/index.js';
import type { Tensor } from '../core/index.js';
import type { ModelRuntime } from '../runtime/index.js';
import type { ArtifactStore } from '../store/index.js';
import { evaluateBinaryReport, evaluateMulticlassReport } from '../training/index.js';
import type { BinaryReport, MulticlassReport } from '../training/index.js';

export type RunGraph = (inputs: Tensor[], outputs: string[]) => Promise<Tensor[]>;

/** Loads ONNX bytes into the runtime under a throw-away key for `use`, then unloads them. */
export async function withEvaluationModel<T>(
  deps: { runtime: ModelRuntime; artifacts: ArtifactStore },
  onnx: Uint8Array,
  use: (run: RunGraph) => Promise<T>,
): Promise<T> {
  const staged = await deps.artifacts.stage(onnx);
  const key = `evaluation:${randomUUID()}`;
  try {
    // One group for every evaluation, so throw-away keys leave no per-group state behind.
    await deps.runtime.load(key, 'training-evaluation', await staged.read());
    return await use(async (inputs, outputs) => {
      const lease = deps.runtime.acquire(key);
      if (!lease) throw new GalenError('internal', 'the evaluation model was unloaded before it ran');
      try {
        return (await lease.run(inputs, outputs)).outputs;
      } finally {
        lease.release();
      }
    });
  } finally {
    await deps.runtime.unload(key);
    deps.runtime.forgetStats(key);
    await staged.discard();
  }
}

/** Held-out classification metrics from served probabilities (n × k, row-major). */
export function classifierMetrics(
  probabilities: Float32Array,
  targets: ArrayLike<number>,
  k: number,
  options: { seed: number; threshold?: number | undefined },
): { test: Record<string, number>; report: BinaryReport | MulticlassReport } {
  const n = targets.length;
  if (k !== 2) {
    const report = evaluateMulticlassReport(probabilities, targets, k, { seed: options.seed });
    return {
      test: {
        n,
        accuracy: report.accuracy.value,
        macroF1: report.macroF1.value,
        logLoss: report.logLoss.value,
      },
      report,
    };
  }
  const positive = Float64Array.from({ length: n }, (_, i) => probabilities[i * 2 + 1]!);
  const report = evaluateBinaryReport(positive, targets, {
    seed: options.seed,
    ...(options.threshold !== undefined && { threshold: options.threshold }),
  });
  return {
    test: {
      n,
      auroc: report.auroc.value,
      auprc: report.auprc.value,
      accuracy: report.accuracy.value,
      precision: report.precision.value,
      recall: report.recall.value,
      specificity: report.specificity.value,
      f1: report.f1.value,
      brier: report.brier.value,
    },
    report,
  };
}

/** The report for some held-out rows (positions) of a classifier's served probabilities (n × k). */
export function classifierReportOf(
  probabilities: Float32Array,
  targets: ArrayLike<number>,
  k: number,
  rows: readonly number[],
  options: { seed: number; threshold?: number | undefined },
): BinaryReport | MulticlassReport {
  const y = rows.map((i) => targets[i]!);
  if (k === 2) {
    return evaluateBinaryReport(
      rows.map((i) => probabilities[i * 2 + 1]!),
      y,
      { seed: options.seed, ...(options.threshold !== undefined && { threshold: options.threshold }) },
    );
  }
  return evaluateMulticlassReport(
    rows.flatMap((i) => Array.from(probabilities.subarray(i * k, (i + 1) * k))),
    y,
    k,
    { seed: options.seed },
  );
}
