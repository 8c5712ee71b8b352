/**
 * Histogram-based gradient-boosted trees in TypeScript, after scikit-learn's
 * HistGradientBoostingClassifier/Regressor: binary (log-loss), multiclass (softmax, one tree per
 * class per iteration) and regression (squared error), with missing values learned per split and
 * early stopping on a held-out part. The fitted model evaluates here (`predictGbdtRaw`,
 * `predictGbdtProba`) and converts to the `TreeEnsembleSpec` that `onnx/` compiles.
 */
import { invalidInput } from '../core/index.js';
import type { TreeEnsembleSpec, TreeNodeSpec } from '../core/index.js';
import { FLOAT32_MAX, binMatrix, checkMatrix, pickRows } from './gbdt-binning.js';
import { baseline, gradients, meanLoss, softmaxInto, startIteration } from './gbdt-loss.js';
import type { GbdtTask } from './gbdt-loss.js';
import { TreeGrower, addTreeBinned } from './gbdt-tree.js';
import type { GrownTree } from './gbdt-tree.js';
import { stratifiedSplit } from './split.js';

export type { GbdtTask } from './gbdt-loss.js';

export interface GbdtEarlyStopping {
  /** Share of the rows held out to measure the validation loss (stratified for classification); default 0.1. */
  validationFraction?: number;
  /** Stop when the last `patience` iterations did not improve on the one before them; default 10. */
  patience?: number;
  /** An improvement must lower the validation loss by more than this; default 1e-7. */
  tolerance?: number;
}

export interface GbdtOptions {
  task: GbdtTask;
  /** Number of classes K (multiclass only; labels are 0..K-1). */
  classes?: number;
  /** Shrinks every leaf; default 0.1. */
  learningRate?: number;
  /** Boosting iterations (for multiclass, each grows K trees); default 100. */
  maxIterations?: number;
  /** Leaves per tree, grown best-first; default 31. */
  maxLeafNodes?: number;
  /** Depth limit (root = 0); default none. */
  maxDepth?: number;
  /** Fewest training rows in a leaf; default 20. */
  minSamplesLeaf?: number;
  /** L2 penalty on leaf values; default 0. */
  l2Regularization?: number;
  /** Value bins per feature, at most 255 (missing values get one more); default 255. */
  maxBins?: number;
  /**
   * Early stopping on held-out validation loss, or `false` for none. Default `'auto'`: on (with the
   * defaults above) when there are more than 10,000 rows, as in scikit-learn.
   */
  earlyStopping?: GbdtEarlyStopping | false | 'auto';
  /** One non-negative weight per row (e.g. class weights); default all 1. */
  sampleWeights?: Float64Array;
  /** Seeds the validation split and the binning sample; default 0. */
  seed?: number;
  /** Called after every iteration; `validationLoss` is undefined without early stopping. */
  onProgress?: (iteration: number, trainLoss: number, validationLoss: number | undefined) => void;
}

/** One tree: node 0 is the root; leaves have `feature` -1 and their value in `value`. */
export interface GbdtTree {
  /** The output (class for multiclass, else 0) the tree adds to. */
  readonly output: number;
  readonly feature: Int32Array;
  /** `x[feature] <= threshold` goes left; NaN goes left when `missingGoesLeft[node]` is 1. */
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly missingGoesLeft: Uint8Array;
  /** Leaf values, learning rate applied; 0 on branches. */
  readonly value: Float64Array;
}

export interface GbdtModel {
  readonly task: GbdtTask;
  readonly nFeatures: number;
  /** Raw scores per row: K for multiclass, else 1. */
  readonly outputs: number;
  /** Raw score before any tree, per output. */
  readonly base: readonly number[];
  /** In iteration order; for multiclass, K per iteration (class 0 first). */
  readonly trees: readonly GbdtTree[];
  /** Iterations run (fewer than `maxIterations` when early stopping stopped the fit). */
  readonly iterations: number;
  /** Mean training loss after each iteration; index 0 is the baseline's. */
  readonly trainLoss: readonly number[];
  /** Mean validation loss likewise; empty without early stopping. */
  readonly validationLoss: readonly number[];
  readonly stoppedEarly: boolean;
}

