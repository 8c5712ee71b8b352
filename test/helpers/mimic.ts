/** The MIMIC-III demo tables a recommender learns from, read from the shared data folder. */
import { readFileSync } from 'node:fs';
import { parseMimicTables } from '../../src/recommend/index.js';
import type { MimicRecommenderTables } from '../../src/recommend/index.js';

const EHR = new URL('../../../shared/data/ehr/mimic3_demo_', import.meta.url);
const file = (name: string): Buffer => readFileSync(new URL(`${EHR.href}${name}.csv`));

export function mimicTables(): MimicRecommenderTables {
  return parseMimicTables({
    prescriptions: file('PRESCRIPTIONS'),
    diagnoses: file('DIAGNOSES_ICD'),
    admissions: file('ADMISSIONS'),
    patients: file('PATIENTS'),
  });
}
