/**
 * The feature-matrix shapes training accepts, and their normalisation to one dense row-major form so
 * each algorithm validates input once and loops over a single layout.
 */
import { invalidInput } from '../core/index.js';

/** A dense row-major matrix: element (i, j) is `data[i * cols + j]`. */
export interface RowMajorMatrix {
  readonly data: ArrayLike<number>;
  readonly rows: number;
  readonly cols: number;
}

/** Features as one array per row, or as a row-major matrix. */
export type FeatureInput = readonly ArrayLike<number>[] | RowMajorMatrix;

/** A validated, owned copy of the features in float64. */
export interface DenseMatrix {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/** Copies `x` into a dense float64 matrix, rejecting ragged rows and non-finite values. */
export function toDenseMatrix(x: FeatureInput): DenseMatrix {
  if ('data' in x) {
    const { rows, cols } = x;
    if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 0 || cols < 0) {
      throw invalidInput(`matrix dimensions ${rows}×${cols} are invalid; expected non-negative integers`);
    }
    if (x.data.length !== rows * cols) {
      throw invalidInput(`matrix data has ${x.data.length} values; ${rows}×${cols} needs ${rows * cols}`);
    }
    const data = x.data instanceof Float64Array ? x.data.slice() : Float64Array.from(x.data);
    checkFinite(data, cols);
    return { data, rows, cols };
  }
  const rows = x.length;
  const cols = x[0]?.length ?? 0;
  const data = new Float64Array(rows * cols);
  x.forEach((row, i) => {
    if (row.length !== cols) throw invalidInput(`row ${i} has ${row.length} features; row 0 has ${cols}`);
    // A typed row has no holes to read as NaN: copy it whole.
    if (row instanceof Float64Array) data.set(row, i * cols);
    else for (let j = 0; j < cols; j++) data[i * cols + j] = row[j] ?? Number.NaN;
  });
  checkFinite(data, cols);
  return { data, rows, cols };
}

/** Validates binary labels: the same count as rows, each exactly 0 or 1. */
export function toBinaryLabels(y: ArrayLike<number>, rows: number): Uint8Array {
  if (y.length !== rows) throw invalidInput(`there are ${y.length} labels for ${rows} rows`);
  const labels = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw invalidInput(`label ${i} is ${String(v)}; binary labels must be 0 or 1`);
    labels[i] = v;
  }
  return labels;
}

function checkFinite(data: Float64Array, cols: number): void {
  let bad = 0;
  while (bad < data.length && Number.isFinite(data[bad])) bad++;
  if (bad < data.length) {
    const row = Math.floor(bad / Math.max(cols, 1));
    throw invalidInput(
      `feature ${bad - row * cols} of row ${row} is ${data[bad]}; features must be finite numbers`,
    );
  }
}