/**
 * Fits gradient-boosted trees to rows `x` (NaN = missing) and targets `y` (class index 0..K-1, or
 * the value for regression). Values are read as float32, as the compiled ONNX graph reads its FP32
 * inputs (scikit-learn's trees likewise fit on float32): thresholds are float32s that split the
 * float32 values as training did, and `predictGbdtRaw` reads rows the same way, so the served graph
 * gives the fitted model's predictions. Values beyond float32's range (±3.4e38) are refused.
 *
 * @example
 * const model = fitGbdt(rows, labels, { task: 'binary', seed: 7 });
 * const p = predictGbdtProba(model, rows); // [1 - p, p] per row
 */
export function fitGbdt(x: readonly Float64Array[], y: Float64Array, options: GbdtOptions): GbdtModel {
  const o = resolveOptions(options, x, y);
  const n = x.length;
  const weights = options.sampleWeights ?? new Float64Array(n).fill(1);
  const es = o.earlyStopping;
  let trainRows: Uint32Array;
  let validRows = new Uint32Array(0);
  if (es) {
    const labels = o.task === 'regression' ? new Float64Array(n) : y;
    const split = stratifiedSplit(labels, es.validationFraction, o.seed);
    trainRows = Uint32Array.from(split.train);
    validRows = Uint32Array.from(split.test);
  } else {
    trainRows = new Uint32Array(n);
    for (let i = 0; i < n; i++) trainRows[i] = i;
  }
  const { mapper, binned } = binMatrix(x, trainRows, o.nFeatures, o.maxBins, o.seed);
  const part = (rows: Uint32Array) => ({
    binned: pickRows(binned, rows),
    y: gather(y, rows),
    w: gather(weights, rows),
  });
  const train = part(trainRows);
  const valid = part(validRows);
  const K = o.outputs;
  const base = baseline(o.task, y, weights, trainRows, K).map(Math.fround); // float32-exact, as ONNX stores it
  const startAt = (rows: number) => {
    const scores = new Float64Array(rows * K);
    for (let i = 0; i < scores.length; i++) scores[i] = base[i % K]!;
    return scores;
  };
  const raw = startAt(trainRows.length);
  const rawValid = startAt(validRows.length);
  const probabilities = new Float64Array(o.task === 'multiclass' ? raw.length : 0);
  const gh = new Float64Array(2 * trainRows.length);
  const grower = new TreeGrower({ binned: train.binned, missingBin: mapper.missingBin, options: o });

  const trees: GbdtTree[] = [];
  const start = () => startIteration(o.task, train.y, train.w, raw, probabilities, K, gh);
  const trainLoss = [start()];
  const validationLoss = es ? [meanLoss(o.task, valid.y, valid.w, rawValid, K)] : [];
  let iterations = 0;
  let stoppedEarly = false;
  while (iterations < o.maxIterations) {
    for (let k = 0; k < K; k++) {
      if (o.task === 'multiclass') gradients(train.y, train.w, probabilities, K, k, gh);
      const grown = grower.grow(gh, raw, K, k);
      if (es) addTreeBinned(grown, valid.binned, mapper.missingBin, rawValid, K, k);
      trees.push(withThresholds(grown, mapper.thresholds, k));
    }
    iterations++;
    trainLoss.push(start()); // also the next iteration's gradients
    if (es) validationLoss.push(meanLoss(o.task, valid.y, valid.w, rawValid, K));
    options.onProgress?.(iterations, trainLoss[iterations]!, es ? validationLoss[iterations] : undefined);
    if (es && shouldStop(validationLoss, es.patience, es.tolerance)) {
      stoppedEarly = iterations < o.maxIterations;
      break;
    }
  }
  return {
    task: o.task,
    nFeatures: o.nFeatures,
    outputs: K,
    base,
    trees,
    iterations,
    trainLoss,
    validationLoss,
    stoppedEarly,
  };
}

function gather(values: Float64Array, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]!]!;
  return out;
}

/**
 * scikit-learn's rule: stop when none of the last `patience` losses is below the loss just before
 * them by more than `tolerance`.
 */
