import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../datasets/index.js';
import type { Cell, ScoredOutput } from '../core/index.js';
import { mulberry32 } from '../training/index.js';
import { drift, kolmogorovSmirnov, referenceProfile } from './drift.js';
import type { DriftResult, Value } from './drift.js';
import { compileReference, DriftSketch } from './drift-sketch.js';
import { performanceOf } from './performance.js';
import { buildProfile } from './profile.js';
import { compileProfile, WindowAccumulator, windowReport } from './report.js';
import type { SampleRow } from './report.js';
import { dataUrl } from '../../test/helpers/data.js';

/** NMES 1988: 4,406 Medicare patients' use of care (see data/README.md). */
const NMES = dataUrl('clinical/nmes1988.csv');
const NUMERIC = ['visits', 'emergency', 'age', 'income'];
const CATEGORICAL = ['health', 'region', 'adl', 'insurance'];

/** The sketch fed value by value, as a window is read. */
function sketched(reference: ReturnType<typeof referenceProfile>, values: readonly Value[]): DriftResult {
  const sketch = new DriftSketch(compileReference(reference));
  for (const v of values) sketch.add(v);
  return sketch.result();
}

describe('drift counted value by value', () => {
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

  it('gives the figures drift() gives from the whole list: PSI, KS (exact, with ties), chi-square', () => {
    const random = mulberry32(3);
    const reference: (string | null)[][] = [];
    const production: (string | null)[][] = [];
    for (const r of rows) (random() < 0.8 ? reference : production).push(r);
    for (const name of [...NUMERIC, ...CATEGORICAL]) {
      const profile = referenceProfile(
        column(reference, name),
        NUMERIC.includes(name) ? 'numeric' : 'categorical',
      );
      const same = column(production, name);
      // Shifted, with missing values and values beyond the reference's range.
      const shifted = same.map((v, i) =>
        i % 7 === 0 ? null : typeof v === 'number' ? v * 1.3 + (i % 3) : i % 2 ? v : 'unseen',
      );
      for (const values of [same, shifted, same.slice(0, 30)]) {
        const expected = drift(profile, values);
        const actual = sketched(profile, values);
        expect(actual, name).toEqual({ ...expected, statistic: actual.statistic, pValue: actual.pValue });
        expect(actual.statistic, name).toBeCloseTo(expected.statistic, 12);
        expect(actual.pValue, name).toBeCloseTo(expected.pValue, 12);
      }
    }
  });

  it('gives the exact KS statistic on continuous values, ties and disjoint ranges', () => {
    const random = mulberry32(11);
    const cases: [number[], number[]][] = [
      [Array.from({ length: 900 }, () => random()), Array.from({ length: 5000 }, () => random() * 1.1)],
      [Array.from({ length: 300 }, (_, i) => i % 10), Array.from({ length: 4000 }, (_, i) => (i * 7) % 13)],
      [Array.from({ length: 100 }, (_, i) => i), Array.from({ length: 100 }, (_, i) => 1000 + i)],
      [Array.from({ length: 100 }, (_, i) => 1000 + i), Array.from({ length: 50 }, (_, i) => i)],
    ];
    for (const [a, b] of cases) {
      const profile = referenceProfile(a, 'numeric');
      if (profile.kind !== 'numeric') throw new Error('a numeric profile was asked for');
      const exact = kolmogorovSmirnov(profile.sample, b);
      const { statistic, pValue } = sketched(profile, b);
      expect(statistic).toBeCloseTo(exact.d, 12);
      expect(pValue).toBeCloseTo(exact.p, 12);
    }
  });
});

describe('a window accumulated row by row', () => {
  const binary: ScoredOutput = { tensor: 'p', task: 'binary', classes: ['no', 'yes'] };
  const profile = buildProfile({
    layout: {
      kind: 'columns',
      inputs: [
        { name: 'age', datatype: 'FP32' },
        { name: 'site', datatype: 'BYTES' },
      ],
    },
    output: binary,
    featureRows: Array.from({ length: 300 }, (_, i) => [20 + (i % 50), ['a', 'b', 'c'][i % 3]!]),
    outputs: Array.from({ length: 300 }, (_, i) => [1 - (i % 10) / 10, (i % 10) / 10]),
    subgroupFeatures: ['site'],
    source: 'test',
    createdAt: '2026-01-01T00:00:00Z',
  });
  const random = mulberry32(5);
  const rows: SampleRow[] = Array.from({ length: 2000 }, (_, i) => {
    const p = random();
    return {
      at: i,
      features: [25 + (i % 60), ['a', 'b', 'c', 'd'][i % 4]!] as Cell[],
      prediction: p,
      ...(i % 3 === 0 && { label: random() < p ? 1 : 0 }),
      ...(i % 6 === 0 && { groups: { ward: i % 12 === 0 ? 'north' : 'south' } }),
    };
  });

  it('reports what the rows give: drift of every row, performance and subgroups of every labelled row', () => {
    const report = windowReport(profile, rows, new Date(0), new Date(2000));
    const labelled = rows.filter((r) => r.label !== undefined);
    expect(report).toMatchObject({ samples: 2000, labelled: labelled.length });
    expect(report.drift?.features['age']?.n).toBe(2000);
    expect(report.drift?.features['age']?.psi).toBeCloseTo(
      drift(
        profile.features['age']!,
        rows.map((r) => r.features![0]!),
      ).psi,
      6,
    );
    expect(report.performance).toEqual(
      performanceOf(
        binary,
        labelled.map((r) => r.prediction),
        labelled.map((r) => r.label!),
      ),
    );
    expect(Object.keys(report.subgroups!).sort()).toEqual(['site', 'ward']);
    expect(report.subgroups!['ward']!.groups['north']!.n).toBe(
      labelled.filter((r) => r.at % 12 === 0).length,
    );
  });

  it('keeps at most its share of labelled rows (a uniform sample) and counts every row', () => {
    const window = new WindowAccumulator(compileProfile(profile), new Date(0), new Date(2000), 100);
    rows.forEach((r, i) => window.add(r, i % 4 === 0));
    window.count(500);
    const report = window.report();
    expect(report.samples).toBe(2500);
    expect(report.labelled).toBe(rows.filter((r) => r.label !== undefined).length);
    expect(report.performance?.n).toBe(100);
    expect(report.drift?.features['age']?.n).toBe(500);
    expect(window.subsampled).toBe(true);
    // An even sample: its rows come from the whole window, not its start.
    expect(report.performance && 'auroc' in report.performance && report.performance.auroc).toBeGreaterThan(
      0.6,
    );
  });
});
