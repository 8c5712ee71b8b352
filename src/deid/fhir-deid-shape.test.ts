/**
 * What de-identification does with FHIR JSON of the wrong shape: a clear invalid-input error naming
 * the path (never a TypeError), and malformed parts that cannot be kept are dropped, not echoed.
 */
import { describe, expect, it } from 'vitest';
import { invalidInputMessage } from '../../test/helpers/errors.js';
import { MAX_DEID_DEPTH, deidentifyFhir } from './fhir-deid.js';

const deid = (input: unknown) => deidentifyFhir(input, { mode: 'safe-harbor' });

describe('de-identifying malformed FHIR', () => {
  it('refuses a Bundle whose entries are not an array of entry objects holding resources', () => {
    expect(invalidInputMessage(() => deid({ resourceType: 'Bundle', entry: 'x' }))).toBe(
      'Bundle.entry must be an array of entry objects',
    );
    expect(invalidInputMessage(() => deid({ resourceType: 'Bundle', entry: [{}, null] }))).toBe(
      'Bundle.entry[1] must be an object',
    );
    expect(invalidInputMessage(() => deid({ resourceType: 'Bundle', entry: [{ resource: [1] }] }))).toBe(
      'Bundle.entry[0].resource must be a resource (an object with resourceType)',
    );
    expect(invalidInputMessage(() => deid(null))).toMatch(/expected a FHIR resource or Bundle/);
    expect(invalidInputMessage(() => deid([{ resourceType: 'Patient' }]))).toMatch(
      /expected a FHIR resource/,
    );
  });

  it('refuses input nested deeper than FHIR needs, without overflowing the stack', () => {
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = { extension: [deep] };
    expect(invalidInputMessage(() => deid({ resourceType: 'Patient', extension: [deep] }))).toBe(
      `the resource nests deeper than ${MAX_DEID_DEPTH} levels`,
    );
  });

  it('drops malformed identifiers, addresses and unreadable conditional references instead of failing', () => {
    const output = deid({
      resourceType: 'Bundle',
      url: 'http://example.org/geolocation',
      entry: [
        {
          resource: {
            resourceType: 'Patient',
            id: 'p1',
            identifier: [null, { system: 'urn:mrn', value: 'MRN-42' }],
            address: [null, 'Main Street 1', { city: 'Springfield', state: 'IL', postalCode: '62704' }],
          },
        },
        {
          resource: {
            resourceType: 'Observation',
            subject: { reference: 'Patient?identifier=urn:mrn|%E0%A4%A' },
          },
        },
      ],
    }).output as { resourceType: string; entry: { resource: Record<string, any> }[] };
    expect(output.resourceType).toBe('Bundle');
    expect(output.entry[0]!.resource['address']).toEqual([{ state: 'IL', postalCode: '627' }]);
    expect(output.entry[0]!.resource['identifier']).toBeUndefined();
    expect(output.entry[1]!.resource['subject']?.reference).toBeUndefined();
    expect(JSON.stringify(output)).not.toMatch(/Main Street|MRN-42|Springfield/);
  });
});
