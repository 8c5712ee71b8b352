/**
 * The reference evaluation of a `PipelineSpec` in plain TypeScript: the feature transform
 * (`featureMatrix`) and the model on top (`predictPipeline`). The compiled ONNX graph
 * (`onnx/tabular-pipeline.ts`) must agree with it. That graph reads numbers as FP32 and imputes,
 * clips and scales them in float32, so the features here are computed the same way, bit for bit: a
 * tree then routes every row as the graph does (a float64 value just above a threshold can be on it
 * in float32), and only the model's own arithmetic differs (~1e-6).
 */
import { featureWidth, invalidInput, kindOf } from '../core/index.js';
import type {
  FeatureSpec,
  LinearModelSpec,
  NumericFeatureSpec,
  PipelineSpec,
  TreeEnsembleSpec,
} from '../core/index.js';
import type { RowMajorMatrix } from './features.js';
import type { EncodedColumns } from './preprocess.js';

/** A cell: a number for numeric columns (NaN or null = missing), text for categorical ones ('' or null = missing). */
export type PipelineCell = number | string | null;

/** Raw input columns by name, all of one length. */
export type PipelineColumns = Readonly<Record<string, readonly PipelineCell[]>>;

/** Classification fills `probabilities` (K per row, in `classes` order) and `labels`; regression fills `predictions`. */
export interface PipelinePrediction {
  readonly probabilities?: Float64Array[];
  readonly labels?: string[];
  readonly predictions?: Float64Array;
}

/**
 * The design matrix as the served graph computes it: one Float64Array of `featureWidth(features)`
 * values per row, in spec order (a numeric value, in float32 arithmetic, then its missing indicator;
 * one 0/1 per category).
 * @throws GalenError `invalid_input` for a missing column, columns of different lengths, or a cell of the wrong kind.
 * @example featureMatrix(spec.features, { age: [61, null], sex: ['F', ''] }) // → [Float64Array, Float64Array]
 */
export function featureMatrix(features: readonly FeatureSpec[], columns: PipelineColumns): Float64Array[] {
  const rows = rowCount(features, columns);
  const width = featureWidth(features);
  const matrix = Array.from({ length: rows }, () => new Float64Array(width));
  let at = 0;
  for (const f of features) {
    const cells = columns[f.column] ?? [];
    if (f.kind === 'categorical') {
      const index = new Map(f.categories.map((c, j) => [c, j]));
      cells.forEach((cell, i) => {
        if (cell !== null && typeof cell !== 'string') {
          throw invalidInput(
            `column "${f.column}" row ${i} is ${kindOf(cell)}; a categorical column holds text or null`,
          );
        }
        const j = cell === null || cell === '' ? undefined : index.get(cell);
        if (j !== undefined) (matrix[i] as Float64Array)[at + j] = 1;
      });
      at += f.categories.length;
      continue;
    }
    cells.forEach((cell, i) => {
      if (cell !== null && typeof cell !== 'number') {
        throw invalidInput(
          // The cell's kind, never its text: it is patient data.
          `column "${f.column}" row ${i} is ${kindOf(cell)}; a numeric column holds numbers or null`,
        );
      }
      const row = matrix[i] as Float64Array;
      const missing = cell === null || Number.isNaN(cell);
      row[at] = transformNumeric32(f, missing ? Number.NaN : cell);
      if (f.missingIndicator) row[at + 1] = missing ? 1 : 0;
    });
    at += f.missingIndicator ? 2 : 1;
  }
  return matrix;
}

/**
 * The design matrix for training: the rows `rows` of coded columns (`encodeTable`), laid out in one
 * row-major buffer (no per-row arrays, no picked copy of the columns). With `float32` (trees, whose
 * splits must fall where the served graph's do) numeric values are computed as the graph computes
 * them and equal `featureMatrix(features, picked)`; without it (linear models) in float64.
 */
export function designMatrix(
  features: readonly FeatureSpec[],
  columns: EncodedColumns,
  rows: readonly number[],
  float32: boolean,
): RowMajorMatrix & { readonly data: Float64Array } {
  const n = rows.length;
  const width = featureWidth(features);
  const data = new Float64Array(n * width);
  let at = 0;
  for (const f of features) {
    const column = columns[f.column];
    if (column === undefined) throw invalidInput(`column "${f.column}" is missing`);
    if (f.kind === 'categorical') {
      if (column instanceof Float64Array) {
        throw invalidInput(`column "${f.column}" holds numbers; a categorical column holds text`);
      }
      // Output slot of each code; a category listed twice keeps its last slot, as a Map would.
      const slot = new Int32Array(column.names.length).fill(-1);
      f.categories.forEach((c, j) => {
        const code = column.index.get(c);
        if (code !== undefined) slot[code] = j;
      });
      for (let i = 0; i < n; i++) {
        const code = column.codes[rows[i]!];
        const j = code === undefined || code < 0 ? -1 : slot[code]!;
        if (j >= 0) data[i * width + at + j] = 1;
      }
      at += f.categories.length;
      continue;
    }
    if (!(column instanceof Float64Array)) {
      throw invalidInput(`column "${f.column}" holds text; a numeric column holds numbers`);
    }
    for (let i = 0; i < n; i++) {
      const cell = column[rows[i]!];
      const missing = cell === undefined || Number.isNaN(cell);
      const v = missing ? Number.NaN : cell;
      data[i * width + at] = float32 ? transformNumeric32(f, v) : transformNumeric(f, v);
      if (f.missingIndicator) data[i * width + at + 1] = missing ? 1 : 0;
    }
    at += f.missingIndicator ? 2 : 1;
  }
  return { data, rows: n, cols: width };
}

