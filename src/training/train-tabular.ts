/**
 * Trains a whole tabular pipeline from a parsed table and its schema: drops rows without a target,
 * splits (stratified for classification, seeded), fits the preprocessing on the training rows
 * only, fits the model on the transformed features, and returns the `PipelineSpec` (what the ONNX
 * compiler turns into the served graph) with the held-out rows for evaluation.
 */
import { GalenError, featureWidth } from '../core/index.js';
import type { FeatureSpec, PipelineSpec } from '../core/index.js';
import { parseNumber } from '../datasets/index.js';
import type { ColumnSchema, DatasetSchema, ParsedTable } from '../datasets/index.js';
import { fitGbdt, toTreeEnsembleSpec } from './gbdt.js';
import type { GbdtOptions } from './gbdt.js';
import { fitLinearRegression } from './linear-regression.js';
import { fitLogisticRegression } from './logistic-regression.js';
import { fitSoftmaxRegression } from './softmax-regression.js';
import { auprc } from './evaluation.js';
import { auroc } from './metrics.js';
import { designMatrix, predictPipeline } from './pipeline-predict.js';
import type { PipelineCell, PipelineColumns } from './pipeline-predict.js';
import { codedCell, encodeTable, fitEncodedFeatures } from './preprocess.js';
import type { EncodedColumns, PreprocessOptions } from './preprocess.js';
import { mulberry32, stratifiedSplit } from './split.js';

/** logistic: two or more classes (softmax beyond two); linear: a number; gbdt: either. */
export type TabularModelKind = 'logistic' | 'linear' | 'gbdt';

/** The model kinds that fit a task, in the order `auto` tries them. */
export function kindsFor(task: TabularTask): TabularModelKind[] {
  return task === 'regression' ? ['linear', 'gbdt'] : ['logistic', 'gbdt'];
}

export interface TabularTrainingOptions {
  /** `auto` picks the kind with the best k-fold cross-validation score on the training rows. */
  model: TabularModelKind | 'auto';
  /** Folds for `auto` (default 5). */
  folds?: number;
  /** What `auto` keeps the best by (default auroc for two classes, logLoss for more, rmse for a number). */
  selectBy?: SelectionMetric;
  /** Seeds the split and the model (default 42). */
  seed?: number;
  /** Share of rows held out for evaluation (default 0.2); ignored when `testRows` is given. */
  testFraction?: number;
  /** Row indices to hold out instead of a random split (e.g. a separate test file appended). */
  testRows?: readonly number[];
  /** For a binary target: which value is the positive class (default: the schema's second category). */
  positive?: string;
  /** Overrides the model's default preprocessing. */
  preprocessing?: PreprocessOptions;
  /** L2 penalty of logistic and linear regression (default 1), on the sum of the row losses. */
  l2?: number;
  /** L1 penalty (elastic net with `l2`) of two-class logistic and linear regression (default 0). */
  l1?: number;
  /**
   * Weights on each class's rows in the loss: `balanced` gives class c the weight n / (K · n_c) as
   * scikit-learn does; or a weight per class label. Classification only.
   */
  classWeight?: 'balanced' | Record<string, number>;
  /** Repeat rows of the smaller classes (at random, seeded) until every class has as many as the largest. Training rows only. */
  oversample?: boolean;
  gbdt?: Omit<GbdtOptions, 'task' | 'classes' | 'seed'>;
  /**
   * Called (synchronously) before each fit with the share of fitting done so far (0–1) and what
   * comes next, e.g. "cross-validation: gbdt, fold 2 of 5".
   */
  onProgress?: (fraction: number, stage: string) => void;
}

export type TabularTask = 'binary' | 'multiclass' | 'regression';

export interface TabularTrainingResult {
  spec: PipelineSpec;
  /** The model kind trained (the chosen one for `auto`). */
  model: TabularModelKind;
  /** How `auto` chose. */
  selection?: ModelSelection;
  task: TabularTask;
  /** Class labels in probability order (classification). */
  classes?: string[];
  /** Row indices (into the table) used for training and held out; rows without a target are in neither. */
  train: number[];
  test: number[];
  /** Rows left out because their target is missing. */
  droppedRows: number;
  /** The held-out rows' raw feature columns and targets (class index, or value for regression). */
  testColumns: PipelineColumns;
  testTargets: Float64Array;
  /** The training rows' targets (class index, or value for regression). */
  trainTargets: Float64Array;
  /** Raw feature columns of up to 100 training rows drawn by the seed: the explainer's background. */
  backgroundColumns: PipelineColumns;
  /** Raw feature columns of the training rows: the monitoring reference. */
  trainColumns: PipelineColumns;
}

