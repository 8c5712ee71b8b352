/**
 * The figures of `npm run bench:train` and how they read: the console table, the targets judged,
 * and the `## Training (npm run bench:train)` section of docs/benchmarks.md.
 */
import { bullet, table, wrap } from '../format.js';
import type { MachineInfo } from '../machine.js';
import { TRAINING_HEADING } from './doc-section.js';

export type ComparedModel = 'logistic' | 'gbdt';

export interface ModelComparison {
  dataset: string;
  model: ComparedModel;
  galenAuroc: number;
  sklearnAuroc: number;
  /** Median wall-clock seconds of the training call (trainTabular / Pipeline.fit). */
  galenFitS: number;
  /** The first (untimed-for-the-median) fit in the process. */
  galenColdFitS?: number;
  sklearnFitS: number;
  /** HistGradientBoosting's fit with its OpenMP pool limited to one thread (Galen trains on one). */
  sklearnFitS1Thread?: number;
}

export interface DatasetInfo {
  name: string;
  file: string;
  targetNote: string;
  trainRows: number;
  testRows: number;
  numeric: number;
  categorical: number;
}

export interface TrainingBenchResults {
  date: string;
  machine: MachineInfo;
  python: string;
  sklearn: string;
  numpy: string;
  seed: number;
  testFraction: number;
  repeats: number;
  /** Galen's L2 penalty λ and the scikit-learn `C` it maps to. */
  l2: number;
  c: number;
  datasets: DatasetInfo[];
  comparisons: ModelComparison[];
}

/** The issue's tolerance: Galen's best AUROC may trail scikit-learn's best by at most this. */
export const AUROC_TOLERANCE = 0.005;
/** The dataset on which GBDT training time is held to scikit-learn's. */
export const TIMED_DATASET = 'Readmissions';

export interface TargetVerdict {
  label: string;
  met: boolean;
  detail: string;
}

const auc = (v: number): string => v.toFixed(4);
const signed = (v: number, digits = 4): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
const seconds = (v: number | undefined): string =>
  v === undefined ? '–' : v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toFixed(3);
const MODEL_NAMES: Record<ComparedModel, [string, string]> = {
  logistic: ['logistic regression', 'LogisticRegression'],
  gbdt: ['GBDT', 'HistGradientBoosting'],
};

/** Each target of the issue, met or missed and by how much. */
export function judgeTrainingTargets(r: TrainingBenchResults): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  for (const d of r.datasets) {
    const rows = r.comparisons.filter((c) => c.dataset === d.name);
    if (rows.length === 0) continue;
    const galen = rows.reduce((a, b) => (b.galenAuroc > a.galenAuroc ? b : a));
    const sklearn = rows.reduce((a, b) => (b.sklearnAuroc > a.sklearnAuroc ? b : a));
    const margin = galen.galenAuroc - (sklearn.sklearnAuroc - AUROC_TOLERANCE);
    verdicts.push({
      label: `AUROC, ${d.name}`,
      met: margin >= 0,
      detail:
        `Galen's best ${auc(galen.galenAuroc)} (${MODEL_NAMES[galen.model][0]}) vs scikit-learn's best ` +
        `${auc(sklearn.sklearnAuroc)} (${MODEL_NAMES[sklearn.model][1]}) − ${AUROC_TOLERANCE}: ` +
        (margin >= 0 ? `met, ${margin.toFixed(4)} to spare` : `missed by ${(-margin).toFixed(4)}`),
    });
  }
  const timed = r.comparisons.find((c) => c.dataset === TIMED_DATASET && c.model === 'gbdt');
  if (timed) {
    const ratio = timed.galenFitS / timed.sklearnFitS;
    verdicts.push({
      label: `GBDT fit time, ${TIMED_DATASET}`,
      met: ratio <= 1,
      detail:
        `Galen ${seconds(timed.galenFitS)} s vs HistGradientBoosting ${seconds(timed.sklearnFitS)} s = ${ratio.toFixed(2)}× ` +
        `(target ≤ 1×): ${ratio <= 1 ? `met, ${((1 - ratio) * 100).toFixed(0)} % faster` : `missed, ${((ratio - 1) * 100).toFixed(0)} % slower`}` +
        (timed.sklearnFitS1Thread === undefined
          ? ''
          : `; against HistGradientBoosting on one thread (${seconds(timed.sklearnFitS1Thread)} s) ${(timed.galenFitS / timed.sklearnFitS1Thread).toFixed(2)}×`),
    });
  }
  return verdicts;
}

function comparisonRows(r: TrainingBenchResults): string[][] {
  return r.comparisons.map((c) => [
    c.dataset,
    MODEL_NAMES[c.model][0],
    auc(c.galenAuroc),
    auc(c.sklearnAuroc),
    signed(c.galenAuroc - c.sklearnAuroc),
    seconds(c.galenFitS),
    seconds(c.sklearnFitS),
    `${(c.galenFitS / c.sklearnFitS).toFixed(2)}×`,
    seconds(c.sklearnFitS1Thread),
  ]);
}

