import { describe, expect, it } from 'vitest';
import { parseFeatureMap } from '../fhir/index.js';
import type { Signature } from '../core/index.js';
import { prefetchTemplates } from './cds-services.js';

const SIGNATURE: Signature = {
  inputs: ['chol', 'fbs', 'diabetic'].map((name) => ({ name, datatype: 'FP32' as const, shape: [-1, 1] })),
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
};
const loinc = (code: string) => ({ system: 'http://loinc.org', code });
const GLUCOSE =
  "Bundle.entry.resource.ofType(Observation).where(code.coding.code = '1558-6').value.ofType(Quantity).where(value > 120)";

describe('CDS prefetch templates', () => {
  it("fetch the codes a FHIRPath source says it reads, besides the other sources' codes", () => {
    const map = parseFeatureMap(
      {
        inputs: {
          chol: { source: { from: 'observation', codes: [loinc('2093-3')], aggregate: 'latest' } },
          fbs: {
            source: {
              from: 'fhirpath',
              expression: GLUCOSE,
              aggregate: 'exists',
              reads: { observation: [loinc('1558-6'), loinc('2093-3')] },
            },
          },
          diabetic: {
            source: {
              from: 'fhirpath',
              expression: "Bundle.entry.resource.ofType(Condition).where(code.coding.code = '44054006')",
              aggregate: 'exists',
              reads: { condition: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
            },
          },
        },
      },
      SIGNATURE,
    );
    expect(prefetchTemplates(map)).toEqual({
      patient: 'Patient/{{context.patientId}}',
      observations:
        'Observation?patient={{context.patientId}}&code=http://loinc.org|2093-3,http://loinc.org|1558-6',
      conditions: 'Condition?patient={{context.patientId}}&code=http://snomed.info/sct|44054006',
    });
  });

  it('refuses reads that name no codes or another resource', () => {
    const fbs = (reads: unknown) => ({
      inputs: { fbs: { source: { from: 'fhirpath', expression: GLUCOSE, aggregate: 'exists', reads } } },
    });
    for (const reads of [{}, { medication: [loinc('1558-6')] }, { observation: [] }, []])
      expect(() => parseFeatureMap(fbs(reads), SIGNATURE), JSON.stringify(reads)).toThrow(/reads|codes/);
  });
});
