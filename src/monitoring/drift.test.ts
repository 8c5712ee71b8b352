import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../datasets/index.js';
import { mulberry32 } from '../training/index.js';
import { chiSquareSurvival, drift, kolmogorovSmirnov, referenceProfile } from './drift.js';
import type { Value } from './drift.js';
import { dataUrl } from '../../test/helpers/data.js';

/** NMES 1988: 4,406 Medicare patients' use of care (see data/README.md). */
const NMES = dataUrl('clinical/nmes1988.csv');
const NUMERIC = [
  'visits',
  'nvisits',
  'ovisits',
  'emergency',
  'hospital',
  'chronic',
  'age',
  'school',
  'income',
];
const CATEGORICAL = ['health', 'adl', 'region', 'afam', 'gender', 'married', 'insurance', 'medicaid'];

describe('drift on the NMES 1988 data', () => {
  let columns: string[];
  let rows: (string | null)[][];
  const column = (rs: (string | null)[][], name: string): Value[] => {
    const j = columns.indexOf(name);
    return rs.map((r) => (NUMERIC.includes(name) ? (r[j] === null ? null : Number(r[j])) : r[j]!));
  };
  beforeAll(async () => {
    const table = parseCsv(await readFile(NMES));
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

  it('flags a shifted copy: more visits, higher incomes, sicker patients, and a value that stopped arriving', () => {
    const [reference, production] = split(2);
    const profile = (name: string) =>
      referenceProfile(column(reference, name), NUMERIC.includes(name) ? 'numeric' : 'categorical');
    const visits = column(production, 'visits').map((v) => (v as number) + 2);
    const income = column(production, 'income').map((v) => (v as number) * 1.3);
    // Self-rated health of the patients whose daily activities are limited only.
    const limited = columns.indexOf('adl');
    const sicker = column(
      production.filter((r) => r[limited] === 'limited'),
      'health',
    );
    const stopped = column(production, 'school').map((v, i) => (i % 3 === 0 ? null : v));
    for (const [name, values] of [
      ['visits', visits],
      ['income', income],
      ['health', sicker],
      ['school', stopped],
    ] as const) {
      const result = drift(profile(name), values);
      expect(result.drifted, `${name}: PSI ${result.psi.toFixed(3)}`).toBe(true);
      // A value that stops arriving shows in PSI (missing is a bin); the values that do arrive are as before.
      if (name !== 'school') expect(result.pValue).toBeLessThan(0.01);
      else expect(result.pValue).toBeGreaterThan(0.01);
    }
    // The untouched columns of the same window stay quiet.
    expect(drift(profile('emergency'), column(production, 'emergency')).drifted).toBe(false);
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