/** Training rows kept as the explanation background. */
export const BACKGROUND_ROWS = 100;

/** Up to `n` of `rows`, drawn without replacement by `seed`, in their original order. */
export function sampleRows(rows: readonly number[], n: number, seed: number): number[] {
  if (rows.length <= n) return [...rows];
  const random = mulberry32(seed);
  const pool = [...rows];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n).sort((a, b) => a - b);
}

/** Whether a target column is predicted as a number (regression) rather than as classes. */
export function isNumberTarget(column: Pick<ColumnSchema, 'kind' | 'categories' | 'distinct'>): boolean {
  return column.kind === 'numeric' && (column.categories === undefined || column.distinct > 20);
}

/** What the target column asks for, and each row's target as a class index or value (NaN = missing). */
function targetOf(
  table: ParsedTable,
  column: ColumnSchema,
  positive: string | undefined,
): { task: TabularTask; classes?: string[]; y: Float64Array } {
  const index = table.columns.indexOf(column.name);
  const cells = table.rows.map((row) => row[index] ?? null);
  const each = (read: (cell: string) => number): Float64Array => {
    const y = new Float64Array(cells.length);
    for (let r = 0; r < cells.length; r++) {
      const c = cells[r] ?? null;
      y[r] = c === null ? Number.NaN : read(c);
    }
    return y;
  };
  if (isNumberTarget(column)) {
    return { task: 'regression', y: each((c) => parseNumber(c) ?? Number.NaN) };
  }
  let classes = [...(column.categories ?? [])];
  if (classes.length < 2) {
    throw new GalenError(
      'invalid_input',
      `target "${column.name}" has ${classes.length} class(es); it needs two or more`,
    );
  }
  if (positive !== undefined) {
    if (classes.length !== 2) {
      throw new GalenError(
        'invalid_input',
        `--positive applies to a two-class target; "${column.name}" has ${classes.length}`,
      );
    }
    if (!classes.includes(positive)) {
      throw new GalenError(
        'invalid_input',
        `"${positive}" is not a value of target "${column.name}"; its values are ${classes.map((c) => `"${c}"`).join(', ')}`,
      );
    }
    classes = [classes.find((c) => c !== positive)!, positive];
  }
  // Numbers may be spelled differently in cells ("1" vs "1.0"): match them by value.
  const numeric = classes.every((c) => parseNumber(c) !== undefined);
  const lookup = new Map(classes.map((c, i) => [numeric ? String(parseNumber(c)) : c, i]));
  const y = each((c) => lookup.get(numeric ? String(parseNumber(c)) : c) ?? Number.NaN);
  return { task: classes.length === 2 ? 'binary' : 'multiclass', classes, y };
}

/** The rows `rows` of the columns, as raw cells (what `columnValues` holds there). */
function pick(columns: EncodedColumns, rows: readonly number[]): PipelineColumns {
  const out: Record<string, PipelineCell[]> = {};
  for (const [name, values] of Object.entries(columns)) {
    out[name] =
      values instanceof Float64Array
        ? rows.map((r) => values[r] ?? null)
        : rows.map((r) => codedCell(values, r));
  }
  return out;
}

/** `rows.map((i) => y[i])` as a Float64Array. */
function targetsOf(y: Float64Array, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = y[rows[k]!]!;
  return out;
}

