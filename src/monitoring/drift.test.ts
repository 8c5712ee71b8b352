import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../datasets/index.js';
import { mulberry32 } from '../training/index.js';
import { chiSquareSurvival, drift, kolmogorovSmirnov, referenceProfile } from './drift.js';
import type { Value } from './drift.js';

const READMISSIONS = new URL('../../../shared/data/clinical/hospital_readmissions.csv', import.meta.url);
const NUMERIC = [
  'time_in_hospital',
  'n_lab_procedures',
  'n_procedures',
  'n_medications',
  'n_outpatient',
  'n_inpatient',
  'n_emergency',
];
const CATEGORICAL = [
  'age',
  'medical_specialty',
  'diag_1',
  'glucose_test',
  'A1Ctest',
  'change',
  'diabetes_med',
];

describe('drift on the readmissions data', () => {
  let columns: string[];
  let rows: (string | null)[][];
  const column = (rs: (string | null)[][], name: string): Value[] => {
    const j = columns.indexOf(name);
    return rs.map((r) => (NUMERIC.includes(name) ? (r[j] === null ? null : Number(r[j])) : r[j]!));
  };
  beforeAll(async () => {
    const table = parseCsv(await readFile(READMISSIONS));
    columns = table.columns;
    rows = table.rows;
  });

  /** A random split: the first part is the reference, the second production. */
  function split(seed: number): [(string | null)[][], (string | null)[][]] {
    const random = mulberry32(seed);
    const a: (string | null)[][] = [];
    const b: (string | null)[][] = [];
    for (const r of rows) (random() < 0.8 ? a : b).push(r);
    return [a, b];
  }

  it('flags nothing on a random split of the same data', () => {
    const [reference, production] = split(1);
    for (const name of [...NUMERIC, ...CATEGORICAL]) {
      const kind = NUMERIC.includes(name) ? 'numeric' : 'categorical';
      const result = drift(referenceProfile(column(reference, name), kind), column(production, name));
      expect(result.drifted, `${name}: PSI ${result.psi.toFixed(4)}, p ${result.pValue}`).toBe(false);
      expect(result.psi).toBeLessThan(0.02);
    }
  });

  it('flags a shifted copy: longer stays, more lab tests, older patients, and a value that stopped arriving', () => {
    const [reference, production] = split(2);
    const profile = (name: string) =>
      referenceProfile(column(reference, name), NUMERIC.includes(name) ? 'numeric' : 'categorical');
    const longer = column(production, 'time_in_hospital').map((v) => (v as number) + 2);
    const labs = column(production, 'n_lab_procedures').map((v) => Math.round((v as number) * 1.3));
    const older = column(production, 'age').filter(
      (v) => v === '[70-80)' || v === '[80-90)' || v === '[90-100)',
    );
    const stopped = column(production, 'n_medications').map((v, i) => (i % 3 === 0 ? null : v));
    for (const [name, values] of [
      ['time_in_hospital', longer],
      ['n_lab_procedures', labs],
      ['age', older],
      ['n_medications', stopped],
    ] as const) {
      const result = drift(profile(name), values);
      expect(result.drifted, `${name}: PSI ${result.psi.toFixed(3)}`).toBe(true);
      // A value that stops arriving shows in PSI (missing is a bin); the values that do arrive are as before.
      if (name !== 'n_medications') expect(result.pValue).toBeLessThan(0.01);
      else expect(result.pValue).toBeGreaterThan(0.01);
    }
    // The untouched columns of the same window stay quiet.
    expect(drift(profile('n_procedures'), column(production, 'n_procedures')).drifted).toBe(false);
  });

  it('computes the tests right: KS against a known case, chi-square tails against tables', () => {
    const same = Array.from({ length: 500 }, (_, i) => i / 500);
    expect(kolmogorovSmirnov(same, same).d).toBe(0);
    const shifted = same.map((v) => v + 0.5);
    expect(kolmogorovSmirnov(same, shifted).d).toBeCloseTo(0.5, 2);
    expect(kolmogorovSmirnov(same, shifted).p).toBeLessThan(1e-10);
    expect(chiSquareSurvival(3.841, 1)).toBeCloseTo(0.05, 3);
    expect(chiSquareSurvival(18.307, 10)).toBeCloseTo(0.05, 3);
    expect(chiSquareSurvival(6.635, 1)).toBeCloseTo(0.01, 3);
  });
});