function shouldStop(losses: readonly number[], patience: number, tolerance: number): boolean {
  if (losses.length < patience + 1) return false;
  const reference = losses[losses.length - patience - 1]! - tolerance;
  for (let i = losses.length - patience; i < losses.length; i++) if (losses[i]! < reference) return false;
  return true;
}

/** The bin-space tree with real thresholds: the upper edge of the split bin (all values for the last bin). */
function withThresholds(tree: GrownTree, edges: readonly Float64Array[], output: number): GbdtTree {
  const threshold = new Float64Array(tree.feature.length);
  tree.feature.forEach((f, node) => {
    if (f >= 0) threshold[node] = edges[f]![tree.bin[node]!] ?? FLOAT32_MAX;
  });
  const { feature, left, right, missingGoesLeft, value } = tree;
  return { output, feature, threshold, left, right, missingGoesLeft, value };
}

/** Raw scores, row-major: `outputs` per row (base + Σ leaves). Values are read as float32, as in `fitGbdt`. */
export function predictGbdtRaw(model: GbdtModel, x: readonly Float64Array[]): Float64Array {
  const K = model.outputs;
  const raw = new Float64Array(x.length * K);
  x.forEach((row, i) => {
    if (row.length !== model.nFeatures) {
      throw invalidInput(`row ${i} has ${row.length} values; the model expects ${model.nFeatures}`);
    }
    for (let k = 0; k < K; k++) raw[i * K + k] = model.base[k]!;
    for (const tree of model.trees) {
      let node = 0;
      let f = tree.feature[0]!;
      while (f >= 0) {
        const v = Math.fround(row[f]!); // as the served graph reads it
        const left = Number.isNaN(v) ? tree.missingGoesLeft[node] === 1 : v <= tree.threshold[node]!;
        node = left ? tree.left[node]! : tree.right[node]!;
        f = tree.feature[node]!;
      }
      const p = i * K + tree.output;
      raw[p] = raw[p]! + tree.value[node]!;
    }
  });
  return raw;
}

/**
 * Probabilities, row-major: binary `[1 - p, p]` with p = sigmoid(raw), multiclass the softmax (K
 * per row). Regression models have none.
 */
export function predictGbdtProba(model: GbdtModel, x: readonly Float64Array[]): Float64Array {
  const raw = predictGbdtRaw(model, x);
  switch (model.task) {
    case 'binary': {
      const out = new Float64Array(x.length * 2);
      raw.forEach((z, i) => {
        const p = 1 / (1 + Math.exp(-z));
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      });
      return out;
    }
    case 'multiclass': {
      const out = new Float64Array(raw.length);
      softmaxInto(raw, model.outputs, out);
      return out;
    }
    case 'regression':
      throw invalidInput('predictGbdtProba needs a classification model; use predictGbdtRaw for regression');
  }
}

/**
 * The model as Galen's pipeline contract. `classes` names the classes in label order (default
 * "0", "1", …); leaf values are per output, so a multiclass tree's leaf holds zeros except at its class.
 */
export function toTreeEnsembleSpec(
  model: GbdtModel,
  options: { classes?: readonly string[] } = {},
): TreeEnsembleSpec {
  const K = model.outputs;
  const trees = model.trees.map((tree) =>
    Array.from(tree.feature, (f, node): TreeNodeSpec => {
      if (f >= 0) {
        return {
          feature: f,
          threshold: tree.threshold[node]!,
          left: tree.left[node]!,
          right: tree.right[node]!,
          missingGoesLeft: tree.missingGoesLeft[node] === 1,
        };
      }
      const leaf = new Array<number>(K).fill(0);
      leaf[tree.output] = tree.value[node]!;
      return { feature: 0, threshold: 0, left: -1, right: -1, missingGoesLeft: false, leaf };
    }),
  );
  if (model.task === 'regression') return { type: 'trees', task: 'regression', base: [...model.base], trees };
  const nClasses = model.task === 'binary' ? 2 : K;
  const classes = options.classes ?? Array.from({ length: nClasses }, (_, i) => String(i));
  if (classes.length !== nClasses) {
    throw invalidInput(`${classes.length} class names given; the model has ${nClasses} classes`);
  }
  return { type: 'trees', task: 'classification', classes: [...classes], base: [...model.base], trees };
}

