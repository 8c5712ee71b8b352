/**
 * Every route family of the HTTP edge, as endpoints with a well-formed request each: what the fuzz
 * suite mutates. Models and names refer to what `createFuzzServer` installs (the demo models, a
 * scratch model for routes that change state, a tiny dataset). Each family names the error format
 * its protocol answers in.
 */
export type ErrorFormat = 'oip' | 'native' | 'fhir';

export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** With `:name` parameters, filled from `params`. */
  path: string;
  params?: Record<string, string>;
  /** A query string without `?`. */
  query?: string;
  /** A well-formed JSON body (sent as `contentType`, default application/json). */
  body?: unknown;
  /** A well-formed non-JSON body (uploads, binary tensors), with its headers. */
  raw?: { bytes: Buffer; contentType: string; headers?: Record<string, string> };
  contentType?: string;
  /** The family's error format unless set (a native route among CDS ones). */
  format?: ErrorFormat;
  /** `cds`: the caller is the demo CDS client with a fresh JWT for the URL. */
  auth?: 'admin' | 'cds' | 'none';
}

export interface Family {
  name: string;
  format: ErrorFormat;
  endpoints: Endpoint[];
}

export const BREAST = 'breast-cancer';
export const HEART = 'heart-disease';
export const SCRATCH = 'fuzz-scratch';
/** Loaded and unloaded by the repository family (apart, so other families find SCRATCH loaded). */
export const REPO = 'fuzz-repo';
export const DATASET = 'fuzz-data';
export const CDS_SERVICE = `${HEART}--production`;

const row30 = Array.from({ length: 30 }, (_, i) => (i % 7) + 0.5);
const oipBody = {
  id: 'fuzz-1',
  inputs: [{ name: 'features', shape: [1, 30], datatype: 'FP32', data: row30 }],
};
/** KernelSHAP kept small: the fuzz suite is about input handling, not explanation cost. */
const explainBody = { ...oipBody, parameters: { max_coalitions: 64, background_rows: 10 } };
/** 20 rows: the fewest a monitoring reference takes (an explainer background takes 10). */
const scratchInputs = [
  { name: 'x', shape: [20, 3], datatype: 'FP32', data: Array.from({ length: 60 }, (_, i) => (i % 9) - 4) },
];

/** The binary tensor extension: the JSON header, then 30 FP32 values. */
function binaryInfer(): NonNullable<Endpoint['raw']> {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'features', shape: [1, 30], datatype: 'FP32', parameters: { binary_data_size: 120 } }],
      outputs: [{ name: 'probabilities', parameters: { binary_data: true } }],
    }),
  );
  return {
    bytes: Buffer.concat([header, Buffer.from(Float32Array.from(row30).buffer)]),
    contentType: 'application/octet-stream',
    headers: { 'inference-header-content-length': String(header.length) },
  };
}

const patient = {
  resourceType: 'Patient',
  id: 'p1',
  gender: 'male',
  birthDate: '1960-05-01',
};
const observation = {
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  subject: { reference: 'Patient/p1' },
  code: { coding: [{ system: 'http://loinc.org', code: '2093-3' }] },
  effectiveDateTime: '2020-01-01T00:00:00Z',
  valueQuantity: { value: 210, unit: 'mg/dL', code: 'mg/dL', system: 'http://unitsofmeasure.org' },
  component: [
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
      valueQuantity: { value: 130, unit: 'mm[Hg]', code: 'mm[Hg]' },
    },
  ],
};
export const FUZZ_BUNDLE = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [{ fullUrl: 'urn:uuid:p1', resource: patient }, { resource: observation }],
};
const cdsCall = {
  hook: 'patient-view',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  context: { userId: 'Practitioner/1', patientId: 'p1' },
  prefetch: {
    patient,
    observations: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: observation }] },
  },
};

const smallModel = {
  sense: 'maximize',
  variables: [
    { name: 'x', type: 'integer', min: 0, max: 10 },
    { name: 'y', type: 'continuous', min: 0, max: 5 },
  ],
  constraints: [{ name: 'c', terms: { x: 1, y: 2 }, max: 8 }],
  objective: { linear: { x: 3, y: 2 } },
};
const csv = Buffer.from('a,b,y\n1,2,yes\n3,4,no\n5,6,yes\n7,8,no\n');

