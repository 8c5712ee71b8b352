/**
 * The Wisconsin Diagnostic Breast Cancer CSV that ships in `data/clinical/`: its column contract and a
 * strict parser. The column order here is the input order of the demo model, so it is checked, not assumed.
 */
import { readFile } from 'node:fs/promises';
import { invalidInput } from '../core/index.js';

/** The 30 WDBC features, in CSV column order, which is also the demo model's input order. */
export const WDBC_FEATURE_NAMES: readonly string[] = [
  'mean_radius',
  'mean_texture',
  'mean_perimeter',
  'mean_area',
  'mean_smoothness',
  'mean_compactness',
  'mean_concavity',
  'mean_concave_points',
  'mean_symmetry',
  'mean_fractal_dimension',
  'radius_error',
  'texture_error',
  'perimeter_error',
  'area_error',
  'smoothness_error',
  'compactness_error',
  'concavity_error',
  'concave_points_error',
  'symmetry_error',
  'fractal_dimension_error',
  'worst_radius',
  'worst_texture',
  'worst_perimeter',
  'worst_area',
  'worst_smoothness',
  'worst_compactness',
  'worst_concavity',
  'worst_concave_points',
  'worst_symmetry',
  'worst_fractal_dimension',
];

/** The label column and its values; 1 marks the positive class. */
const LABEL_COLUMN = 'diagnosis';
const LABEL_VALUES: ReadonlyMap<string, number> = new Map([
  ['benign', 0],
  ['malignant', 1],
]);

/** Where the bundled copy lives; resolves from both `src/demo/` and `dist/demo/`. */
export const WDBC_CSV_URL = new URL('../../data/clinical/breast_cancer_wdbc.csv', import.meta.url);

/** Reads the bundled WDBC CSV as text. */
export async function readWdbcCsv(): Promise<string> {
  return readFile(WDBC_CSV_URL, 'utf8');
}

/** The parsed dataset: one row of 30 features per sample, and its label (1 = malignant, 0 = benign). */
export interface WdbcDataset {
  featureNames: string[];
  rows: number[][];
  labels: number[];
}

// Plain decimal notation only: Number() would also accept '', '0x1f' and 'Infinity'.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses the WDBC CSV: a header of the 30 feature names then `diagnosis`, and one row per sample
 * with `benign` or `malignant`. Blank lines are skipped; anything else out of place is an error
 * naming the line and column.
 * @throws GalenError `invalid_input` on a wrong header, a short or long row, a non-numeric feature or an unknown label.
 */
export function parseWdbcCsv(text: string): WdbcDataset {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const expected = [...WDBC_FEATURE_NAMES, LABEL_COLUMN];
  const mismatch = expected.findIndex((name, i) => header[i] !== name);
  if (mismatch >= 0 || header.length !== expected.length) {
    const at = mismatch >= 0 ? mismatch : expected.length;
    throw invalidInput(
      `WDBC header column ${at + 1} is ${JSON.stringify(header[at] ?? null)}; expected ${JSON.stringify(expected[at] ?? null)} ` +
        `(the header must be the 30 feature names then "${LABEL_COLUMN}")`,
    );
  }
  const rows: number[][] = [];
  const labels: number[] = [];
  lines.slice(1).forEach((line, index) => {
    if (line.trim() === '') return;
    const lineNo = index + 2;
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== expected.length) {
      throw invalidInput(
        `WDBC line ${lineNo} has ${fields.length} fields; the header has ${expected.length}`,
      );
    }
    const row = WDBC_FEATURE_NAMES.map((name, j) => {
      const field = fields[j] ?? '';
      if (!DECIMAL.test(field)) {
        throw invalidInput(
          `WDBC line ${lineNo}, column "${name}" is ${JSON.stringify(field)}; expected a decimal number`,
        );
      }
      return Number(field);
    });
    const diagnosis = fields[WDBC_FEATURE_NAMES.length] ?? '';
    const label = LABEL_VALUES.get(diagnosis.toLowerCase());
    if (label === undefined) {
      throw invalidInput(
        `WDBC line ${lineNo}, column "${LABEL_COLUMN}" is ${JSON.stringify(diagnosis)}; expected "benign" or "malignant"`,
      );
    }
    rows.push(row);
    labels.push(label);
  });
  if (rows.length === 0) throw invalidInput('the WDBC CSV has a header but no data rows');
  return { featureNames: [...WDBC_FEATURE_NAMES], rows, labels };
}
