import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ICD9_CHAPTERS, STEP_FEATURES, icd9Chapter, mimicHistories } from './index.js';
import { dataUrl } from '../../test/helpers/data.js';

const EHR = dataUrl('ehr/mimic3_demo_');
const tables = {
  admissions: readFileSync(new URL(`${EHR.href}ADMISSIONS.csv`)),
  patients: readFileSync(new URL(`${EHR.href}PATIENTS.csv`)),
  diagnoses: readFileSync(new URL(`${EHR.href}DIAGNOSES_ICD.csv`)),
};

describe('icd9Chapter', () => {
  it('maps codes to the 17 numeric chapters, V and E', () => {
    expect(icd9Chapter('0389')).toBe(0); // septicemia: infectious diseases
    expect(icd9Chapter('1970')).toBe(1); // neoplasms
    expect(icd9Chapter('4280')).toBe(6); // heart failure: circulatory
    expect(icd9Chapter('99591')).toBe(16); // sepsis: injury and poisoning chapter
    expect(icd9Chapter('V4582')).toBe(17);
    expect(icd9Chapter('E8790')).toBe(18);
    expect(icd9Chapter('')).toBeUndefined();
  });
});

describe('mimicHistories on the MIMIC-III demo', () => {
  const death = mimicHistories(tables, { target: 'death' });
  const records = death.lines.map(
    (l) => JSON.parse(l) as { label: string; steps: number[][]; features: number[]; split: string },
  );

  it('makes one labelled history per admission, with in-hospital deaths as the table records them', () => {
    expect(death.counts).toEqual({ survived: 89, died: 40 });
    expect(records.every((r) => r.steps.every((s) => s.length === STEP_FEATURES))).toBe(true);
    // Every step is one code: exactly one chapter set.
    expect(
      records.every((r) => r.steps.every((s) => s.slice(0, ICD9_CHAPTERS).reduce((a, b) => a + b) === 1)),
    ).toBe(true);
    // The admission's own codes come last, flagged, zero years before it.
    for (const r of records) {
      const last = r.steps.at(-1)!;
      expect(last[ICD9_CHAPTERS + 1]).toBe(1);
      expect(last[ICD9_CHAPTERS + 2]).toBe(0);
    }
  });

  it("carries history: a later admission holds the earlier admissions' codes first", () => {
    const withHistory = records.filter((r) => r.features[3]! > 0);
    expect(withHistory.length).toBe(129 - 100); // 100 patients, 129 admissions
    for (const r of withHistory) {
      expect(r.steps[0]![ICD9_CHAPTERS + 1]).toBe(0);
      expect(r.steps[0]![ICD9_CHAPTERS + 2]).toBeGreaterThanOrEqual(0);
    }
  });

  it('gives plausible adult ages, and no identifiers or dates', () => {
    const ages = records.map((r) => r.features[0]!);
    expect(Math.min(...ages)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...ages)).toBeLessThanOrEqual(90);
    const text = death.lines.join('\n');
    expect(text).not.toMatch(/100(06|11)/); // subject ids of the first patients
    expect(text).not.toMatch(/\d+\/\d+\/\d+/);
  });

  it('splits by patient, and labels readmissions among survivors', () => {
    expect(Object.keys(death.splits).sort()).toEqual(['test', 'train', 'val']);
    const readmission = mimicHistories(tables, { target: 'readmission' });
    expect(readmission.dropped).toEqual({ 'died in hospital (no readmission possible)': 40 });
    expect((readmission.counts['readmitted'] ?? 0) + (readmission.counts['not readmitted'] ?? 0)).toBe(89);
    expect(readmission.counts['readmitted']).toBeGreaterThan(0);
  });
});
