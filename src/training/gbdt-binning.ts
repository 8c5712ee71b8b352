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

/**
 * Finds each feature's thresholds from (a seeded sample of up to 200,000 of) `rows`. With at most
 * `maxBins` distinct values, the edges are the midpoints between consecutive values; otherwise the
 * `maxBins - 1` inner quantiles (midpoint interpolation), deduplicated.
 */
export function fitBinMapper(
  x: readonly Float64Array[],
  rows: ArrayLike<number>,
  nFeatures: number,
  maxBins: number,
  seed: number,
): BinMapper {
  let sample: ArrayLike<number> = rows;
  if (rows.length > BINNING_SUBSAMPLE) {
    const picked = Uint32Array.from(rows);
    const random = mulberry32(seed);
    for (let i = 0; i < BINNING_SUBSAMPLE; i++) {
      const j = i + Math.floor(random() * (picked.length - i));
      const tmp = picked[i]!;
      picked[i] = picked[j]!;
      picked[j] = tmp;
    }
    sample = picked.subarray(0, BINNING_SUBSAMPLE);
  }
  const thresholds: Float64Array[] = [];
  const missingBin = new Uint8Array(nFeatures);
  const values = new Float64Array(sample.length);
  for (let f = 0; f < nFeatures; f++) {
    let n = 0;
    for (let i = 0; i < sample.length; i++) {
      const v = x[sample[i]!]![f]!;
      if (!Number.isNaN(v)) values[n++] = v;
    }
    const edges = featureThresholds(values.subarray(0, n).sort(), maxBins);
    thresholds.push(edges);
    missingBin[f] = edges.length + 1;
  }
  return { thresholds, missingBin };
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
 * An edge with `a <= edge < b`: the midpoint rounded to float32 when that still separates the two,
 * else `a` itself. With float32 inputs (as a served graph reads them) every edge is then exactly
 * representable in the graph's float32 thresholds, so the graph splits values as training did.
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

/** The binned matrix, one `Uint8Array` column per feature, for the listed rows in that order. */
export function binRows(
  mapper: BinMapper,
  x: readonly Float64Array[],
  rows: ArrayLike<number>,
): Uint8Array[] {
  return mapper.thresholds.map((edges, f) => {
    const column = new Uint8Array(rows.length);
    const missing = mapper.missingBin[f]!;
    for (let i = 0; i < rows.length; i++) column[i] = binOf(edges, missing, x[rows[i]!]![f]!);
    return column;
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