/** Fits preprocessing and one model kind on `rows` (indices into the columns). */
function fitPipeline(
  kind: TabularModelKind,
  task: TabularTask,
  classes: string[] | undefined,
  schema: DatasetSchema,
  columns: EncodedColumns,
  rows: readonly number[],
  y: Float64Array,
  options: TabularTrainingOptions,
  seed: number,
): PipelineSpec {
  const trees = kind === 'gbdt';
  let features: FeatureSpec[] = fitEncodedFeatures(schema, columns, rows, {
    ...(trees ? { scale: 'none', missingIndicators: false } : { scale: 'standard' }),
    ...options.preprocessing,
  });
  // Trees route missing values themselves (each split learns a side): leave them missing.
  if (trees && options.preprocessing?.impute === undefined) {
    features = features.map((f) => (f.kind === 'numeric' ? { ...f, impute: Number.NaN } : f));
  }
  // The served graph reads numbers as float32: trees are grown on the same values, so every split
  // threshold is one the graph can hold exactly.
  const x = designMatrix(features, columns, rows, trees);
  let modelRows: number[] = [];
  for (let k = 0; k < rows.length; k++) modelRows.push(k);
  const resampled = options.oversample && task !== 'regression';
  if (resampled) modelRows = oversample(modelRows, (k) => y[rows[k]!]!, seed);
  // One row-major buffer, rows as views into it (no per-row arrays to allocate and collect).
  const rowViews = (): Float64Array[] => modelRows.map((k) => x.data.subarray(k * x.cols, (k + 1) * x.cols));
  const yRows = new Float64Array(modelRows.length);
  for (let k = 0; k < modelRows.length; k++) yRows[k] = y[rows[modelRows[k]!]!]!;
  const sampleWeights =
    options.classWeight === undefined ? undefined : classWeights(options.classWeight, classes, yRows, task);
  if (options.l1 !== undefined && options.l1 > 0 && (kind === 'gbdt' || task === 'multiclass')) {
    throw new GalenError(
      'invalid_input',
      `l1 applies to two-class logistic regression and linear regression, not ${kind === 'gbdt' ? 'gbdt' : `${classes!.length}-class logistic regression`}`,
    );
  }
  if (kind === 'logistic' || kind === 'linear') {
    if ((kind === 'logistic') !== (task !== 'regression')) {
      throw new GalenError(
        'invalid_input',
        kind === 'logistic'
          ? `logistic regression predicts classes, and target "${schema.target}" is a number: use linear or gbdt`
          : `linear regression predicts a number, and target "${schema.target}" has classes: use logistic or gbdt`,
      );
    }
    // Linear models take the buffer whole when every row is used once.
    const xFit = resampled || rows.length === 0 ? rowViews() : x;
    const penalties = { l2: options.l2 ?? 1, l1: options.l1 ?? 0, ...(sampleWeights && { sampleWeights }) };
    if (task !== 'multiclass') {
      // One row of weights: the number itself, or the positive class's logit.
      const fit =
        task === 'regression'
          ? fitLinearRegression(xFit, yRows, penalties)
          : fitLogisticRegression(xFit, yRows, penalties);
      return {
        features,
        model: {
          type: 'linear',
          ...(task === 'regression' ? { task: 'regression' } : { task: 'classification', classes: classes! }),
          coefficients: [Array.from(fit.weights)],
          intercepts: [fit.intercept],
        },
      };
    }
    const fit = fitSoftmaxRegression(xFit, yRows, {
      l2: penalties.l2,
      classes: classes!.length,
      ...(sampleWeights && { sampleWeights }),
    });
    return {
      features,
      model: {
        type: 'linear',
        task: 'classification',
        classes: classes!,
        coefficients: fit.coefficients.map((row) => Array.from(row)),
        intercepts: Array.from(fit.intercepts),
      },
    };
  }
  const fit = fitGbdt(rowViews(), yRows, {
    ...options.gbdt,
    ...(sampleWeights && { sampleWeights }),
    task,
    ...(task === 'multiclass' && { classes: classes!.length }),
    seed,
  });
  return { features, model: toTreeEnsembleSpec(fit, classes ? { classes } : {}) };
}

/** Row positions with the smaller classes' rows repeated at random until every class matches the largest. */
function oversample(positions: number[], classOf: (position: number) => number, seed: number): number[] {
  const byClass = new Map<number, number[]>();
  for (const p of positions) {
    const c = classOf(p);
    byClass.set(c, [...(byClass.get(c) ?? []), p]);
  }
  const largest = Math.max(...[...byClass.values()].map((m) => m.length));
  const random = mulberry32(seed ^ 0x5eed);
  const out = [...positions];
  for (const members of [...byClass.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m)) {
    for (let i = members.length; i < largest; i++) out.push(members[Math.floor(random() * members.length)]!);
  }
  return out;
}

