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
  const rows = table.rows;
  for (const column of featureColumns(schema)) {
    const index = table.columns.indexOf(column.name);
    if (index < 0) throw new GalenError('invalid_input', `the data has no column "${column.name}"`);
    if (isNumericFeature(column)) {
      const values = new Float64Array(rows.length);
      for (let r = 0; r < rows.length; r++) {
        const cell = rows[r]?.[index] ?? null;
        const n = cell === null ? Number.NaN : readNumber(cell);
        if (n === undefined) {
          const line = table.lines?.[r];
          // The row and line, never the cell: it is patient data.
          throw new GalenError(
            'invalid_input',
            `column "${column.name}" is numeric but row ${r + 1}${line === undefined ? '' : ` (line ${line})`} is not a number; a numeric column holds numbers or missing values (if it holds text, make it categorical or ignored in the dataset's schema)`,
          );
        }
        values[r] = n;
      }
      out[column.name] = values;
    } else {
      out[column.name] = rows.map((row) => row[index] ?? null);
    }
  }
  return out;
}

/** `parseNumber`, with a shortcut for the commonest cell: up to 15 plain digits (exact in float64). */
function readNumber(cell: string): number | undefined {
  const length = cell.length;
  if (length === 0 || length > 15) return parseNumber(cell);
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = cell.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return parseNumber(cell);
    value = value * 10 + digit;
  }
  return value;
}

/** Codes of a coded text column that stand for no value: a null cell, and an empty text. */
const NULL_CODE = -1;
const EMPTY_CODE = -2;

/** A text column as integer codes: `codes[r]` indexes `names`; a negative code is a missing cell. */
export interface CodedColumn {
  readonly codes: Int32Array;
  /** Distinct values in order of first appearance. */
  readonly names: readonly string[];
  /** The code of each name. */
  readonly index: ReadonlyMap<string, number>;
}

/**
 * Feature columns ready for repeated fitting (cross-validation folds, then the final fit): numeric
 * columns as they are, text columns coded once so no fit looks strings up again.
 */
export type EncodedColumns = Readonly<Record<string, Float64Array | CodedColumn>>;

/** Codes the text columns of `values` (numeric columns are shared, not copied). */
export function encodeColumns(values: ColumnValues): EncodedColumns {
  const out: Record<string, Float64Array | CodedColumn> = {};
  for (const [name, column] of Object.entries(values)) {
    if (column instanceof Float64Array) out[name] = column;
    else {
      const coded = emptyCoded(column.length);
      for (let r = 0; r < column.length; r++) coded.codes[r] = codeOf(coded, column[r]);
      out[name] = coded;
    }
  }
  return out;
}

/**
 * `encodeColumns(columnValues(table, schema))` in one pass over the rows: reading each row's cells
 * together is several times faster on a large table than a pass per column.
 */
export function encodeTable(table: ParsedTable, schema: DatasetSchema): EncodedColumns {
  const features = featureColumns(schema);
  const rows = table.rows;
  const out: Record<string, Float64Array | CodedColumn> = {};
  const numberAt: number[] = [];
  const numbers: Float64Array[] = [];
  const textAt: number[] = [];
  const texts: (CodedColumn & { names: string[]; index: Map<string, number> })[] = [];
  for (const column of features) {
    const at = table.columns.indexOf(column.name);
    // The column-by-column reader throws the error it always has (the first column's first problem).
    if (at < 0) return encodeColumns(columnValues(table, schema));
    if (isNumericFeature(column)) {
      numberAt.push(at);
      numbers.push((out[column.name] = new Float64Array(rows.length)));
    } else {
      textAt.push(at);
      texts.push((out[column.name] = emptyCoded(rows.length)));
    }
  }
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let k = 0; k < numberAt.length; k++) {
      const cell = row?.[numberAt[k]!] ?? null;
      const n = cell === null ? Number.NaN : readNumber(cell);
      if (n === undefined) return encodeColumns(columnValues(table, schema));
      numbers[k]![r] = n;
    }
    for (let k = 0; k < textAt.length; k++) {
      const coded = texts[k]!;
      coded.codes[r] = codeOf(coded, row?.[textAt[k]!]);
    }
  }
  return out;
}

function emptyCoded(length: number): CodedColumn & { names: string[]; index: Map<string, number> } {
  return { codes: new Int32Array(length), names: [], index: new Map() };
}

/** The code of `cell` in `coded`, adding it as a new name when it is new. */
function codeOf(
  coded: { names: string[]; index: Map<string, number> },
  cell: string | null | undefined,
): number {
  if (cell === null || cell === undefined) return NULL_CODE;
  if (cell === '') return EMPTY_CODE;
  let code = coded.index.get(cell);
  if (code === undefined) {
    code = coded.names.length;
    coded.names.push(cell);
    coded.index.set(cell, code);
  }
  return code;
}

