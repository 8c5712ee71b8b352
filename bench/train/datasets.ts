/**
 * The datasets `npm run bench:train` compares on: where each CSV is, its target and positive class,
 * and the derivations (Cleveland's `num > 0`, NMES's `hospital > 0`, which trainTabular cannot
 * express yet). Loading
 * makes the seeded stratified split both sides use.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MISSING_MARKERS, inferSchema, parseCsv, parseNumber } from '../../src/datasets/index.js';
import type { DatasetSchema, ParsedTable } from '../../src/datasets/index.js';
import { isNumericFeature, stratifiedSplit } from '../../src/training/index.js';
import { repoPath } from '../paths.js';

export interface TrainingDataset {
  /** Short name for tables. */
  name: string;
  file: string;
  target: string;
  positive: string;
  /** How the target is read, for the report (e.g. `num > 0`). */
  targetNote: string;
  /** Rewrites the parsed table (a derived target), when the file's own column will not do. */
  derive?: (table: ParsedTable) => ParsedTable;
}

/** `file`'s count column `from` as a two-valued column `to`: "yes" above 0, else "no". */
function aboveZero(file: string, from: string, to: string): (table: ParsedTable) => ParsedTable {
  return (table) => {
    const at = table.columns.indexOf(from);
    if (at < 0) throw new Error(`${file} has no column "${from}"`);
    const columns = table.columns.map((c, i) => (i === at ? to : c));
    const rows = table.rows.map((row) =>
      row.map((cell, i) => {
        if (i !== at || cell === null) return cell;
        const n = parseNumber(cell);
        if (n === undefined) throw new Error(`${file}: "${from}" holds ${JSON.stringify(cell)}`);
        return n > 0 ? 'yes' : 'no';
      }),
    );
    return { ...table, columns, rows };
  };
}

/** Cleveland's `num` (0 = no disease, 1–4 = disease) as a two-valued `disease` column. */
const clevelandDisease = aboveZero('heart_cleveland.csv', 'num', 'disease');
/** NMES 1988's `hospital` (number of hospital stays) as a two-valued `stayed` column. */
const nmesStayed = aboveZero('nmes1988.csv', 'hospital', 'stayed');

export const TRAINING_DATASETS: readonly TrainingDataset[] = [
  {
    name: 'WDBC',
    file: 'breast_cancer_wdbc.csv',
    target: 'diagnosis',
    positive: 'malignant',
    targetNote: 'diagnosis = malignant',
  },
  {
    name: 'Cleveland',
    file: 'heart_cleveland.csv',
    target: 'disease',
    positive: 'yes',
    targetNote: 'num > 0',
    derive: clevelandDisease,
  },
  {
    name: 'NMES 1988',
    file: 'nmes1988.csv',
    target: 'stayed',
    positive: 'yes',
    targetNote: 'hospital > 0',
    derive: nmesStayed,
  },
];

/** The folder of clinical CSVs: `GALEN_CLINICAL_DATA`, else the repository's data/clinical. */
export function clinicalDataDir(env: NodeJS.ProcessEnv): string {
  const dir = env.GALEN_CLINICAL_DATA ?? repoPath('data', 'clinical');
  if (!existsSync(dir)) {
    throw new Error(
      `no clinical data folder at ${dir}; set GALEN_CLINICAL_DATA to the folder holding the CSVs`,
    );
  }
  return dir;
}

export interface LoadedDataset {
  dataset: TrainingDataset;
  table: ParsedTable;
  schema: DatasetSchema;
  /** The CSV the Python side reads (the original, or the derived copy written to the temp folder). */
  csvPath: string;
  /** Held-out row indices into `table.rows` (stratified, seeded); rows without a target are in neither set. */
  testRows: number[];
  numeric: string[];
  categorical: string[];
}

const csvCell = (cell: string | null): string => {
  if (cell === null) return '';
  return /[",\n\r]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
};

/** Reads, derives, infers the schema and splits one dataset; a derived table is written to `tempDir`. */
export function loadDataset(
  dataset: TrainingDataset,
  dataDir: string,
  tempDir: string,
  testFraction: number,
  seed: number,
): LoadedDataset {
  const source = join(dataDir, dataset.file);
  let table = parseCsv(readFileSync(source));
  let csvPath = source;
  if (dataset.derive) {
    table = dataset.derive(table);
    csvPath = join(tempDir, dataset.file.replace(/\.csv$/, '.derived.csv'));
    const lines = [table.columns, ...table.rows].map((row) => row.map(csvCell).join(','));
    writeFileSync(csvPath, `${lines.join('\n')}\n`);
  }
  const schema = inferSchema(table, { target: dataset.target });
  const targetAt = table.columns.indexOf(dataset.target);
  const labelled = table.rows.flatMap((row, i) => (row[targetAt] == null ? [] : [i]));
  const labels = labelled.map((i) => (table.rows[i]![targetAt] === dataset.positive ? 1 : 0));
  const split = stratifiedSplit(labels, testFraction, seed);
  const testRows = split.test.map((k) => labelled[k]!).sort((a, b) => a - b);
  const features = schema.columns.filter((c) => c.role === 'feature' && c.kind !== 'text');
  return {
    dataset,
    table,
    schema,
    csvPath,
    testRows,
    numeric: features.filter(isNumericFeature).map((c) => c.name),
    categorical: features.filter((c) => !isNumericFeature(c)).map((c) => c.name),
  };
}

/** What the Python baseline needs to rebuild the same split and the same column treatment. */
export function planEntry(loaded: LoadedDataset, seed: number, repeats: number, c: number): object {
  return {
    name: loaded.dataset.name,
    csv: loaded.csvPath,
    rows: loaded.table.rows.length,
    target: loaded.dataset.target,
    positive: loaded.dataset.positive,
    numeric: loaded.numeric,
    categorical: loaded.categorical,
    missingMarkers: DEFAULT_MISSING_MARKERS,
    testRows: loaded.testRows,
    seed,
    repeats,
    c,
  };
}
