/**
 * The patterns FHIR de-identification matches against client text other than free text (reference
 * strings) must be linear too. The guard stops a regression that would take minutes; see
 * safe-harbor.test.ts.
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { deidentifyFhir } from './fhir-deid.js';

const GUARD_MS = 20_000;

describe('FHIR de-identification reference patterns', () => {
  it('rewrites a reference with a million-character history part without rescanning it', () => {
    // Each "/Type/id/_history/" used to start a scan to the end of the string: ~3 s at 60k characters.
    const reference = `${'/Ab/1/_history/'.repeat(70_000)}\n`;
    const input = { resourceType: 'Observation', id: 'o1', subject: { reference } };
    const { output, report } = runInNewContext(
      'deid(input, { mode: "safe-harbor" })',
      { deid: deidentifyFhir, input },
      { timeout: GUARD_MS },
    ) as ReturnType<typeof deidentifyFhir>;
    expect((output as { subject: { reference: string } }).subject.reference).toMatch(/^Ab\/[0-9a-f-]{36}$/);
    expect(report['references']).toBe(1);
  });
});
