import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Signature } from '../core/index.js';
import { invalidInputMessage } from '../../test/helpers/errors.js';
import { MAX_FHIR_DEPTH, evaluateFeatures, parseFeatureMap, patientData } from './index.js';
import { dataUrl } from '../../test/helpers/data.js';

const FHIR = dataUrl('fhir/');
const HIPOLITO = 'Hipolito984_Schulist381_6b9c211c-2c38-3955-43a0-4d285c714fab.json';
const LOINC = 'http://loinc.org';
const signature: Signature = {
  inputs: [{ name: 'systolic', datatype: 'FP32', shape: [-1, 1] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
};
const map = parseFeatureMap(
  {
    inputs: {
      systolic: {
        source: {
          from: 'observation',
          codes: [{ system: LOINC, code: '85354-9' }],
          component: { system: LOINC, code: '8480-6' },
          aggregate: 'latest',
          unit: 'mm[Hg]',
        },
      },
    },
  },
  signature,
);

/** Hipolito's Bundle with `change` applied to a copy of its first blood-pressure Observation. */
function withObservation(change: (o: Record<string, unknown>) => void): Record<string, any> {
  const bundle = JSON.parse(readFileSync(new URL(HIPOLITO, FHIR), 'utf8')) as Record<string, any>;
  const entry = (bundle['entry'] as { resource: Record<string, any> }[]).find(
    (e) =>
      e.resource['resourceType'] === 'Observation' && e.resource['code']?.coding?.[0]?.code === '85354-9',
  )!;
  change(entry.resource);
  return bundle;
}

/** Builds the features, as `$predict` does, and returns the invalid-input message. */
const refusal = (bundle: unknown): string =>
  invalidInputMessage(() => evaluateFeatures(map, patientData(bundle), new Date('2020-03-10T00:00:00Z')));

describe('the shape of a patient Bundle', () => {
  it('is checked before it is read: each malformed shape is invalid input naming the path and the type', () => {
    expect(refusal(null)).toBe(
      'expected a FHIR Bundle (a JSON object with "resourceType": "Bundle"), not null',
    );
    expect(refusal([])).toMatch(/not an array/);
    expect(refusal({ resourceType: 'Bundle', entry: {} })).toBe(
      'Bundle.entry must be an array of JSON objects, not an object',
    );
    expect(refusal({ resourceType: 'Bundle', entry: [null] })).toBe(
      'Bundle.entry[0] must be a JSON object, not null',
    );
    expect(refusal({ resourceType: 'Bundle', entry: [{ resource: 'x' }] })).toBe(
      'Bundle.entry[0].resource must be a JSON object, not a string',
    );
    expect(refusal({ resourceType: 'Bundle', entry: [{ resource: {} }] })).toMatch(
      /entry\[0\]\.resource has no resourceType/,
    );
    expect(
      refusal(
        withObservation((o) => {
          (o['code'] as Record<string, unknown>)['coding'] = 'x';
        }),
      ),
    ).toMatch(
      /^Bundle\.entry\[\d+\]\.resource \(Observation\)\.code\.coding must be an array of JSON objects, not a string$/,
    );
    expect(
      refusal(
        withObservation((o) => {
          o['component'] = [null];
        }),
      ),
    ).toMatch(/\(Observation\)\.component\[0\] must be a JSON object, not null$/);
    expect(
      refusal(
        withObservation((o) => {
          o['subject'] = { reference: 5 };
        }),
      ),
    ).toMatch(/\(Observation\)\.subject\.reference must be a string, not a number$/);
    expect(
      refusal(
        withObservation((o) => {
          (o['component'] as Record<string, any>[])[0]!['valueQuantity'] = { value: '120' };
        }),
      ),
    ).toMatch(/component\[0\]\.valueQuantity\.value must be a number, not a string$/);
  });

  it('refuses a Bundle nested deeper than FHIR needs, without recursing through it', () => {
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = { extension: [deep] };
    const bundle = withObservation((o) => {
      o['extension'] = [deep];
    });
    expect(refusal(bundle)).toBe(`the Bundle nests deeper than ${MAX_FHIR_DEPTH} levels`);
  });

  it('never puts a value from the data in its message', () => {
    const message = refusal(
      withObservation((o) => {
        o['subject'] = { reference: ['Patient/secret-mrn-123'] };
      }),
    );
    expect(message).not.toContain('secret');
  });

  it('still reads a well-formed Bundle', () => {
    const features = evaluateFeatures(
      map,
      patientData(withObservation(() => undefined)),
      new Date('2020-03-10T00:00:00Z'),
    );
    expect(typeof features.values['systolic']).toBe('number');
  });
});
