/**
 * Declarative preprocessing, fitted on training rows only: which columns become features and how
 * (imputation, missing indicators, outlier clipping, scaling, one-hot encoding). The result is the
 * `features` part of a `PipelineSpec`, which the ONNX compiler turns into graph nodes, so the
 * served model applies exactly what was fitted here.
 */
import { GalenError } from '../core/index.js';
import type { CategoricalFeatureSpec, FeatureSpec, NumericFeatureSpec } from '../core/index.js';
import { parseNumber } from '../datasets/index.js';
import type { ColumnSchema, DatasetSchema, ParsedTable } from '../datasets/index.js';

export type ImputeStrategy = 'mean' | 'median' | 'most_frequent' | 'constant';
export type ScaleStrategy = 'standard' | 'minmax' | 'robust' | 'none';

export interface PreprocessOptions {
  /** How a missing numeric value is filled (default `median`). */
  impute?: ImputeStrategy;
  /** The value for `impute: 'constant'` (default 0). */
  imputeConstant?: number;
  /** Add a 0/1 "was missing" feature for numeric columns that have missing values in training (default true). */
  missingIndicators?: boolean;
  /** Default `standard` (what linear models want; trees ignore scale, use `none`). */
  scale?: ScaleStrategy;
  /** Clip numeric outliers to mean ± k·std (`zscore`) or [Q1 − k·IQR, Q3 + k·IQR] (`iqr`). */
  clip?: { method: 'zscore' | 'iqr'; k: number };
  /** Categories seen fewer times than this in training are treated as unseen (default 1: keep all). */
  minCategoryCount?: number;
}

/** A table as columns: numbers (NaN = missing) for numeric features, strings ('' = missing) otherwise. */
export type ColumnValues = Record<string, Float64Array | (string | null)[]>;

/** How a column enters the model: numeric columns (and 0/1 binaries) as numbers, the rest one-hot. */
export function isNumericFeature(column: ColumnSchema): boolean {
  return column.kind === 'numeric' || (column.kind === 'binary' && column.numeric !== undefined);
}

/** The feature columns of a schema, in file order. */
export function featureColumns(schema: DatasetSchema): ColumnSchema[] {
  return schema.columns.filter((c) => c.role === 'feature' && c.kind !== 'text');
}

/**
 * Reads the feature columns out of a parsed table: numbers for numeric features (checked with the
 * strict number rule; the error names the row and line), strings otherwise.
 */
