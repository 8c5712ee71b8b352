/**
 * Patient histories from MIMIC-III tables (ADMISSIONS, PATIENTS, DIAGNOSES_ICD) as a sequence
 * dataset: one line per admission, its steps the diagnosis codes of the patient's earlier
 * admissions and of this one in order, its static features the patient at admission; labelled by
 * in-hospital death or by readmission within 30 days of discharge. Patients, not admissions, are
 * split (seeded), so one patient's stays never sit on both sides. No identifier leaves: lines
 * carry codes as categories, ages and intervals, never subject or admission ids or dates.
 *
 * Each step: the ICD-9 chapter of the code (one-hot over 19: 17 numeric chapters, V, E), whether
 * it is the admission's primary diagnosis, whether it belongs to this admission, and how many years
 * before this admission its admission was. Static features: age at admission (ages over 89, which
 * MIMIC shifts beyond 300, count as 90), male, emergency admission, earlier admissions.
 *
 * The demo's dates are written M/D/YY, so only years modulo 100 survive; ages and intervals are
 * taken modulo 100 years, which is exact for the intervals and for every age under 100.
 */
import { createHash } from 'node:crypto';
import { GalenError } from '../core/index.js';
import { parseCsv } from '../datasets/index.js';
import type { ParsedTable } from '../datasets/index.js';

export type HistoryTarget = 'death' | 'readmission';

export interface MimicTables {
  admissions: Uint8Array;
  patients: Uint8Array;
  diagnoses: Uint8Array;
}

export interface MimicHistoryOptions {
  target: HistoryTarget;
  /** Shares of patients in validation and test (default 0.1 and 0.2). */
  validationFraction?: number;
  testFraction?: number;
  seed?: number;
}

export interface MimicHistories {
  lines: string[];
  counts: Record<string, number>;
  splits: Record<string, number>;
  /** Admissions left out, by reason. */
  dropped: Record<string, number>;
}

export const ICD9_CHAPTERS = 19;
export const STEP_FEATURES = ICD9_CHAPTERS + 3;
export const STATIC_FEATURES = ['age', 'male', 'emergency', 'earlierAdmissions'] as const;

/** Chapter 0–16 of a numeric ICD-9 code by its first three digits; 17 for V codes, 18 for E codes. */
export function icd9Chapter(code: string): number | undefined {
  const c = code.trim().toUpperCase();
  if (c.startsWith('V')) return 17;
  if (c.startsWith('E')) return 18;
  const n = Number(c.slice(0, 3));
  if (!/^\d{3}/.test(c) || !Number.isFinite(n)) return undefined;
  const starts = [1, 140, 240, 280, 290, 320, 390, 460, 520, 580, 630, 680, 710, 740, 760, 780, 800];
  let chapter = 0;
  for (let i = 0; i < starts.length; i++) if (n >= starts[i]!) chapter = i;
  return chapter;
}

const YEAR_DAYS = 365.2425;
const CENTURY_DAYS = 100 * YEAR_DAYS;

/** Days since 1/1 of year 00 of an `M/D/YY[ H:MM]` or `YYYY-MM-DD[ HH:MM:SS]` date (years modulo 100). */
function dayOf(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  let year: number;
  let month: number;
  let day: number;
  let rest: string;
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{2,4})(.*)$/.exec(text.trim());
  const iso = /^(\d{4})-(\d{2})-(\d{2})(.*)$/.exec(text.trim());
  if (us) [month, day, year, rest] = [Number(us[1]), Number(us[2]), Number(us[3]) % 100, us[4]!];
  else if (iso) [year, month, day, rest] = [Number(iso[1]) % 100, Number(iso[2]), Number(iso[3]), iso[4]!];
  else return undefined;
  const time = /(\d{1,2}):(\d{2})/.exec(rest);
  const hours = time ? Number(time[1]) + Number(time[2]) / 60 : 0;
  return Date.UTC(2000 + year, month - 1, day) / 86_400_000 - Date.UTC(2000, 0, 1) / 86_400_000 + hours / 24;
}

/** `later − earlier` in days, taken modulo 100 years into (−50, 50] years. */
function daysBetween(earlier: number, later: number): number {
  let d = (later - earlier) % CENTURY_DAYS;
  if (d > CENTURY_DAYS / 2) d -= CENTURY_DAYS;
  if (d <= -CENTURY_DAYS / 2) d += CENTURY_DAYS;
  return d;
}

interface Table {
  rows: (string | null)[][];
  /** A row's cell by (upper-case) column name. */
  get: (row: (string | null)[], column: string) => string | null;
}

function table(bytes: Uint8Array, name: string, needed: readonly string[]): Table {
  const parsed: ParsedTable = parseCsv(Buffer.from(bytes));
  const index = new Map(parsed.columns.map((c, i) => [c.trim().toUpperCase(), i]));
  const missing = needed.filter((c) => !index.has(c));
  if (missing.length > 0) {
    throw new GalenError(
      'invalid_input',
      `${name} has no column ${missing.join(', ')}; is it the MIMIC-III ${name} table?`,
    );
  }
  return { rows: parsed.rows, get: (row, column) => row[index.get(column)!] ?? null };
}

/** A seeded share in [0, 1) per patient, so the split depends on the patient alone. */
function share(subject: string, seed: number): number {
  return createHash('sha256').update(`${seed}:${subject}`).digest().readUInt32BE(0) / 2 ** 32;
}

