/**
 * MIMIC-III tables (PRESCRIPTIONS, DIAGNOSES_ICD, ADMISSIONS, PATIENTS), already parsed into
 * records, as recommender rows: one user per admission (HADM_ID), one item per drug.
 *
 * Drugs are the `DRUG` column lower-cased with whitespace collapsed. `DRUG_NAME_GENERIC` would merge
 * brand and generic names, but it is empty on ~45% of the demo's rows (nearly all the BASE
 * solutions — D5W, NS — and many MAIN drugs), while `DRUG` is always filled. Synonyms
 * (`ns` / `0.9% sodium chloride`) stay separate items; merging them needs a drug vocabulary.
 *
 * User features: `dx:<ICD9_CODE>` per diagnosis, `dx3:<category>` (the first three characters, four
 * for E codes) so rare codes share strength, and demographics: `gender:<M|F>`,
 * `admission:<ADMISSION_TYPE>` and `age:<band>` at admission. Item features: `route:<ROUTE>` and
 * `type:<DRUG_TYPE>` (MAIN, BASE, ADDITIVE), every one the drug was given with.
 *
 * ICD-9 codes are coded at discharge: a deployed model would use the working diagnoses known at
 * prescription time. No row carries a subject id, date or free text.
 */
import { invalidInput } from '../core/index.js';
import { parseCsv } from '../datasets/index.js';
import type { ParsedTable } from '../datasets/index.js';
import { isArray } from './interactions.js';
import type { InteractionRow, ItemFeatureRow, UserFeatureRow } from './interactions.js';

/** A parsed table row: column name → cell text (`null` or absent when missing). */
export type TableRecord = Readonly<Record<string, string | null | undefined>>;

export interface MimicRecommenderTables {
  readonly prescriptions: readonly TableRecord[];
  readonly diagnoses: readonly TableRecord[];
  readonly admissions: readonly TableRecord[];
  readonly patients: readonly TableRecord[];
}

export interface MimicRecommenderOptions {
  /** Add `dx3:` ICD-9 category features. Default true. */
  readonly categories?: boolean;
  /** Add gender, admission type and age band. Default true. */
  readonly demographics?: boolean;
}

export interface MimicRecommenderRows {
  readonly interactions: InteractionRow[];
  readonly userFeatures: UserFeatureRow[];
  readonly itemFeatures: ItemFeatureRow[];
  /** HADM_ID → SUBJECT_ID, to keep a patient's admissions on one side of a split. */
  readonly patientOfAdmission: Map<string, string>;
  /** Rows skipped, by reason. */
  readonly skipped: Record<string, number>;
}

/** Age bands at admission; MIMIC shifts ages over 89 to about 300, which land in the last band. */
export const AGE_BANDS: readonly { readonly label: string; readonly below: number }[] = [
  { label: '<40', below: 40 },
  { label: '40-59', below: 60 },
  { label: '60-79', below: 80 },
  { label: '80+', below: Infinity },
];

/** The rows of a parsed CSV as records keyed by column name. */
export function tableRecords(table: ParsedTable): TableRecord[] {
  return table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i] ?? null])));
}

/** The four MIMIC-III CSV files, as bytes. */
export interface MimicCsvFiles {
  readonly prescriptions: Uint8Array;
  readonly diagnoses: Uint8Array;
  readonly admissions: Uint8Array;
  readonly patients: Uint8Array;
}

/** Parses the four CSV files into records for {@link mimicRecommenderRows}. */
export function parseMimicTables(files: MimicCsvFiles): MimicRecommenderTables {
  const records = (bytes: Uint8Array): TableRecord[] => tableRecords(parseCsv(Buffer.from(bytes)));
  return {
    prescriptions: records(files.prescriptions),
    diagnoses: records(files.diagnoses),
    admissions: records(files.admissions),
    patients: records(files.patients),
  };
}

/**
 * Builds the recommender's rows from MIMIC-III tables.
 *
 * @example
 * const rows = mimicRecommenderRows({ prescriptions, diagnoses, admissions, patients });
 * const data = buildRecommenderDataset(rows);
 */
