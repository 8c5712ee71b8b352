/**
 * Z-score standardisation. Fitted on training rows only, then applied unchanged to any other rows
 * (and exported into ONNX graphs), so held-out data never leaks into the scaling.
 */
import { invalidInput } from '../core/index.js';
import { toDenseMatrix } from './features.js';
import type { DenseMatrix, FeatureInput } from './features.js';

/** Per-feature mean and standard deviation; `stds` never holds 0. */
export interface Standardizer {
  readonly means: Float64Array;
  /** Population standard deviations (ddof = 0, as scikit-learn's StandardScaler), 1 for constant features. */
  readonly stds: Float64Array;
}

/**
 * Learns per-feature means and standard deviations.
 * A constant feature gets std 1 so that scaling leaves it centred at 0 instead of dividing by zero.
 */
export function fitStandardizer(x: FeatureInput): Standardizer {
  const m = toDenseMatrix(x);
  if (m.rows === 0) throw invalidInput('cannot fit a standardizer on zero rows');
  const means = new Float64Array(m.cols);
  const stds = new Float64Array(m.cols);
  for (let j = 0; j < m.cols; j++) {
    let sum = 0;
    for (let i = 0; i < m.rows; i++) sum += m.data[i * m.cols + j] as number;
    const mean = sum / m.rows;
    // Two passes rather than E[x²] − E[x]², which cancels catastrophically for large, tightly spread values.
    let squares = 0;
    for (let i = 0; i < m.rows; i++) squares += ((m.data[i * m.cols + j] as number) - mean) ** 2;
    const std = Math.sqrt(squares / m.rows);
    means[j] = mean;
    // A constant column's computed std is rounding noise, not exactly 0, so compare against the mean's scale.
    stds[j] = std <= 10 * Number.EPSILON * Math.max(1, Math.abs(mean)) ? 1 : std;
  }
  return { means, stds };
}

/** Returns `(x − mean) / std` for every element, as a new dense matrix. */
export function standardize(s: Standardizer, x: FeatureInput): DenseMatrix {
  const m = toDenseMatrix(x);
  if (m.cols !== s.means.length) {
    throw invalidInput(`rows have ${m.cols} features; the standardizer was fitted on ${s.means.length}`);
  }
  const data = m.data;
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) {
      const k = i * m.cols + j;
      data[k] = ((data[k] as number) - (s.means[j] as number)) / (s.stds[j] as number);
    }
  }
  return { data, rows: m.rows, cols: m.cols };
}