export function mimicHistories(tables: MimicTables, options: MimicHistoryOptions): MimicHistories {
  const seed = options.seed ?? 42;
  const testFraction = options.testFraction ?? 0.2;
  const validationFraction = options.validationFraction ?? 0.1;
  const admissionsTable = table(tables.admissions, 'ADMISSIONS', [
    'SUBJECT_ID',
    'HADM_ID',
    'ADMITTIME',
    'DISCHTIME',
    'ADMISSION_TYPE',
    'HOSPITAL_EXPIRE_FLAG',
  ]);
  const adm = admissionsTable.get;
  const patientsTable = table(tables.patients, 'PATIENTS', ['SUBJECT_ID', 'GENDER', 'DOB']);
  const pat = patientsTable.get;
  const patients = new Map(patientsTable.rows.map((r) => [pat(r, 'SUBJECT_ID'), r]));
  const diagnosesTable = table(tables.diagnoses, 'DIAGNOSES_ICD', ['HADM_ID', 'SEQ_NUM', 'ICD9_CODE']);
  const dx = diagnosesTable.get;
  const codes = new Map<string, { seq: number; chapter: number }[]>();
  for (const r of diagnosesTable.rows) {
    const chapter = icd9Chapter(dx(r, 'ICD9_CODE') ?? '');
    const hadm = dx(r, 'HADM_ID');
    if (chapter === undefined || hadm === null) continue;
    const list = codes.get(hadm) ?? [];
    list.push({ seq: Number(dx(r, 'SEQ_NUM') ?? 99), chapter });
    codes.set(hadm, list);
  }
  for (const list of codes.values()) list.sort((a, b) => a.seq - b.seq);

  interface Stay {
    subject: string;
    hadm: string;
    admit: number;
    discharge: number;
    emergency: boolean;
    died: boolean;
  }
  const bySubject = new Map<string, Stay[]>();
  const dropped: Record<string, number> = {};
  const drop = (why: string): void => void (dropped[why] = (dropped[why] ?? 0) + 1);
  for (const r of admissionsTable.rows) {
    const admit = dayOf(adm(r, 'ADMITTIME'));
    const discharge = dayOf(adm(r, 'DISCHTIME'));
    const subject = adm(r, 'SUBJECT_ID');
    const hadm = adm(r, 'HADM_ID');
    if (admit === undefined || discharge === undefined || subject === null || hadm === null) {
      drop('no admission or discharge time');
      continue;
    }
    const stays = bySubject.get(subject) ?? [];
    stays.push({
      subject,
      hadm,
      admit,
      discharge,
      emergency: (adm(r, 'ADMISSION_TYPE') ?? '').toUpperCase() === 'EMERGENCY',
      died: adm(r, 'HOSPITAL_EXPIRE_FLAG') === '1',
    });
    bySubject.set(subject, stays);
  }

  const lines: string[] = [];
  const counts: Record<string, number> = {};
  const splits: Record<string, number> = {};
  for (const [subject, stays] of bySubject) {
    // Order a patient's stays by time, relative to the first (years are only known modulo 100).
    const first = stays[0]!.admit;
    stays.sort((a, b) => daysBetween(first, a.admit) - daysBetween(first, b.admit));
    const patient = patients.get(subject);
    const dob = dayOf(patient ? pat(patient, 'DOB') : null);
    const u = share(subject, seed);
    const split = u < testFraction ? 'test' : u < testFraction + validationFraction ? 'val' : 'train';
    stays.forEach((stay, k) => {
      let label: string;
      if (options.target === 'death') label = stay.died ? 'died' : 'survived';
      else {
        if (stay.died) return drop('died in hospital (no readmission possible)');
        const next = stays[k + 1];
        label = next && daysBetween(stay.discharge, next.admit) <= 30 ? 'readmitted' : 'not readmitted';
      }
      const steps: number[][] = [];
      for (const earlier of stays.slice(0, k + 1)) {
        const years = Math.max(0, daysBetween(earlier.admit, stay.admit) / YEAR_DAYS);
        for (const code of codes.get(earlier.hadm) ?? []) {
          const step = new Array<number>(STEP_FEATURES).fill(0);
          step[code.chapter] = 1;
          step[ICD9_CHAPTERS] = code.seq === 1 ? 1 : 0;
          step[ICD9_CHAPTERS + 1] = earlier === stay ? 1 : 0;
          step[ICD9_CHAPTERS + 2] = Math.round(years * 1000) / 1000;
          steps.push(step);
        }
      }
      if (steps.length === 0) return drop('no diagnosis codes');
      let age = dob === undefined ? Number.NaN : daysBetween(dob, stay.admit) / YEAR_DAYS;
      if (dob !== undefined && age < 0) age += 100;
      // MIMIC shifts ages over 89 to about 300 years; modulo 100 they look like small numbers.
      if (!(age >= 15)) age = 90;
      const male = patient && (pat(patient, 'GENDER') ?? '').toUpperCase() === 'M' ? 1 : 0;
      const features = [Math.round(age * 10) / 10, male, stay.emergency ? 1 : 0, k];
      lines.push(JSON.stringify({ label, steps, features, split }));
      counts[label] = (counts[label] ?? 0) + 1;
      splits[split] = (splits[split] ?? 0) + 1;
    });
  }
  return { lines, counts, splits, dropped };
}
