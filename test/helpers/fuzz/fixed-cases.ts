/**
 * The fuzz findings of issue 17, each as a fixed case that runs on every fuzz run whatever the
 * seed: they must stay fixed.
 */
import type { FuzzCase } from './fuzz-cases.js';
import { BREAST, CDS_SERVICE, FUZZ_BUNDLE, HEART } from './route-families.js';

const deep = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

const withObservation = (change: (o: Record<string, unknown>) => void): unknown => {
  const bundle = structuredClone(FUZZ_BUNDLE) as { entry: { resource: Record<string, unknown> }[] };
  change(bundle.entry[1]!.resource);
  return bundle;
};

function json(
  id: string,
  family: string,
  format: FuzzCase['format'],
  url: string,
  body: unknown,
  contentType = 'application/json',
  auth: FuzzCase['auth'] = 'admin',
): FuzzCase {
  return {
    id: `fixed:${id}`,
    family,
    format,
    what: `POST ${url.split('?')[0]}: ${id}`,
    method: 'POST',
    url,
    headers: { 'content-type': contentType },
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    auth,
  };
}

const FHIR = 'application/fhir+json';
const predict = `/fhir/Patient/$predict?model=${HEART}`;

export const FIXED_CASES: readonly FuzzCase[] = [
  json('fhir body null', 'fhir', 'fhir', predict, 'null', FHIR),
  json('fhir entry [null]', 'fhir', 'fhir', predict, { resourceType: 'Bundle', entry: [null] }, FHIR),
  json('fhir entry {}', 'fhir', 'fhir', predict, { resourceType: 'Bundle', entry: {} }, FHIR),
  json(
    'fhir code.coding a string',
    'fhir',
    'fhir',
    predict,
    withObservation((o) => (o['code'] = { coding: 'x' })),
    FHIR,
  ),
  json(
    'fhir component [null]',
    'fhir',
    'fhir',
    predict,
    withObservation((o) => (o['component'] = [null])),
    FHIR,
  ),
  json('deid entry "x"', 'deid', 'native', '/api/v1/deid/fhir', { resourceType: 'Bundle', entry: 'x' }, FHIR),
  json(
    'oip data nested 10,000 deep',
    'oip-infer',
    'oip',
    `/v2/models/${BREAST}/infer`,
    `{"inputs":[{"name":"features","shape":[1,30],"datatype":"FP32","data":${deep(10_000)}}]}`,
  ),
  json(
    'tf instances nested 10,000 deep',
    'tf-serving',
    'oip',
    `/v1/models/${BREAST}:predict`,
    `{"instances":${deep(10_000)}}`,
  ),
  json(
    'cds prefetch entry [null]',
    'cds',
    'fhir',
    `/cds-services/${CDS_SERVICE}`,
    {
      hook: 'patient-view',
      hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
      context: { userId: 'Practitioner/1', patientId: 'p1' },
      prefetch: {
        patient: { resourceType: 'Patient', id: 'p1', gender: 'male', birthDate: '1960-01-01' },
        observations: { resourceType: 'Bundle', type: 'searchset', entry: [null] },
      },
    },
    'application/json',
    'cds',
  ),
];