export function columnValues(table: ParsedTable, schema: DatasetSchema): ColumnValues {
  const out: ColumnValues = {};
  for (const column of featureColumns(schema)) {
    const index = table.columns.indexOf(column.name);
    if (index < 0) throw new GalenError('invalid_input', `the data has no column "${column.name}"`);
    if (isNumericFeature(column)) {
      const values = new Float64Array(table.rows.length);
      table.rows.forEach((row, r) => {
        const cell = row[index] ?? null;
        if (cell === null) {
          values[r] = Number.NaN;
          return;
        }
        const n = parseNumber(cell);
        if (n === undefined) {
          const line = table.lines?.[r];
          throw new GalenError(
            'invalid_input',
            `column "${column.name}" is numeric but row ${r + 1}${line === undefined ? '' : ` (line ${line})`} has ${JSON.stringify(cell)}`,
          );
        }
        values[r] = n;
      });
      out[column.name] = values;
    } else {
      out[column.name] = table.rows.map((row) => row[index] ?? null);
    }
  }
  return out;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

function fitNumeric(
  name: string,
  values: Float64Array,
  rows: readonly number[],
  options: PreprocessOptions,
): NumericFeatureSpec {
  const present = Float64Array.from(rows.map((r) => values[r]!).filter((v) => !Number.isNaN(v))).sort();
  const missing = rows.length - present.length;
  if (present.length === 0) {
    throw new GalenError('invalid_input', `column "${name}" has no value in the training rows; ignore it`);
  }
  const mean = present.reduce((a, b) => a + b, 0) / present.length;
  const strategy = options.impute ?? 'median';
  let impute: number;
  if (strategy === 'mean') impute = mean;
  else if (strategy === 'median') impute = quantile(present, 0.5);
  else if (strategy === 'constant') impute = options.imputeConstant ?? 0;
  else {
    // most frequent; ties go to the smallest value
    let best = present[0]!;
    let bestCount = 0;
    for (let i = 0; i < present.length;) {
      let j = i;
      while (j < present.length && present[j] === present[i]) j++;
      if (j - i > bestCount) {
        bestCount = j - i;
        best = present[i]!;
      }
      i = j;
    }
    impute = best;
  }
  // Clipping and scaling are fitted on the values as the model will see them: imputed.
  const filled = Float64Array.from(rows.map((r) => (Number.isNaN(values[r]!) ? impute : values[r]!))).sort();
  let clip: NumericFeatureSpec['clip'];
  if (options.clip) {
    const k = options.clip.k;
    if (options.clip.method === 'zscore') {
      const m = filled.reduce((a, b) => a + b, 0) / filled.length;
      const sd = Math.sqrt(filled.reduce((a, b) => a + (b - m) ** 2, 0) / filled.length);
      clip = { low: m - k * sd, high: m + k * sd };
    } else {
      const q1 = quantile(filled, 0.25);
      const q3 = quantile(filled, 0.75);
      clip = { low: q1 - k * (q3 - q1), high: q3 + k * (q3 - q1) };
    }
  }
  const seen = clip ? filled.map((v) => Math.min(clip.high, Math.max(clip.low, v))).sort() : filled;
  let offset = 0;
  let spread = 1;
  switch (options.scale ?? 'standard') {
    case 'standard': {
      offset = seen.reduce((a, b) => a + b, 0) / seen.length;
      spread = Math.sqrt(seen.reduce((a, b) => a + (b - offset) ** 2, 0) / seen.length);
      break;
    }
    case 'minmax':
      offset = seen[0]!;
      spread = seen[seen.length - 1]! - seen[0]!;
      break;
    case 'robust':
      offset = quantile(seen, 0.5);
      spread = quantile(seen, 0.75) - quantile(seen, 0.25);
      break;
    case 'none':
      break;
  }
  return {
    kind: 'numeric',
    column: name,
    impute,
    missingIndicator: (options.missingIndicators ?? true) && missing > 0,
    ...(clip && { clip }),
    offset,
    // A constant column (spread 0) is centred and left unscaled.
    scale: spread > 0 && Number.isFinite(spread) ? 1 / spread : 1,
  };
}

function fitCategorical(
  column: ColumnSchema,
  values: readonly (string | null)[],
  rows: readonly number[],
  options: PreprocessOptions,
): CategoricalFeatureSpec {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const v = values[r];
    if (v !== null && v !== undefined && v !== '') counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const min = options.minCategoryCount ?? 1;
  // Keep the schema's order (band order for ordinal, negative first for binary) for what training saw.
  const order = column.categories ?? [...counts.keys()].sort();
  const categories = order.filter((c) => (counts.get(c) ?? 0) >= min);
  for (const c of counts.keys()) if (!order.includes(c) && counts.get(c)! >= min) categories.push(c);
  return { kind: 'categorical', column: column.name, categories };
}

/**
 * Fits the preprocessing of every feature column on the training rows `rows` (indices into the
 * columns), following the schema's kinds and roles.
 */
export function fitFeatures(
  schema: DatasetSchema,
  values: ColumnValues,
  rows: readonly number[],
  options: PreprocessOptions = {},
): FeatureSpec[] {
  const features: FeatureSpec[] = [];
  for (const column of featureColumns(schema)) {
    const v = values[column.name];
    if (v === undefined) throw new GalenError('invalid_input', `no values for column "${column.name}"`);
    if (v instanceof Float64Array) features.push(fitNumeric(column.name, v, rows, options));
    else features.push(fitCategorical(column, v, rows, options));
  }
  if (features.length === 0) {
    throw new GalenError(
      'invalid_input',
      'the data has no feature column (every column is the target, ignored or text)',
    );
  }
  return features;
}
