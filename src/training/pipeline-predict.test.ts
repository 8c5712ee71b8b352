import { describe, expect, it } from 'vitest';
import type { PipelineSpec } from '../core/index.js';
import { featureMatrix, predictPipeline } from './index.js';

const spec: PipelineSpec = {
  features: [
    { kind: 'numeric', column: 'x', impute: 2, missingIndicator: true, offset: 1, scale: 0.5 },
    { kind: 'categorical', column: 'c', categories: ['a', 'b'] },
  ],
  model: {
    type: 'linear',
    task: 'classification',
    classes: ['no', 'yes'],
    coefficients: [[2, -1, 1, 0]],
    intercepts: [-1],
  },
};

describe('predictPipeline', () => {
  it('computes [1 - p, p] and the label by hand-checkable arithmetic', () => {
    // Row 0: x 3 → 1, present; c 'a' → [1, 0]: z = 2 + 1 - 1 = 2. Row 1: x missing → 0.5, 1; c unseen: z = 1 - 1 - 1 = -1.
    const out = predictPipeline(spec, { x: [3, null], c: ['a', 'zzz'] });
    const p0 = 1 / (1 + Math.exp(-2));
    const p1 = 1 / (1 + Math.exp(1));
    expect([...(out.probabilities?.[0] ?? [])]).toEqual([1 - p0, p0]);
    expect(out.probabilities?.[1]?.[1]).toBeCloseTo(p1, 15);
    expect(out.labels).toEqual(['yes', 'no']);
    expect(out.predictions).toBeUndefined();
  });

  it('treats NaN like null and refuses cells of the wrong kind or ragged columns', () => {
    expect(featureMatrix(spec.features, { x: [Number.NaN], c: [null] })).toEqual([
      Float64Array.of(0.5, 1, 0, 0),
    ]);
    expect(() => predictPipeline(spec, { x: ['Jane Roe 555-12-3456'], c: ['a'] })).toThrow(
      /^column "x" row 0 is a string; a numeric column holds numbers or null$/,
    );
    expect(() => predictPipeline(spec, { x: [1], c: [5551234] })).toThrow(
      /^column "c" row 0 is a number; a categorical column holds text or null$/,
    );
    expect(() => predictPipeline(spec, { x: [1, 2], c: ['a'] })).toThrow(/column "c" has 1 rows; "x" has 2/);
    expect(() => predictPipeline(spec, { x: [1] })).toThrow(/column "c" is missing/);
  });
});