/** One weight per row from a class-weight setting. */
function classWeights(
  setting: 'balanced' | Record<string, number>,
  classes: string[] | undefined,
  y: Float64Array,
  task: TabularTask,
): Float64Array {
  if (task === 'regression' || !classes) {
    throw new GalenError('invalid_input', 'classWeight applies to a target with classes, not to a number');
  }
  const counts = new Array<number>(classes.length).fill(0);
  for (const c of y) counts[c]!++;
  let perClass: number[];
  if (setting === 'balanced') {
    perClass = counts.map((n) => (n === 0 ? 0 : y.length / (classes.length * n)));
  } else {
    for (const [label, w] of Object.entries(setting)) {
      if (!classes.includes(label)) {
        throw new GalenError(
          'invalid_input',
          `classWeight names "${label}", which is not a class; the classes are ${classes.map((c) => `"${c}"`).join(', ')}`,
        );
      }
      if (!Number.isFinite(w) || w <= 0) {
        throw new GalenError('invalid_input', `classWeight of "${label}" is ${w}; use a number > 0`);
      }
    }
    perClass = classes.map((c) => setting[c] ?? 1);
  }
  return Float64Array.from(y, (c) => perClass[c]!);
}

/** How `model: 'auto'` chose: each candidate's score per fold, on the training rows only. */
/** Metrics `auto` can choose by; auroc, auprc and accuracy are better higher, the rest lower. */
export const SELECTION_METRICS = {
  binary: ['auroc', 'auprc', 'logLoss', 'brier', 'accuracy'],
  multiclass: ['logLoss', 'accuracy'],
  regression: ['rmse', 'mae'],
} as const;
export type SelectionMetric = (typeof SELECTION_METRICS)[TabularTask][number];

const HIGHER_IS_BETTER: ReadonlySet<SelectionMetric> = new Set(['auroc', 'auprc', 'accuracy']);

/** One validation fold's score under `metric`. */
function foldScore(
  metric: SelectionMetric,
  predicted: ReturnType<typeof predictPipeline>,
  truth: readonly number[],
): number {
  const n = truth.length;
  const mean = (f: (t: number, r: number) => number): number => truth.reduce((s, t, r) => s + f(t, r), 0) / n;
  if (metric === 'rmse' || metric === 'mae') {
    const p = predicted.predictions!;
    return metric === 'rmse'
      ? Math.sqrt(mean((t, r) => (p[r]! - t) ** 2))
      : mean((t, r) => Math.abs(p[r]! - t));
  }
  const probs = predicted.probabilities!;
  switch (metric) {
    case 'auroc':
      return auroc(
        probs.map((p) => p[1]!),
        truth,
      );
    case 'auprc':
      return auprc(
        probs.map((p) => p[1]!),
        truth,
      );
    case 'brier':
      return mean((t, r) => (probs[r]![1]! - t) ** 2);
    case 'logLoss':
      return -mean((c, r) => Math.log(Math.max(1e-15, probs[r]![c]!)));
    case 'accuracy':
      return mean((c, r) => {
        const row = probs[r]!;
        return row.indexOf(Math.max(...row)) === c ? 1 : 0;
      });
  }
}

export interface ModelSelection {
  /** What the candidates were scored by (`selectBy`, else auroc / logLoss / rmse by task). */
  metric: SelectionMetric;
  folds: number;
  candidates: { model: TabularModelKind; scores: number[]; mean: number }[];
  chosen: TabularModelKind;
}

/** k-fold cross-validation over the training rows for each model kind that fits the task. */
function selectModel(
  task: TabularTask,
  classes: string[] | undefined,
  schema: DatasetSchema,
  columns: EncodedColumns,
  train: readonly number[],
  y: Float64Array,
  options: TabularTrainingOptions,
  seed: number,
): ModelSelection {
  const k = options.folds ?? 5;
  const folds = kFolds(train, task === 'regression' ? undefined : y, k, seed);
  const allowed: readonly SelectionMetric[] = SELECTION_METRICS[task];
  const metric = options.selectBy ?? allowed[0]!;
  if (!allowed.includes(metric)) {
    throw new GalenError(
      'invalid_input',
      `selectBy "${metric}" does not apply to a ${task} target; use one of ${allowed.join(', ')}`,
    );
  }
  const kinds = kindsFor(task);
  const fits = kinds.length * k + 1;
  const candidates = kinds.map((model, m) => {
    const scores = folds.map((validation, f) => {
      options.onProgress?.((m * k + f) / fits, `cross-validation: ${model}, fold ${f + 1} of ${k}`);
      const held = new Set(validation);
      const fitRows = train.filter((i) => !held.has(i));
      const spec = fitPipeline(model, task, classes, schema, columns, fitRows, y, options, seed);
      const predicted = predictPipeline(spec, pick(columns, validation));
      return foldScore(
        metric,
        predicted,
        validation.map((i) => y[i]!),
      );
    });
    return { model, scores, mean: scores.reduce((a, b) => a + b, 0) / scores.length };
  });
  const better = (a: number, b: number): boolean => (HIGHER_IS_BETTER.has(metric) ? a > b : a < b);
  const best = candidates.reduce((a, b) => (better(b.mean, a.mean) ? b : a));
  return { metric, folds: k, candidates, chosen: best.model };
}

