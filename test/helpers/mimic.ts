/** The MIMIC-III demo tables a recommender learns from, read from the repository's data folder. */
import { readFileSync } from 'node:fs';
import { parseMimicTables } from '../../src/recommend/index.js';
import type { MimicRecommenderTables } from '../../src/recommend/index.js';
import { dataUrl } from './data.js';

const EHR = dataUrl('ehr/mimic3_demo_');
const file = (name: string): Buffer => readFileSync(new URL(`${EHR.href}${name}.csv`));

export function mimicTables(): MimicRecommenderTables {
  return parseMimicTables({
    prescriptions: file('PRESCRIPTIONS'),
    diagnoses: file('DIAGNOSES_ICD'),
    admissions: file('ADMISSIONS'),
    patients: file('PATIENTS'),
  });
}