/**
 * Evaluates the whole pipeline on raw columns. `labels[i]` is the class with the highest
 * probability (the first such class on ties).
 * @example predictPipeline(spec, { age: [61, null], sex: ['F', 'M'] }).probabilities?.[0] // Float64Array [1 - p, p]
 */
export function predictPipeline(spec: PipelineSpec, columns: PipelineColumns): PipelinePrediction {
  const x = featureMatrix(spec.features, columns);
  const model = spec.model;
  const scores = x.map((row) =>
    model.type === 'linear' ? linearScores(model, row) : treeScores(model, row),
  );
  if (model.task === 'regression')
    return { predictions: Float64Array.from(scores, (s) => s[0] ?? Number.NaN) };
  const classes = model.classes ?? [];
  const probabilities = scores.map((s) => {
    if (classes.length === 2 && s.length === 1) {
      const p = sigmoid(s[0] ?? Number.NaN);
      return Float64Array.of(1 - p, p);
    }
    if (s.length !== classes.length) {
      throw invalidInput(`the model gives ${s.length} scores per row for ${classes.length} classes`);
    }
    return softmax(s);
  });
  const labels = probabilities.map((p) => classes[argmax(p)] ?? '');
  return { probabilities, labels };
}

function rowCount(features: readonly FeatureSpec[], columns: PipelineColumns): number {
  let rows: number | undefined;
  for (const f of features) {
    const cells = columns[f.column];
    if (cells === undefined) {
      throw invalidInput(
        `column "${f.column}" is missing; the pipeline reads ${features.map((g) => `"${g.column}"`).join(', ')}`,
      );
    }
    if (rows !== undefined && cells.length !== rows) {
      throw invalidInput(
        `column "${f.column}" has ${cells.length} rows; "${features[0]?.column}" has ${rows}`,
      );
    }
    rows = cells.length;
  }
  return rows ?? 0;
}

function transformNumeric(f: NumericFeatureSpec, value: number): number {
  let v = Number.isNaN(value) ? f.impute : value;
  if (f.clip !== undefined && !Number.isNaN(v)) v = Math.min(Math.max(v, f.clip.low), f.clip.high);
  return (v - f.offset) * f.scale;
}

const f32 = Math.fround;

/**
 * `transformNumeric` as the compiled graph computes it from an FP32 input, one float32 rounding per
 * operator: Imputer (float32 impute value), Max/Min against float32 bounds (a NaN stays NaN), then
 * Scaler's `(x - offset) * scale` with float32 offset and scale.
 */
function transformNumeric32(f: NumericFeatureSpec, value: number): number {
  let v = Number.isNaN(value) ? f32(f.impute) : f32(value);
  if (f.clip !== undefined && !Number.isNaN(v)) v = Math.min(Math.max(v, f32(f.clip.low)), f32(f.clip.high));
  return f32(f32(v - f32(f.offset)) * f32(f.scale));
}

function linearScores(model: LinearModelSpec, row: Float64Array): Float64Array {
  return Float64Array.from(model.coefficients, (coefficients, r) => {
    if (coefficients.length !== row.length) {
      throw invalidInput(
        `coefficient row ${r} has ${coefficients.length} values; the features give ${row.length}`,
      );
    }
    let z = model.intercepts[r] ?? 0;
    for (let j = 0; j < row.length; j++) z += (coefficients[j] ?? 0) * (row[j] ?? 0);
    return z;
  });
}

/**
 * Sums the trees as ONNX Runtime's tree ensembles do for float input: in float32, leaves in tree
 * order from 0, the base added last. Summed in float64 instead, a 100-tree model drifts ~1e-5 from
 * the served graph.
 */
function treeScores(model: TreeEnsembleSpec, row: Float64Array): Float64Array {
  const score = new Float64Array(model.base.length);
  model.trees.forEach((tree, t) => {
    let n = 0;
    for (let steps = 0; steps <= tree.length; steps++) {
      const node = tree[n];
      if (node === undefined) throw invalidInput(`tree ${t} links to node ${n}, which does not exist`);
      if (node.leaf !== undefined) {
        node.leaf.forEach((w, k) => (score[k] = Math.fround((score[k] ?? 0) + Math.fround(w))));
        return;
      }
      const v = row[node.feature] ?? Number.NaN;
      const left = Number.isNaN(v) ? node.missingGoesLeft : v <= node.threshold;
      n = left ? node.left : node.right;
    }
    throw invalidInput(`tree ${t} has a cycle; no leaf is reached from node 0`);
  });
  model.base.forEach((b, k) => (score[k] = Math.fround((score[k] ?? 0) + Math.fround(b))));
  return score;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function softmax(scores: Float64Array): Float64Array {
  const max = Math.max(...scores);
  const e = scores.map((s) => Math.exp(s - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if ((values[k] ?? 0) > (values[best] ?? 0)) best = k;
  return best;
}
