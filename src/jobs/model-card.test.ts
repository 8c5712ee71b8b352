/**
 * Model cards from real held-out reports: the figures a reader needs, the intended use exactly as
 * given, and limitations that follow from the figures (and only then).
 */
import { describe, expect, it } from 'vitest';
import { inferSchema } from '../datasets/index.js';
import { bySubgroup, evaluateBinaryReport } from '../training/index.js';
import { buildModelCard, renderModelCardMarkdown } from './model-card.js';
import type { ModelCardInput } from './model-card.js';
import { mulberry32 } from '../training/index.js';

function scored(n: number, signal: number, seed: number) {
  const random = mulberry32(seed);
  const y = Float64Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
  const p = Float64Array.from(y, (t) =>
    Math.min(0.99, Math.max(0.01, 0.3 + signal * (t - 0.3) + (random() - 0.5) * 0.5)),
  );
  return { y, p };
}

function input(n: number, signal: number, extra: Partial<ModelCardInput> = {}): ModelCardInput {
  const { y, p } = scored(n, signal, 1);
  const table = {
    columns: ['age', 'ward', 'outcome'],
    rows: Array.from({ length: 100 }, (_, i) => [
      i % 3 === 0 ? null : String(40 + i),
      i % 2 ? 'a' : 'b',
      i % 4 ? 'no' : 'yes',
    ]),
  };
  return {
    algorithm: 'logistic regression',
    framework: 'galen test',
    trainedAt: '2026-11-24T00:00:00.000Z',
    seed: 42,
    target: 'outcome',
    task: 'binary',
    classes: ['no', 'yes'],
    dataset: { ref: 'ward:1', sha256: 'a'.repeat(64), rows: 100 },
    schema: inferSchema(table, { target: 'outcome' }),
    inputs: new Map([
      ['age', { datatype: 'FP32' as const }],
      ['ward', { datatype: 'BYTES' as const, categories: 2 }],
    ]),
    trainRows: 400,
    testRows: n,
    droppedRows: 0,
    evaluatedOn: `held-out split of ${n} rows`,
    trainTargets: Float64Array.from({ length: 400 }, (_, i) => (i % 20 === 0 ? 1 : 0)),
    testTargets: y,
    report: evaluateBinaryReport(p, y, { bootstrap: 200, seed: 1 }),
    ...extra,
  };
}

describe('model cards', () => {
  it('carries the intended use as given, the data, metrics with intervals and calibration', () => {
    const card = buildModelCard(input(1000, 0.3, { intendedUse: '  Flag wards for review.  ' }));
    expect(card.intendedUse.statement).toBe('Flag wards for review.');
    expect(card.details).toMatchObject({ task: 'binary', positiveClass: 'yes', seed: 42 });
    expect(card.data.classBalance!.train).toEqual({ no: 380, yes: 20 });
    expect(card.data.columns.find((c) => c.name === 'age')).toMatchObject({
      input: 'FP32',
      missingFraction: 0.34,
    });
    expect(card.metrics.test['auroc']!.ci95!.low).toBeLessThan(card.metrics.test['auroc']!.value);
    expect(card.metrics.calibration!.length).toBeGreaterThan(3);
    const text = card.limitations.join('\n');
    expect(text).toMatch(/Class "yes" is rare in the training rows \(20 of 400, 5\.0%\)/);
    expect(text).toMatch(/often missing.*age 34%/);
    expect(text).toMatch(/No subgroup analysis was requested/);
    expect(text).not.toMatch(/held-out set is small/);
    expect(text).not.toMatch(/Discrimination is modest/);
  });

  it('says when the held-out set is small, discrimination weak, or a subgroup differs', () => {
    const { y, p } = scored(120, 0.15, 2);
    const groups = Array.from({ length: 120 }, (_, i) => (i < 60 ? 'F' : 'M'));
    const subgroups = bySubgroup(groups, (rows) =>
      evaluateBinaryReport(
        rows.map((i) => (i < 60 ? y[i]! * 0.6 + 0.2 : p[i]!)),
        rows.map((i) => y[i]!),
        { bootstrap: 50 },
      ),
    );
    const card = buildModelCard(
      input(120, 0.15, {
        testTargets: y,
        report: evaluateBinaryReport(p, y, { bootstrap: 200 }),
        subgroups: { column: 'sex', groups: subgroups },
        limitations: ['Trained on one hospital only.'],
      }),
    );
    expect(card.intendedUse.statement).toBeNull();
    expect(card.limitations[0]).toBe('Trained on one hospital only.');
    const text = card.limitations.join('\n');
    expect(text).toMatch(/held-out set is small \(120 rows\)/);
    expect(text).toMatch(/Discrimination is modest/);
    expect(text).toMatch(/Performance differs across sex: auroc 1\.000 for "F"/);
    const markdown = renderModelCardMarkdown(card, 'ward-risk', 3);
    expect(markdown).toMatch(/^# Model card: ward-risk version 3\n/);
    expect(markdown).toMatch(/_Not stated._/);
    expect(markdown).toMatch(/\| auroc \| 0\.\d{4} \(0\.\d{4}–0\.\d{4}\) \|/);
    expect(markdown).toMatch(/## Subgroups by sex/);
  });
});