/** Row `r` of a coded column as `columnValues` gives it: the text, '' or null. */
export function codedCell(coded: CodedColumn, r: number): string | null {
  const code = coded.codes[r];
  if (code === undefined || code === NULL_CODE) return null;
  return code === EMPTY_CODE ? '' : (coded.names[code] ?? null);
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** Above this, a column of whole numbers is sorted by comparison rather than counted. */
const COUNTING_MAX = 65_535;

/**
 * Sorts `values` in place exactly as `Float64Array#sort` does, by counting when every value is a
 * whole number from 0 to `COUNTING_MAX` (ages, counts, days: the common clinical column).
 */
function sortNumbers(values: Float64Array): Float64Array {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // NaN fails the range test; -0 (which sorts before +0) takes the general path too.
    if (!(v >= 0 && v <= COUNTING_MAX && Number.isInteger(v)) || Object.is(v, -0)) return values.sort();
    if (v > max) max = v;
  }
  const counts = new Uint32Array(max + 1);
  for (let i = 0; i < values.length; i++) counts[values[i]!]!++;
  let at = 0;
  for (let v = 0; v <= max; v++) for (let c = counts[v]!; c > 0; c--) values[at++] = v;
  return values;
}

/** The sum of `values` from first to last (the order matters in float64). */
function sum(values: Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}

/** The mean squared deviation of `values` from `centre`, summed in order. */
function meanSquare(values: Float64Array, centre: number): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += (values[i]! - centre) ** 2;
  return total / values.length;
}

/**
 * `present` (sorted) with `missing` copies of `fill` added, sorted as `Float64Array#sort` would:
 * a merge when the place is unambiguous, a sort when `fill` is NaN or a zero (which sort orders by sign).
 */
function withFilled(present: Float64Array, missing: number, fill: number): Float64Array {
  if (missing === 0) return present;
  const out = new Float64Array(present.length + missing);
  if (Number.isNaN(fill) || fill === 0) {
    out.set(present);
    return sortNumbers(out.fill(fill, present.length));
  }
  // The first value above `fill` (NaN sorts last, so it counts as above).
  let lo = 0;
  let hi = present.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (present[mid]! <= fill) lo = mid + 1;
    else hi = mid;
  }
  out.set(present.subarray(0, lo));
  out.fill(fill, lo, lo + missing);
  out.set(present.subarray(lo), lo + missing);
  return out;
}

function fitNumeric(
  name: string,
  values: Float64Array,
  rows: readonly number[],
  options: PreprocessOptions,
): NumericFeatureSpec {
  const gathered = new Float64Array(rows.length);
  let count = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = values[rows[i]!]!;
    // A row index past the end reads undefined, which is kept (as NaN) rather than counted missing.
    if (!Number.isNaN(v)) gathered[count++] = v;
  }
  const present = sortNumbers(gathered.subarray(0, count));
  const missing = rows.length - present.length;
  if (present.length === 0) {
    throw new GalenError('invalid_input', `column "${name}" has no value in the training rows; ignore it`);
  }
  const mean = sum(present) / present.length;
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
  const filled = withFilled(present, missing, impute);
  let clip: NumericFeatureSpec['clip'];
  if (options.clip) {
    const k = options.clip.k;
    if (options.clip.method === 'zscore') {
      const m = sum(filled) / filled.length;
      const sd = Math.sqrt(meanSquare(filled, m));
      clip = { low: m - k * sd, high: m + k * sd };
    } else {
      const q1 = quantile(filled, 0.25);
      const q3 = quantile(filled, 0.75);
      clip = { low: q1 - k * (q3 - q1), high: q3 + k * (q3 - q1) };
    }
  }
  const seen = clip ? sortNumbers(filled.map((v) => Math.min(clip.high, Math.max(clip.low, v)))) : filled;
  let offset = 0;
  let spread = 1;
  switch (options.scale ?? 'standard') {
    case 'standard': {
      offset = sum(seen) / seen.length;
      spread = Math.sqrt(meanSquare(seen, offset));
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
  coded: CodedColumn,
  rows: readonly number[],
  options: PreprocessOptions,
): CategoricalFeatureSpec {
  const counts = new Int32Array(coded.names.length);
  const seen: string[] = []; // in order of first appearance in the training rows
  for (let i = 0; i < rows.length; i++) {
    const code = coded.codes[rows[i]!];
    if (code === undefined || code < 0) continue;
    const before = counts[code]!;
    if (before === 0) seen.push(coded.names[code]!);
    counts[code] = before + 1;
  }
  const countOf = (c: string): number => {
    const code = coded.index.get(c);
    return code === undefined ? 0 : counts[code]!;
  };
  const min = options.minCategoryCount ?? 1;
  // Keep the schema's order (band order for ordinal, negative first for binary) for what training saw.
  const order = column.categories ?? [...seen].sort();
  const categories = order.filter((c) => countOf(c) >= min);
  const inOrder = new Set(order);
  for (const c of seen) if (!inOrder.has(c) && countOf(c) >= min) categories.push(c);
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
  return fitEncodedFeatures(schema, encodeColumns(values), rows, options);
}

/** `fitFeatures` over columns already coded by `encodeColumns` (to fit several times on one table). */
export function fitEncodedFeatures(
  schema: DatasetSchema,
  columns: EncodedColumns,
  rows: readonly number[],
  options: PreprocessOptions = {},
): FeatureSpec[] {
  const features: FeatureSpec[] = [];
  for (const column of featureColumns(schema)) {
    const v = columns[column.name];
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
