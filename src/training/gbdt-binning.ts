/**
 * Feature binning for the gradient-boosted trees trainer: per-feature quantile thresholds (as
 * scikit-learn's `_BinMapper` finds them) and the uint8, column-major binned matrix the tree grower
 * builds histograms from. Missing values (NaN) get a bin of their own, after the value bins.
 */
import { invalidInput } from '../core/index.js';
import { mulberry32 } from './split.js';

/** Rows sampled to find thresholds; more rows change the quantiles very little. */
const BINNING_SUBSAMPLE = 200_000;
/** The largest float32, standing for "every value" in a threshold (JSON has no Infinity). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The bins of every feature. */
export interface BinMapper {
  /**
   * Per feature, ascending upper edges: value bin `b` holds `thresholds[b-1] < x <= thresholds[b]`,
   * the last value bin everything above the last edge. `thresholds.length + 1` value bins.
   */
  readonly thresholds: readonly Float64Array[];
  /** Per feature, the bin index of missing values: `thresholds.length + 1`. */
  readonly missingBin: Uint8Array;
}

/** Features transposed at a time: every row is read once per block, and a block's columns stay few. */
const BLOCK = 8;

/**
 * Bins `x` (every row): each feature's thresholds come from (a seeded sample of up to 200,000 of)
 * `rows`. With at most `maxBins` distinct values, the edges are the midpoints between consecutive
 * values; otherwise the `maxBins - 1` inner quantiles (midpoint interpolation), deduplicated. Returns
 * the bins and one `Uint8Array` column per feature.
 *
 * Values are read as float32 (`Math.fround`), as a served ONNX graph reads its FP32 inputs: two
 * values that are one number in float32 share a bin, and every edge is a float32 that separates the
 * float32 values below it from those above, so the graph splits rows exactly as training did.
 */
export function binMatrix(
  x: readonly Float64Array[],
  rows: ArrayLike<number>,
  nFeatures: number,
  maxBins: number,
  seed: number,
): { mapper: BinMapper; binned: Uint8Array[] } {
  const sample = sampleRows(rows, seed);
  const n = x.length;
  const thresholds: Float64Array[] = [];
  const missingBin = new Uint8Array(nFeatures);
  const binned: Uint8Array[] = [];
  const block = Array.from({ length: Math.min(BLOCK, nFeatures) }, () => new Float64Array(n));
  const values = new Float64Array(sample.length);
  const few = new Float64Array(Math.min(FEW_VALUES, maxBins));
  for (let first = 0; first < nFeatures; first += BLOCK) {
    const width = Math.min(BLOCK, nFeatures - first);
    for (let i = 0; i < n; i++) {
      const row = x[i]!;
      for (let j = 0; j < width; j++) block[j]![i] = Math.fround(row[first + j]!);
    }
    for (let j = 0; j < width; j++) {
      const column = block[j]!;
      let edges: Float64Array;
      const distinct = fewDistinct(column, sample, few);
      if (distinct) edges = midpoints(distinct.sort());
      else {
        let count = 0;
        for (let i = 0; i < sample.length; i++) {
          const v = column[sample[i]!]!;
          if (!Number.isNaN(v)) values[count++] = v;
        }
        edges = featureThresholds(values.subarray(0, count).sort(), maxBins);
      }
      thresholds.push(edges);
      missingBin[first + j] = edges.length + 1;
      binned.push(binColumn(column, edges, edges.length + 1));
    }
  }
  return { mapper: { thresholds, missingBin }, binned };
}

/** The rows thresholds are found from, ascending (so columns are read front to back). */
function sampleRows(rows: ArrayLike<number>, seed: number): Uint32Array {
  const picked = Uint32Array.from(rows);
  if (rows.length <= BINNING_SUBSAMPLE) return picked.sort();
  const random = mulberry32(seed);
  for (let i = 0; i < BINNING_SUBSAMPLE; i++) {
    const j = i + Math.floor(random() * (picked.length - i));
    const tmp = picked[i]!;
    picked[i] = picked[j]!;
    picked[j] = tmp;
  }
  return picked.subarray(0, BINNING_SUBSAMPLE).sort();
}

/** Columns with at most this many distinct values skip sorting every value. */
const FEW_VALUES = 32;
/** Features with at most this many edges are binned by counting edges rather than searching. */
const FEW_EDGES = 8;

/**
 * The distinct non-missing values of `column` at `rows` (unsorted, in `scratch`), when there are
 * no more than `scratch.length` of them; else undefined.
 */
