/** The UCI Cleveland heart-disease data in ../shared/data: its file and its 13 input columns, in order. */
export const CLEVELAND_CSV = new URL('../../../shared/data/clinical/heart_cleveland.csv', import.meta.url);

export const CLEVELAND_INPUTS = [
  'age',
  'sex',
  'cp',
  'trestbps',
  'chol',
  'fbs',
  'restecg',
  'thalach',
  'exang',
  'oldpeak',
  'slope',
  'ca',
  'thal',
] as const;

/** One row of the 13 inputs as OIP JSON inputs, FP32 [n, 1] each (null = missing). */
export function clevelandInputs(rows: readonly (readonly (number | null)[])[]) {
  return CLEVELAND_INPUTS.map((name, j) => ({
    name,
    datatype: 'FP32',
    shape: [rows.length, 1],
    data: rows.map((r) => r[j] ?? null),
  }));
}