interface Resolved {
  task: GbdtTask;
  nFeatures: number;
  outputs: number;
  learningRate: number;
  maxIterations: number;
  maxLeafNodes: number;
  maxDepth: number;
  minSamplesLeaf: number;
  l2Regularization: number;
  maxBins: number;
  seed: number;
  earlyStopping: Required<GbdtEarlyStopping> | undefined;
}

function resolveOptions(options: GbdtOptions, x: readonly Float64Array[], y: Float64Array): Resolved {
  const maxBins = options.maxBins ?? 255;
  const nFeatures = checkMatrix(x, maxBins);
  const n = x.length;
  for (const row of x) {
    for (let j = 0; j < row.length; j++) {
      const v = Math.fround(row[j]!);
      if (v === Infinity || v === -Infinity) {
        throw invalidInput(
          `x holds an infinite value or one beyond float32's range (±${FLOAT32_MAX.toPrecision(3)}), which the served model cannot read; give finite numbers within it, NaN for missing`,
        );
      }
    }
  }
  if (y.length !== n) throw invalidInput(`y has ${y.length} values; x has ${n} rows`);
  const { task } = options;
  let outputs = 1;
  if (task === 'multiclass') {
    outputs = options.classes ?? 0;
    if (!Number.isInteger(outputs) || outputs < 2)
      throw invalidInput(`classes is ${options.classes}; a multiclass fit needs an integer ≥ 2`);
  }
  const nLabels = task === 'binary' ? 2 : outputs;
  y.forEach((v, i) => {
    const ok = task === 'regression' ? Number.isFinite(v) : Number.isInteger(v) && v >= 0 && v < nLabels;
    if (!ok)
      throw invalidInput(
        `y[${i}] is ${v}; expected ${task === 'regression' ? 'a finite number' : `a class index from 0 to ${nLabels - 1}`}`,
      );
  });
  const w = options.sampleWeights;
  if (w && (w.length !== n || w.some((v) => !(v >= 0 && Number.isFinite(v))))) {
    throw invalidInput(`sampleWeights must hold ${n} finite non-negative numbers, one per row`);
  }
  const positive = (name: string, value: number, integer: boolean, min: number): number => {
    if (!(value >= min) || (integer && !Number.isInteger(value)) || !Number.isFinite(value)) {
      throw invalidInput(`${name} is ${value}; expected ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
    }
    return value;
  };
  const es = options.earlyStopping ?? 'auto';
  const esOn = es === 'auto' ? n > 10_000 : es !== false;
  const esOptions = typeof es === 'object' ? es : {};
  const validationFraction = esOptions.validationFraction ?? 0.1;
  if (esOn && !(validationFraction > 0 && validationFraction < 1)) {
    throw invalidInput(
      `earlyStopping.validationFraction is ${validationFraction}; expected a number strictly between 0 and 1`,
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw invalidInput(`seed is ${seed}; expected an integer`);
  return {
    task,
    nFeatures,
    outputs,
    learningRate: positive('learningRate', options.learningRate ?? 0.1, false, Number.MIN_VALUE),
    maxIterations: positive('maxIterations', options.maxIterations ?? 100, true, 1),
    maxLeafNodes: positive('maxLeafNodes', options.maxLeafNodes ?? 31, true, 2),
    maxDepth: options.maxDepth === undefined ? Infinity : positive('maxDepth', options.maxDepth, true, 1),
    minSamplesLeaf: positive('minSamplesLeaf', options.minSamplesLeaf ?? 20, true, 1),
    l2Regularization: positive('l2Regularization', options.l2Regularization ?? 0, false, 0),
    maxBins,
    seed,
    earlyStopping: esOn
      ? {
          validationFraction,
          patience: positive('earlyStopping.patience', esOptions.patience ?? 10, true, 1),
          tolerance: positive('earlyStopping.tolerance', esOptions.tolerance ?? 1e-7, false, 0),
        }
      : undefined,
  };
}