function fewDistinct(
  column: Float64Array,
  rows: ArrayLike<number>,
  scratch: Float64Array,
): Float64Array | undefined {
  // Most columns of a one-hot matrix hold two values: check for that without searching.
  let a = NaN;
  let b = NaN;
  let i = 0;
  for (; i < rows.length && Number.isNaN(a); i++) a = column[rows[i]!]!;
  for (; i < rows.length && (Number.isNaN(b) || b === a); i++) b = column[rows[i]!]!;
  let others = 0;
  for (; i < rows.length; i++) {
    const v = column[rows[i]!]!;
    others |= +(v !== a) & +(v !== b) & +(v === v);
  }
  if (others === 0) {
    let count = 0;
    if (!Number.isNaN(a)) scratch[count++] = a;
    if (!Number.isNaN(b) && b !== a) scratch[count++] = b;
    return scratch.subarray(0, count);
  }
  let count = 0;
  for (let r = 0; r < rows.length; r++) {
    const v = column[rows[r]!]!;
    if (Number.isNaN(v)) continue;
    let j = 0;
    while (j < count && scratch[j] !== v) j++;
    if (j === count) {
      if (count === scratch.length) return undefined;
      scratch[count++] = v;
    }
  }
  return scratch.subarray(0, count);
}

/** Edges between consecutive distinct sorted values. */
function midpoints(distinct: Float64Array): Float64Array {
  const edges = new Float64Array(Math.max(distinct.length - 1, 0));
  for (let i = 1; i < distinct.length; i++) edges[i - 1] = separate(distinct[i - 1]!, distinct[i]!);
  return edges.map((e) => Math.min(e, FLOAT32_MAX));
}

/** Thresholds of one feature from its sorted non-missing values. */
function featureThresholds(sorted: Float64Array, maxBins: number): Float64Array {
  const n = sorted.length;
  const distinct: number[] = [];
  for (let i = 0; i < n && distinct.length <= maxBins; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  }
  const edges: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 1; i < distinct.length; i++) edges.push(separate(distinct[i - 1]!, distinct[i]!));
  } else {
    for (let q = 1; q < maxBins; q++) {
      const pos = (q / maxBins) * (n - 1);
      const lo = sorted[Math.floor(pos)]!;
      const hi = sorted[Math.ceil(pos)]!;
      const edge = lo === hi ? lo : separate(lo, hi);
      if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
    }
    // An edge at or above the largest value would only make an empty bin.
    while (edges.length > 0 && edges[edges.length - 1]! >= sorted[n - 1]!) edges.pop();
  }
  return Float64Array.from(edges, (e) => Math.min(e, FLOAT32_MAX));
}

/**
 * An edge with `a <= edge < b` for float32 values `a < b`: their midpoint rounded to float32 when that
 * still separates them (rounding can reach `b` when they are adjacent float32s), else `a` itself.
 * Either way the edge is a float32, so the graph's BRANCH_LEQ (`x <= threshold`, both float32) sends
 * `a` and everything below it left and `b` and everything above it right, as the bins do.
 */
function separate(a: number, b: number): number {
  const mid32 = Math.fround(a + (b - a) / 2);
  return a <= mid32 && mid32 < b ? mid32 : a;
}

/** The bin of one value: the first edge `>= value`, or the missing bin for NaN. */
export function binOf(edges: Float64Array, missingBin: number, value: number): number {
  if (Number.isNaN(value)) return missingBin;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The bins of one column's values. */
function binColumn(values: Float64Array, edges: Float64Array, missing: number): Uint8Array {
  const binned = new Uint8Array(values.length);
  if (edges.length > FEW_EDGES) {
    for (let i = 0; i < values.length; i++) binned[i] = binOf(edges, missing, values[i]!);
    return binned;
  }
  // Few edges: count those below the value, without the unpredictable branches of a search.
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    let bin = 0;
    for (let e = 0; e < edges.length; e++) bin += +(value > edges[e]!);
    binned[i] = Number.isNaN(value) ? missing : bin;
  }
  return binned;
}

/** The listed rows of a binned matrix, in that order. */
export function pickRows(binned: readonly Uint8Array[], rows: Uint32Array): Uint8Array[] {
  return binned.map((column) => {
    const picked = new Uint8Array(rows.length);
    for (let i = 0; i < rows.length; i++) picked[i] = column[rows[i]!]!;
    return picked;
  });
}

/** Checks that every row has `nFeatures` values and that `maxBins` fits a uint8 with the missing bin. */
export function checkMatrix(x: readonly Float64Array[], maxBins: number): number {
  if (x.length === 0) throw invalidInput('x has no rows; give at least one training row');
  const nFeatures = x[0]!.length;
  x.forEach((row, i) => {
    if (row.length !== nFeatures) {
      throw invalidInput(`row ${i} of x has ${row.length} values; row 0 has ${nFeatures}`);
    }
  });
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > 255) {
    throw invalidInput(
      `maxBins is ${maxBins}; expected an integer from 2 to 255 (one more bin holds missing values)`,
    );
  }
  return nFeatures;
}