export const FAMILIES: readonly Family[] = [
  {
    name: 'oip-infer',
    format: 'oip',
    endpoints: [
      { method: 'POST', path: '/v2/models/:model/infer', params: { model: BREAST }, body: oipBody },
      {
        method: 'POST',
        path: '/v2/models/:model/versions/:version/infer',
        params: { model: BREAST, version: '1' },
        body: oipBody,
      },
    ],
  },
  {
    name: 'oip-binary',
    format: 'oip',
    endpoints: [
      { method: 'POST', path: '/v2/models/:model/infer', params: { model: BREAST }, raw: binaryInfer() },
    ],
  },
  {
    name: 'oip-metadata',
    format: 'oip',
    endpoints: [
      { method: 'GET', path: '/v2' },
      { method: 'GET', path: '/v2/health/live', auth: 'none' },
      { method: 'GET', path: '/v2/health/ready', auth: 'none' },
      { method: 'GET', path: '/v2/models/:model', params: { model: BREAST } },
      { method: 'GET', path: '/v2/models/:model/ready', params: { model: BREAST } },
      { method: 'GET', path: '/v2/models/:model/versions/:version', params: { model: BREAST, version: '1' } },
      { method: 'GET', path: '/v2/models/:model/stats', params: { model: BREAST } },
      { method: 'GET', path: '/v2/models/stats' },
    ],
  },
  {
    name: 'oip-repository',
    format: 'oip',
    endpoints: [
      { method: 'POST', path: '/v2/repository/index', body: { ready: true } },
      { method: 'POST', path: '/v2/repository/models/:model/load', params: { model: REPO }, body: {} },
      { method: 'POST', path: '/v2/repository/models/:model/unload', params: { model: REPO }, body: {} },
    ],
  },
  {
    name: 'tf-serving',
    format: 'oip',
    endpoints: [
      { method: 'GET', path: '/v1/models/:model', params: { model: BREAST } },
      { method: 'GET', path: '/v1/models/:model/metadata', params: { model: BREAST } },
      {
        method: 'POST',
        path: '/v1/models/:model:predict',
        params: { model: BREAST },
        body: { instances: [row30] },
      },
      {
        method: 'POST',
        path: '/v1/models/:model/versions/:version:predict',
        params: { model: BREAST, version: '1' },
        body: { signature_name: 'serving_default', inputs: { features: [row30] } },
      },
      {
        method: 'POST',
        path: '/v1/models/:model:classify',
        params: { model: BREAST },
        body: { examples: [{ features: row30 }] },
      },
      {
        method: 'POST',
        path: '/v1/models/:model:regress',
        params: { model: BREAST },
        body: { examples: [{ features: row30 }] },
      },
    ],
  },
  {
    name: 'native-models',
    format: 'native',
    endpoints: [
      { method: 'GET', path: '/api/v1/models' },
      { method: 'GET', path: '/api/v1/models/:model', params: { model: BREAST } },
      {
        method: 'PATCH',
        path: '/api/v1/models/:model',
        params: { model: SCRATCH },
        body: { description: 'scratch', tags: { a: 'b' } },
      },
      {
        method: 'POST',
        path: '/api/v1/models/:model/versions',
        params: { model: SCRATCH },
        raw: { bytes: Buffer.from('not an onnx file'), contentType: 'application/octet-stream' },
      },
      {
        method: 'GET',
        path: '/api/v1/models/:model/versions/:version',
        params: { model: BREAST, version: '1' },
      },
      {
        method: 'GET',
        path: '/api/v1/models/:model/versions/:version/card',
        params: { model: BREAST, version: '1' },
      },
      { method: 'POST', path: '/api/v1/models/:model/archive', params: { model: SCRATCH }, body: {} },
      { method: 'POST', path: '/api/v1/models/:model/restore', params: { model: SCRATCH }, body: {} },
      {
        method: 'PUT',
        path: '/api/v1/models/:model/aliases/:alias',
        params: { model: SCRATCH, alias: 'staging' },
        body: { version: 1 },
      },
      {
        method: 'DELETE',
        path: '/api/v1/models/:model/aliases/:alias',
        params: { model: SCRATCH, alias: 'staging' },
      },
      { method: 'GET', path: '/api/v1/models/:model/serving', params: { model: SCRATCH } },
      {
        method: 'PUT',
        path: '/api/v1/models/:model/serving',
        params: { model: SCRATCH },
        body: { maxBatchSize: 8, maxQueueDelayMicros: 0 },
      },
      {
        method: 'PUT',
        path: '/api/v1/models/:model/versions/:version/feature-map',
        params: { model: SCRATCH, version: '1' },
        body: { inputs: { x: { source: { from: 'patient', field: 'age' } } } },
      },
      {
        method: 'GET',
        path: '/api/v1/models/:model/versions/:version/feature-map',
        params: { model: HEART, version: '1' },
      },
    ],
  },
  {
    name: 'native-datasets',
    format: 'native',
    endpoints: [
      { method: 'GET', path: '/api/v1/datasets' },
      {
        method: 'POST',
        path: '/api/v1/datasets/:name',
        params: { name: DATASET },
        raw: { bytes: csv, contentType: 'text/csv' },
      },
      { method: 'GET', path: '/api/v1/datasets/:name', params: { name: DATASET } },
      {
        method: 'GET',
        path: '/api/v1/datasets/:name/versions/:version',
        params: { name: DATASET, version: '1' },
      },
      {
        method: 'POST',
        path: '/api/v1/datasets/:name/versions/:version/schema',
        params: { name: DATASET, version: '1' },
        body: { target: 'y', overrides: { a: { kind: 'numeric' } } },
      },
    ],
  },
  {
    name: 'native-jobs',
    format: 'native',
    endpoints: [
      // A dataset that does not exist: the body is validated in full, and no training starts.
      {
        method: 'POST',
        path: '/api/v1/jobs',
        body: { model: 'fuzz-trained', dataset: 'fuzz-missing', target: 'y', modelKind: 'logistic' },
      },
      { method: 'GET', path: '/api/v1/jobs' },
      { method: 'GET', path: '/api/v1/jobs/:id', params: { id: 'job-0' } },
      { method: 'GET', path: '/api/v1/jobs/:id/logs', params: { id: 'job-0' } },
      { method: 'POST', path: '/api/v1/jobs/:id/cancel', params: { id: 'job-0' }, body: {} },
    ],
  },
  {
    name: 'native-monitoring',
    format: 'native',
    endpoints: [
      { method: 'GET', path: '/api/v1/models/:model/monitoring', params: { model: BREAST } },
      { method: 'GET', path: '/api/v1/models/:model/monitoring/settings', params: { model: SCRATCH } },
      {
        method: 'PUT',
        path: '/api/v1/models/:model/monitoring/settings',
        params: { model: SCRATCH },
        body: { sampleRate: 0.5 },
      },
      {
        method: 'POST',
        path: '/api/v1/models/:model/monitoring/labels',
        params: { model: SCRATCH },
        body: { labels: [{ id: 'r-1', label: 'yes', row: 0, groups: { site: 'a' } }] },
      },
      {
        method: 'PUT',
        path: '/api/v1/models/:model/versions/:version/monitoring/reference',
        params: { model: SCRATCH, version: '1' },
        body: { inputs: scratchInputs, names: ['a', 'b', 'c'], output: 'y' },
      },
      { method: 'GET', path: '/api/v1/models/:model/monitoring/alerts', params: { model: BREAST } },
      {
        method: 'POST',
        path: '/api/v1/models/:model/monitoring/evaluate',
        params: { model: SCRATCH },
        body: {},
      },
    ],
  },
  {
    name: 'explain',
    format: 'oip',
    endpoints: [
      { method: 'POST', path: '/v2/models/:model/explain', params: { model: BREAST }, body: explainBody },
      {
        method: 'POST',
        path: '/v2/models/:model/versions/:version/explain',
        params: { model: BREAST, version: '1' },
        body: explainBody,
      },
    ],
  },
  {
    name: 'native-explainer',
    format: 'native',
    endpoints: [
      {
        method: 'GET',
        path: '/api/v1/models/:model/versions/:version/explainer',
        params: { model: BREAST, version: '1' },
      },
      {
        method: 'PUT',
        path: '/api/v1/models/:model/versions/:version/explainer',
        params: { model: SCRATCH, version: '1' },
        body: { inputs: scratchInputs, names: ['a', 'b', 'c'], output: 'y' },
      },
    ],
  },
  {
    name: 'deid',
    format: 'native',
    endpoints: [
      {
        method: 'POST',
        path: '/api/v1/deid/fhir',
        body: FUZZ_BUNDLE,
        contentType: 'application/fhir+json',
      },
      {
        method: 'POST',
        path: '/api/v1/deid/csv',
        body: {
          csv: 'name,zip,age\nAnn,02139,40\n',
          rules: { columns: { name: 'remove', zip: 'zip3', age: 'age' } },
        },
      },
    ],
  },
  {
    name: 'optimize',
    format: 'native',
    endpoints: [
      { method: 'GET', path: '/api/v1/optimize/templates' },
      { method: 'GET', path: '/api/v1/optimize/templates/:name', params: { name: 'beds' } },
      {
        method: 'POST',
        path: '/api/v1/optimize',
        body: { input: smallModel, timeLimitSeconds: 1 },
      },
      { method: 'POST', path: '/api/v1/optimize/jobs', body: { input: smallModel, timeLimitSeconds: 1 } },
    ],
  },
  {
    name: 'recommend',
    format: 'oip',
    endpoints: [
      {
        method: 'POST',
        path: '/v2/models/:model/recommend',
        params: { model: BREAST },
        body: { patients: [{ id: 'a', features: ['dx:4280'], exclude: ['x'] }], k: 5 },
      },
    ],
  },
  {
    name: 'admin',
    format: 'native',
    endpoints: [
      { method: 'GET', path: '/api/v1/keys' },
      { method: 'POST', path: '/api/v1/keys', body: { name: 'fuzz', role: 'service' } },
      { method: 'DELETE', path: '/api/v1/keys/:id', params: { id: 'key-0' } },
      { method: 'GET', path: '/api/v1/audit' },
      { method: 'GET', path: '/api/v1/audit/verify' },
    ],
  },
  {
    name: 'fhir',
    format: 'fhir',
    endpoints: [
      {
        method: 'POST',
        path: '/fhir/Patient/$predict',
        query: `model=${HEART}`,
        body: FUZZ_BUNDLE,
        contentType: 'application/fhir+json',
      },
      {
        method: 'POST',
        path: '/fhir/Patient/:id/$predict',
        params: { id: 'p1' },
        body: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'model', valueString: HEART },
            { name: 'bundle', resource: FUZZ_BUNDLE },
          ],
        },
        contentType: 'application/fhir+json',
      },
    ],
  },
  {
    name: 'cds',
    format: 'fhir',
    endpoints: [
      { method: 'GET', path: '/cds-services', auth: 'cds' },
      { method: 'POST', path: '/cds-services/:id', params: { id: CDS_SERVICE }, body: cdsCall, auth: 'cds' },
      {
        method: 'POST',
        path: '/cds-services/:id/feedback',
        params: { id: CDS_SERVICE },
        body: {
          feedback: [
            {
              card: '0b0c66cb-1c5b-4f6b-9d3a-6d1c4c7d8e9f',
              outcome: 'overridden',
              overrideReason: { reason: { code: 'patient-refused' }, userComment: 'x' },
              outcomeTimestamp: '2026-11-24T10:05:00Z',
            },
          ],
        },
        auth: 'cds',
      },
      {
        method: 'GET',
        path: '/api/v1/cds-services/:id/feedback',
        params: { id: CDS_SERVICE },
        format: 'native',
      },
    ],
  },
  {
    name: 'observability',
    format: 'native',
    endpoints: [
      { method: 'GET', path: '/metrics' },
      { method: 'GET', path: '/api/v1/openapi.json' },
    ],
  },
];