const COMPARISON_HEADER = [
  'Dataset',
  'Model',
  'Galen AUROC',
  'sklearn AUROC',
  'Difference',
  'Galen fit s',
  'sklearn fit s',
  'Ratio',
  'sklearn fit s, 1 thread',
];

/** The figures as console lines. */
export function describeTraining(r: TrainingBenchResults): string {
  const rows = comparisonRows(r);
  const widths = COMPARISON_HEADER.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const verdicts = judgeTrainingTargets(r).map(
    (v) => `${v.met ? 'MET   ' : 'MISSED'} ${v.label}: ${v.detail}`,
  );
  return [line(COMPARISON_HEADER), ...rows.map(line), '', ...verdicts].join('\n');
}

/** The `## Training (npm run bench:train)` section of docs/benchmarks.md. */
export function renderTrainingSection(r: TrainingBenchResults): string {
  const m = r.machine;
  const verdicts = judgeTrainingTargets(r);
  return [
    TRAINING_HEADING,
    '',
    wrap(
      `Run ${r.date} on ${m.cpuModel} (${m.cores} logical cores, ${m.memoryGiB} GiB), ${m.os}; Node.js ${m.node}; ` +
        `Python ${r.python}, scikit-learn ${r.sklearn}, NumPy ${r.numpy} (Debian packages); load average ` +
        `${m.loadAverageAtStart.toFixed(2)} at start.`,
    ),
    '',
    wrap(
      `Galen's \`trainTabular\` (logistic regression, GBDT) against scikit-learn's \`LogisticRegression\` and ` +
        `\`HistGradientBoostingClassifier\` on identical splits: the bench makes one stratified split per dataset ` +
        `(seed ${r.seed}, ${Math.round(r.testFraction * 100)} % held out), passes it to \`trainTabular\` as ` +
        '`testRows` and writes the held-out row indices for `bench/train/sklearn_baseline.py`, which reads the same ' +
        'CSV. AUROC is on the held-out rows (Galen: `predictPipeline` probabilities, `auroc`; scikit-learn: ' +
        '`predict_proba`, `roc_auc_score`). Fit time is the wall clock of the training call only (Galen: ' +
        `\`trainTabular\`, preprocessing included; scikit-learn: \`Pipeline.fit\`, preprocessing included), the median ` +
        `of ${r.repeats} runs after one untimed warm-up fit on each side (the first fit in a fresh process is slower on both: JIT and thread pools; ` +
        'the JSON results keep it as `galenColdFitS`). Galen trains on one thread; HistGradientBoosting uses its OpenMP pool (all cores) ' +
        'unless the last column says otherwise.',
    ),
    '',
    table(
      ['Dataset', 'File', 'Target', 'Train rows', 'Test rows', 'Numeric columns', 'Categorical columns'],
      r.datasets.map((d) => [
        d.name,
        `\`${d.file}\``,
        `\`${d.targetNote}\``,
        String(d.trainRows),
        String(d.testRows),
        String(d.numeric),
        String(d.categorical),
      ]),
    ),
    '',
    '### How the two sides match',
    '',
    bullet(
      `Columns: the Python side uses Galen's own reading of the schema (\`inferSchema\`): the columns Galen takes ` +
        'as numbers are numeric there, the rest categorical.',
    ),
    bullet(
      `Logistic regression: Galen minimises Σ log-loss + (λ/2)‖w‖² over standardized features, intercept not ` +
        `penalised, λ = ${r.l2}; scikit-learn minimises C·Σ log-loss + ½‖w‖² (lbfgs, intercept not penalised), the ` +
        `same objective divided by λ when C = 1/λ = ${r.c}. Both sum the losses (no mean), so no rescaling by the ` +
        'row count. max_iter 10,000. Numeric: median imputation with missing indicators, then standard scaling ' +
        "(Galen's defaults; `SimpleImputer(median, add_indicator=True)` + `StandardScaler`). Categorical: one-hot " +
        "(`OneHotEncoder(handle_unknown='ignore')`); a missing categorical value is all zeros in Galen and a " +
        '`__missing__` category in scikit-learn.',
    ),
    bullet(
      'GBDT: both at their defaults (learning rate 0.1, 100 iterations, 31 leaves, 20 rows per leaf, 255 bins, ' +
        'early stopping on above 10,000 rows); numeric missing values left for the trees to route. Categorical ' +
        'columns: Galen one-hot encodes them; HistGradientBoosting gets them as `OrdinalEncoder` codes with ' +
        '`categorical_features` (its native categorical splits, its strongest setting).',
    ),
    '',
    '### Figures',
    '',
    table(COMPARISON_HEADER, comparisonRows(r)),
    '',
    wrap(
      'Difference = Galen − scikit-learn (same model family). Ratio = Galen fit time / scikit-learn fit time ' +
        '(below 1: Galen is faster).',
    ),
    '',
    '### Targets',
    '',
    ...verdicts.map((v) => bullet(`**${v.met ? 'Met' : 'Missed'}** — ${v.label}: ${v.detail}.`)),
  ].join('\n');
}