export function mimicRecommenderRows(
  tables: MimicRecommenderTables,
  options: MimicRecommenderOptions = {},
): MimicRecommenderRows {
  const prescriptions = columns(tables.prescriptions, 'PRESCRIPTIONS', [
    'HADM_ID',
    'DRUG',
    'ROUTE',
    'DRUG_TYPE',
  ]);
  const diagnoses = columns(tables.diagnoses, 'DIAGNOSES_ICD', ['HADM_ID', 'ICD9_CODE']);
  const admissions = columns(tables.admissions, 'ADMISSIONS', [
    'SUBJECT_ID',
    'HADM_ID',
    'ADMITTIME',
    'ADMISSION_TYPE',
  ]);
  const patients = columns(tables.patients, 'PATIENTS', ['SUBJECT_ID', 'GENDER', 'DOB']);
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => void (skipped[why] = (skipped[why] ?? 0) + 1);

  const interactions: InteractionRow[] = [];
  const itemFeatureSet = new Map<string, Set<string>>();
  const seen = new Set<string>();
  for (const r of tables.prescriptions) {
    const hadm = prescriptions(r, 'HADM_ID');
    const drug = drugName(prescriptions(r, 'DRUG'));
    if (!hadm || !drug) {
      skip('prescription without HADM_ID or DRUG');
      continue;
    }
    const key = JSON.stringify([hadm, drug]);
    if (!seen.has(key)) interactions.push({ user: hadm, item: drug });
    seen.add(key);
    const features = itemFeatureSet.get(drug) ?? new Set<string>();
    itemFeatureSet.set(drug, features);
    const route = prescriptions(r, 'ROUTE')?.toUpperCase();
    const type = prescriptions(r, 'DRUG_TYPE')?.toUpperCase();
    if (route) features.add(`route:${route}`);
    if (type) features.add(`type:${type}`);
  }
  const itemFeatures = [...itemFeatureSet].flatMap(([item, fs]) =>
    [...fs].map((feature) => ({ item, feature })),
  );

  const userFeatureSet = new Map<string, Set<string>>();
  const add = (hadm: string, feature: string): void => {
    const fs = userFeatureSet.get(hadm) ?? new Set<string>();
    userFeatureSet.set(hadm, fs);
    fs.add(feature);
  };
  for (const r of tables.diagnoses) {
    const hadm = diagnoses(r, 'HADM_ID');
    const code = diagnoses(r, 'ICD9_CODE')?.toUpperCase();
    if (!hadm || !code) {
      skip('diagnosis without HADM_ID or ICD9_CODE');
      continue;
    }
    add(hadm, `dx:${code}`);
    if (options.categories ?? true) add(hadm, `dx3:${code.slice(0, code.startsWith('E') ? 4 : 3)}`);
  }

  const patientById = new Map(tables.patients.map((p) => [patients(p, 'SUBJECT_ID'), p]));
  const patientOfAdmission = new Map<string, string>();
  for (const r of tables.admissions) {
    const hadm = admissions(r, 'HADM_ID');
    const subject = admissions(r, 'SUBJECT_ID');
    if (!hadm || !subject) {
      skip('admission without HADM_ID or SUBJECT_ID');
      continue;
    }
    patientOfAdmission.set(hadm, subject);
    if (!(options.demographics ?? true)) continue;
    const type = admissions(r, 'ADMISSION_TYPE')?.toUpperCase();
    if (type) add(hadm, `admission:${type}`);
    const patient = patientById.get(subject);
    const gender = patient ? patients(patient, 'GENDER')?.toUpperCase() : undefined;
    if (gender) add(hadm, `gender:${gender}`);
    const age = patient ? ageAt(patients(patient, 'DOB'), admissions(r, 'ADMITTIME')) : undefined;
    if (age === undefined) skip('admission without a readable age');
    else add(hadm, `age:${AGE_BANDS.find((b) => age < b.below)!.label}`);
  }
  const userFeatures = [...userFeatureSet].flatMap(([user, fs]) =>
    [...fs].map((feature) => ({ user, feature })),
  );
  return { interactions, userFeatures, itemFeatures, patientOfAdmission, skipped };
}

/** `DRUG` lower-cased, trimmed, inner whitespace collapsed; undefined when blank. */
export function drugName(text: string | undefined): string | undefined {
  const name = text?.trim().replace(/\s+/g, ' ').toLowerCase();
  return name ? name : undefined;
}

/** A reader of the named columns of one table; fails fast when a column is absent. */
function columns(
  records: readonly TableRecord[],
  table: string,
  needed: readonly string[],
): (record: TableRecord, column: string) => string | undefined {
  if (!isArray(records) || records.length === 0) {
    throw invalidInput(`the ${table} table has no rows; expected the MIMIC-III ${table} records`);
  }
  const first = records[0]!;
  const missing = needed.filter((c) => !(c in first) && !(c.toLowerCase() in first));
  if (missing.length > 0) {
    throw invalidInput(
      `the ${table} table has no column ${missing.join(', ')}; its columns are ${Object.keys(first).join(', ')}`,
    );
  }
  return (record, column) => {
    const value = record[column] ?? record[column.toLowerCase()];
    const trimmed = value?.trim();
    return trimmed ? trimmed : undefined;
  };
}

interface Day {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** False for `M/D/YY`, where only the year modulo 100 is known. */
  readonly century: boolean;
}

function parseDay(text: string | undefined): Day | undefined {
  if (!text) return undefined;
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{2}|\d{4})\b/.exec(text);
  if (us)
    return { month: Number(us[1]), day: Number(us[2]), year: Number(us[3]), century: us[3]!.length === 4 };
  const iso = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (iso) return { year: Number(iso[1]), month: Number(iso[2]), day: Number(iso[3]), century: true };
  return undefined;
}

/**
 * Whole years from birth to admission. The demo writes most dates `M/D/YY`, so years are compared
 * modulo 100 (exact below 100), except that a birth year written in full before 1900 is MIMIC's
 * shift of a patient over 89: such a patient counts as 90.
 */
function ageAt(dobText: string | undefined, admitText: string | undefined): number | undefined {
  const dob = parseDay(dobText);
  const admit = parseDay(admitText);
  if (!dob || !admit) return undefined;
  if (dob.century && dob.year < 1900) return 90;
  const beforeBirthday = admit.month < dob.month || (admit.month === dob.month && admit.day < dob.day);
  let years = admit.year - dob.year - (beforeBirthday ? 1 : 0);
  if (!(dob.century && admit.century)) years = ((years % 100) + 100) % 100;
  return years;
}