/** `k` folds of `rows`: stratified by class when labels are given, seeded. */
function kFolds(rows: readonly number[], y: Float64Array | undefined, k: number, seed: number): number[][] {
  if (!Number.isInteger(k) || k < 2 || k > rows.length) {
    throw new GalenError(
      'invalid_input',
      `folds is ${k}; cross-validation needs an integer from 2 to the number of training rows`,
    );
  }
  const random = mulberry32(seed);
  const groups = new Map<number, number[]>();
  for (const i of rows) {
    const key = y ? y[i]! : 0;
    const list = groups.get(key) ?? [];
    list.push(i);
    groups.set(key, list);
  }
  const folds: number[][] = Array.from({ length: k }, () => []);
  let next = 0;
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const members = groups.get(key)!;
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    // Dealt round-robin, continuing across classes, so fold sizes differ by at most one.
    for (const m of members) folds[next++ % k]!.push(m);
  }
  return folds.map((f) => f.sort((a, b) => a - b));
}

/** The target read and the labelled rows split into training and held-out rows (stratified for classes). */
function splitTabular(
  table: ParsedTable,
  schema: DatasetSchema,
  options: Pick<TabularTrainingOptions, 'positive' | 'testRows' | 'testFraction'>,
  seed: number,
): {
  task: TabularTask;
  classes: string[] | undefined;
  y: Float64Array;
  labelled: number[];
  train: number[];
  test: number[];
} {
  const targetName = schema.target;
  const targetColumn = schema.columns.find((c) => c.name === targetName);
  if (targetName === undefined || !targetColumn) {
    throw new GalenError('invalid_input', 'the schema names no target column: say which column to predict');
  }
  const { task, classes, y } = targetOf(table, targetColumn, options.positive);
  const labelled: number[] = [];
  for (let i = 0; i < y.length; i++) if (!Number.isNaN(y[i]!)) labelled.push(i);
  if (labelled.length < 10) {
    throw new GalenError(
      'invalid_input',
      `only ${labelled.length} rows have a target value; training needs at least 10`,
    );
  }

  let train: number[];
  let test: number[];
  if (options.testRows) {
    const held = new Set(options.testRows);
    test = labelled.filter((i) => held.has(i));
    train = labelled.filter((i) => !held.has(i));
  } else if (task === 'regression') {
    const random = mulberry32(seed);
    const shuffled = [...labelled].sort(() => random() - 0.5);
    const nTest = Math.round(shuffled.length * (options.testFraction ?? 0.2));
    test = shuffled.slice(0, nTest).sort((a, b) => a - b);
    train = shuffled.slice(nTest).sort((a, b) => a - b);
  } else {
    const split = stratifiedSplit(
      labelled.map((i) => y[i]!),
      options.testFraction ?? 0.2,
      seed,
    );
    train = split.train.map((k) => labelled[k]!).sort((a, b) => a - b);
    test = split.test.map((k) => labelled[k]!).sort((a, b) => a - b);
  }
  if (task !== 'regression') {
    const trainClasses = new Set(targetsOf(y, train));
    if (trainClasses.size < classes!.length) {
      const absent = classes!.filter((_, k) => !trainClasses.has(k));
      throw new GalenError(
        'invalid_input',
        `the training rows hold no example of class(es) ${absent.join(', ')}`,
      );
    }
  }

  return { task, classes, y, labelled, train, test };
}

/**
 * Trains `options.model` on `table`, whose `schema` names the target.
 * @example trainTabular(parseCsv(bytes), inferSchema(table, { target: 'readmitted' }), { model: 'gbdt' })
 */
export function trainTabular(
  table: ParsedTable,
  schema: DatasetSchema,
  options: TabularTrainingOptions,
): TabularTrainingResult {
  const seed = options.seed ?? 42;
  const { task, classes, y, labelled, train, test } = splitTabular(table, schema, options, seed);
  const columns = encodeTable(table, schema);
  let kind: TabularModelKind;
  let selection: ModelSelection | undefined;
  if (options.model === 'auto') {
    selection = selectModel(task, classes, schema, columns, train, y, options, seed);
    kind = selection.chosen;
  } else {
    kind = options.model;
  }
  const cvFits = selection ? selection.candidates.length * selection.folds : 0;
  options.onProgress?.(cvFits / (cvFits + 1), `fitting ${kind} on ${train.length} training rows`);
  const { features, model } = fitPipeline(kind, task, classes, schema, columns, train, y, options, seed);
  return {
    spec: { features, model },
    model: kind,
    ...(selection && { selection }),
    task,
    ...(classes && { classes }),
    train,
    test,
    droppedRows: y.length - labelled.length,
    testColumns: pick(columns, test),
    testTargets: targetsOf(y, test),
    trainTargets: targetsOf(y, train),
    backgroundColumns: pick(columns, sampleRows(train, BACKGROUND_ROWS, seed ^ 0xbac6)),
    trainColumns: pick(columns, train),
  };
}

/** A table prepared for a network trained elsewhere (the PyTorch backend's MLP). */
export interface TabularNetworkData {
  task: 'binary' | 'multiclass';
  classes: string[];
  /** Feature transforms fitted on the training rows (standard scaling, one-hot, imputation). */
  features: FeatureSpec[];
  train: number[];
  validation: number[];
  test: number[];
  droppedRows: number;
  /** Design matrices (rows × width, float32) and class indices of the training and validation rows. */
  width: number;
  x: { train: Float32Array; validation: Float32Array };
  y: { train: Float64Array; validation: Float64Array };
  /** Raw columns of the validation and held-out rows, as the served graph takes them. */
  validationColumns: PipelineColumns;
  testColumns: PipelineColumns;
  /** Raw feature columns of up to 100 training rows: the explainer's background. */
  backgroundColumns: PipelineColumns;
  /** Raw feature columns of the training rows: the monitoring reference. */
  trainColumns: PipelineColumns;
  testTargets: Float64Array;
}

/**
 * Splits a table (held-out rows as `trainTabular` would choose them, then a stratified validation
 * share of the training rows for early stopping), fits the preprocessing on the training rows and
 * gives the design matrices a network trains on. Classification only.
 */
export function prepareTabularNetwork(
  table: ParsedTable,
  schema: DatasetSchema,
  options: Pick<
    TabularTrainingOptions,
    'positive' | 'testRows' | 'testFraction' | 'seed' | 'preprocessing'
  > & {
    validationFraction?: number;
  },
): TabularNetworkData {
  const seed = options.seed ?? 42;
  const { task, classes, y, labelled, train: pool, test } = splitTabular(table, schema, options, seed);
  if (task === 'regression') {
    throw new GalenError(
      'invalid_input',
      `the mlp predicts classes, and target "${schema.target}" is a number: use linear or gbdt`,
    );
  }
  const carved = stratifiedSplit(
    pool.map((r) => y[r]!),
    options.validationFraction ?? 0.1,
    seed + 1,
  );
  const train = carved.train.map((k) => pool[k]!);
  const validation = carved.test.map((k) => pool[k]!);
  const columns = encodeTable(table, schema);
  const features = fitEncodedFeatures(schema, columns, train, {
    scale: 'standard',
    ...options.preprocessing,
  });
  const matrix = (rows: readonly number[]): Float32Array =>
    Float32Array.from(designMatrix(features, columns, rows, true).data);
  return {
    task,
    classes: classes!,
    features,
    train,
    validation,
    test,
    droppedRows: y.length - labelled.length,
    width: featureWidth(features),
    x: { train: matrix(train), validation: matrix(validation) },
    y: { train: targetsOf(y, train), validation: targetsOf(y, validation) },
    validationColumns: pick(columns, validation),
    testColumns: pick(columns, test),
    backgroundColumns: pick(columns, sampleRows(train, BACKGROUND_ROWS, seed ^ 0xbac6)),
    trainColumns: pick(columns, train),
    testTargets: targetsOf(y, test),
  };
}
