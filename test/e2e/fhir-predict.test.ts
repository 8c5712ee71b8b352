/**
 * The FHIR operation end to end: a logistic model trained by Galen on the Cleveland heart data,
 * a feature map that builds its inputs from FHIR (age and sex from Patient, systolic pressure
 * from the blood-pressure panel, heart rate over a year, the rest left to the model's
 * imputation), and `POST /fhir/Patient/$predict` with a Synthea patient's Bundle answering a
 * RiskAssessment whose probability is what the model gives for those values over OIP. Errors are
 * OperationOutcome.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ageOn } from '../../src/fhir/index.js';
import { startCdsClient } from '../helpers/cds-client.js';
import { CLEVELAND_INPUTS, trainHeart, uploadHeart } from '../helpers/cleveland.js';
import type { TestCdsClient } from '../helpers/cds-client.js';
import { startFhirServer } from '../helpers/fhir-server.js';
import { DEFAULT_OUTBOUND } from '../../src/outbound/index.js';
import { createTestServer, freePort } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const SHARED = dataUrl('');
const HIPOLITO = 'fhir/Hipolito984_Schulist381_6b9c211c-2c38-3955-43a0-4d285c714fab.json';
const ROLAND = 'fhir/Roland928_Nienow652_13b1a0f2-dceb-37a2-f32b-f0ca6e3b9925.json';
const LOINC = 'http://loinc.org';
const COLUMNS = CLEVELAND_INPUTS;

/** Inputs Synthea does not record: an absent code, left to the model's imputation. */
const absent = { source: { from: 'observation', codes: [{ system: LOINC, code: '0000-0' }] } };
const featureMap = {
  inputs: {
    ...Object.fromEntries(COLUMNS.map((c) => [c, absent])),
    age: { source: { from: 'patient', field: 'age' } },
    sex: { source: { from: 'patient', field: 'sex' }, values: { male: 1, female: 0 } },
    trestbps: {
      source: {
        from: 'observation',
        codes: [{ system: LOINC, code: '85354-9' }],
        component: { system: LOINC, code: '8480-6' },
        aggregate: 'latest',
        unit: 'mm[Hg]',
      },
    },
    thalach: {
      source: { from: 'observation', codes: [{ system: LOINC, code: '8867-4' }], aggregate: 'max' },
    },
  },
};

describe('FHIR $predict', () => {
  let server: TestServer;
  let ehr: TestCdsClient;
  /** The EHR's FHIR server the CDS client is configured for (started by the test that uses it). */
  let fhirPort: number;
  let fhirServerUrl: string;
  /** A CDS Hooks call as the EHR makes it: a fresh JWT for the exact URL. */
  const cds = async (path: string, body: unknown) =>
    server.call('POST', path, { body, key: await ehr.token(server.url + path) });
  const fhir = async (path: string, body: unknown, key?: string | null) =>
    server.call('POST', path, {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      contentType: 'application/fhir+json',
      ...(key !== undefined && { key }),
    });
  beforeAll(async () => {
    ehr = await startCdsClient();
    fhirPort = await freePort();
    fhirServerUrl = `http://127.0.0.1:${fhirPort}/fhir`;
    const port = await freePort();
    server = await createTestServer({
      config: {
        port,
        cds: {
          publicUrl: `http://127.0.0.1:${port}`,
          clients: [{ iss: ehr.iss, jwksUrl: ehr.jwksUrl, jku: [], fhirServers: [fhirServerUrl] }],
        },
        outbound: { ...DEFAULT_OUTBOUND, allowPrivateNetworks: ['127.0.0.1'], allowHttpHosts: ['127.0.0.1'] },
      },
    });
    await uploadHeart(server);
    await trainHeart(server, 'heart');
  });
  afterAll(async () => {
    await server.close();
    await ehr.close();
  });

  it('stores a feature map checked against the signature, and refuses one that cannot feed the model', async () => {
    const put = await server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', { body: featureMap });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(
      (await server.call('GET', '/api/v1/models/heart/versions/1/feature-map')).body.map.inputs.age,
    ).toEqual({
      source: { from: 'patient', field: 'age' },
      missing: { policy: 'missing' },
    });
    const bad = await server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', {
      body: { inputs: { ...featureMap.inputs, bmi: { source: { from: 'patient', field: 'age' } } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(
      /feature map input "bmi": the model has no such input; its inputs are age, sex/,
    );
  });

  it('refuses at the edge what the documented schema does not allow, naming what it does', async () => {
    const put = (body: unknown) =>
      server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', { body });
    const withAge = (age: unknown, extra: Record<string, unknown> = {}) => ({
      ...extra,
      inputs: { ...featureMap.inputs, age },
    });
    for (const [body, why] of [
      [
        { ...featureMap, tresholds: { warning: 0.2, critical: 0.5 } },
        /body must NOT have additional properties \("tresholds"\)/,
      ],
      [
        withAge({ source: { from: 'lab' } }),
        /body\/inputs\/age\/source\/from must be equal to one of the allowed values: patient, observation, condition, fhirpath/,
      ],
      [
        withAge({
          source: { from: 'observation', codes: [{ system: LOINC, code: '2093-3' }], aggregate: 'median' },
        }),
        /body\/inputs\/age\/source\/aggregate must be equal to one of the allowed values: latest, earliest, mean, min, max, count, exists/,
      ],
      [
        withAge({ source: { from: 'observation', code: { system: LOINC, code: '2093-3' } } }),
        /body\/inputs\/age\/source must have required property 'codes'/,
      ],
      [
        withAge({ source: { from: 'patient', field: 'age' }, missing: { policy: 'value' } }),
        /body\/inputs\/age\/missing must have required property 'value'/,
      ],
      [
        withAge({ source: { from: 'patient', field: 'age', window: 'P1Y' } }),
        /body\/inputs\/age\/source must NOT have additional properties \("window"\)/,
      ],
    ] as const) {
      const res = await put(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatch(why);
    }

    // The OpenAPI document describes each kind of source, told apart by "from".
    const doc = (await server.call('GET', '/api/v1/openapi.json')).body;
    const body =
      doc.paths['/api/v1/models/{model}/versions/{version}/feature-map'].put.requestBody.content[
        'application/json'
      ].schema;
    const source = body.properties.inputs.additionalProperties.properties.source;
    expect(source.discriminator).toEqual({ propertyName: 'from' });
    expect(source.oneOf.map((s: any) => s.properties.from.enum[0])).toEqual([
      'patient',
      'observation',
      'condition',
      'fhirpath',
    ]);
    expect(Object.keys(source.oneOf[1].properties)).toEqual([
      'from',
      'codes',
      'component',
      'aggregate',
      'window',
      'unit',
    ]);
  });

  it("answers a RiskAssessment for a Synthea patient, with the model's own probability", async () => {
    const bundle = JSON.parse(await readFile(new URL(HIPOLITO, SHARED), 'utf8'));
    const res = await fhir('/fhir/Patient/$predict?model=heart', bundle);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    const ra = res.body;
    expect(ra).toMatchObject({
      resourceType: 'RiskAssessment',
      status: 'final',
      subject: { reference: 'Patient/6b9c211c-2c38-3955-43a0-4d285c714fab' },
      method: { coding: [{ system: 'urn:galen:model', code: 'heart:1' }] },
    });
    expect(Date.parse(ra.occurrenceDateTime)).toBeGreaterThan(Date.now() - 60_000);
    expect(ra.prediction).toHaveLength(1);
    expect(ra.prediction[0].outcome.text).toBe('true');
    const basis = ra.basis.map((b: any) => b.reference);
    expect(basis).toContain('Patient/6b9c211c-2c38-3955-43a0-4d285c714fab');
    expect(basis.filter((b: string) => b.startsWith('Observation/'))).toHaveLength(2); // BP panel, heart rate
    expect(ra.note[0].text).toMatch(/^No data for cp, chol, fbs, restecg, exang, oldpeak, slope, ca, thal/);
    // Why: the three largest exact Shapley values (the version has an explainer from training).
    expect(ra.prediction[0].rationale).toMatch(
      /^Main contributions to the log-odds of true, against 100 training rows \(exact Shapley values\): (\w+ (no data|[\d.]+) \([+−]\d+\.\d\d\)(, |\.$)){3}/,
    );

    // The RiskAssessment's id is the prediction's: an outcome observed later is given as a label by it.
    expect(ra.id).toMatch(/^[0-9a-f-]{36}$/);
    const labelled = await server.call('POST', '/api/v1/models/heart/monitoring/labels', {
      body: { labels: [{ id: ra.id, label: 'true' }] },
    });
    expect(labelled.body).toMatchObject({ accepted: 1, unmatched: [], rejected: [] });

    // The same values over OIP give the same probability.
    const values: Record<string, number | null> = Object.fromEntries(COLUMNS.map((c) => [c, null]));
    Object.assign(values, {
      age: ageOn('2009-05-02', new Date(ra.occurrenceDateTime))!,
      sex: 1,
      trestbps: 138,
      thalach: 81.245,
    });
    const oip = await server.call('POST', '/v2/models/heart/infer', {
      body: {
        inputs: COLUMNS.map((c) => ({ name: c, datatype: 'FP32', shape: [1, 1], data: [values[c]] })),
        outputs: [{ name: 'probabilities' }],
      },
    });
    expect(oip.status, JSON.stringify(oip.body)).toBe(200);
    expect(ra.prediction[0].probabilityDecimal).toBeCloseTo(oip.body.outputs[0].data[1], 5);
  });

  it('takes a Parameters body and the instance-level Patient/{id}/$predict, and words the outcome as the map says', async () => {
    const bundle = JSON.parse(await readFile(new URL(HIPOLITO, SHARED), 'utf8'));
    const byQuery = await fhir('/fhir/Patient/$predict?model=heart', bundle);
    const parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'model', valueString: 'heart' },
        { name: 'version', valueString: '1' },
        { name: 'bundle', resource: bundle },
      ],
    };
    const byParameters = await fhir('/fhir/Patient/$predict', parameters);
    expect(byParameters.status, JSON.stringify(byParameters.body)).toBe(200);
    expect(byParameters.body.prediction).toEqual(byQuery.body.prediction);
    const instance = await fhir(
      '/fhir/Patient/6b9c211c-2c38-3955-43a0-4d285c714fab/$predict?model=heart',
      bundle,
    );
    expect(instance.status, JSON.stringify(instance.body)).toBe(200);
    expect(instance.body.prediction).toEqual(byQuery.body.prediction);

    const worded = { ...featureMap, outcome: 'coronary artery disease' };
    expect(
      (await server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', { body: worded })).status,
    ).toBe(200);
    const words = await fhir('/fhir/Patient/$predict?model=heart', bundle);
    expect(words.body.prediction[0].outcome.text).toBe('coronary artery disease');
    for (const [thresholds, why] of [
      [{ warning: 0.9, critical: 0.1 }, /0 <= p <= q <= 1/],
      [{ warning: 0.2 }, /thresholds must have required property 'critical'/],
    ] as const) {
      const bad = await server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', {
        body: { ...featureMap, thresholds },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatch(why);
    }
    const badLink = await server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', {
      body: { ...featureMap, links: [{ label: 'x', url: 'javascript:alert(1)' }] },
    });
    expect(badLink.status).toBe(400);
    expect(badLink.body.error).toMatch(/body\/links\/0\/url must match pattern "\^https\?:\/\/"/);
  });

  it('answers bad requests with an OperationOutcome', async () => {
    const outcome = (res: { status: number; body: any }, status: number, diagnostics: RegExp) => {
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].severity).toBe('error');
      expect(res.body.issue[0].diagnostics).toMatch(diagnostics);
    };
    outcome(
      await fhir('/fhir/Patient/$predict?model=heart', '{"resourceType": "Bundle", '),
      400,
      /not valid JSON/,
    );
    outcome(
      await fhir('/fhir/Patient/$predict?model=heart', { resourceType: 'Patient', id: 'x' }),
      400,
      /expected a Bundle, got resourceType "Patient"/,
    );
    outcome(
      await fhir('/fhir/Patient/$predict?model=heart', {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [],
      }),
      400,
      /holds 0 Patient resources/,
    );
    // Observations must be about the Bundle's patient: none without a subject, none of another's.
    const hipolito = JSON.parse(await readFile(new URL(HIPOLITO, SHARED), 'utf8'));
    const observationAt = hipolito.entry.findIndex((e: any) => e.resource.resourceType === 'Observation');
    const withSubject = (subject: unknown) => ({
      ...hipolito,
      entry: hipolito.entry.map((e: any, i: number) =>
        i === observationAt ? { ...e, resource: { ...e.resource, subject } } : e,
      ),
    });
    outcome(
      await fhir('/fhir/Patient/$predict?model=heart', withSubject(undefined)),
      400,
      new RegExp(`the Observation in Bundle\\.entry\\[${observationAt}\\] has no subject`),
    );
    outcome(
      await fhir('/fhir/Patient/$predict?model=heart', withSubject({ reference: 'Patient/someone-else' })),
      400,
      /is about another subject than the Bundle's Patient/,
    );
    outcome(await fhir('/fhir/Patient/$predict', hipolito), 400, /name the model: \?model=<name>/);
    outcome(
      await fhir('/fhir/Patient/$predict', { resourceType: 'Parameters', parameter: [] }),
      400,
      /no "bundle" parameter/,
    );
    outcome(
      await fhir('/fhir/Patient/not-him/$predict?model=heart', hipolito),
      400,
      /^the operation was called on the Patient its URL names, but the Bundle's Patient has another id; send that patient's Bundle/,
    );
    outcome(await fhir('/fhir/Patient/$predict?model=nope', { resourceType: 'Bundle' }), 404, /nope/);
    outcome(await fhir('/fhir/Patient/$predict?model=heart', { resourceType: 'Bundle' }, null), 401, /./);

    // A required input with no data: refused, saying which.
    const required = {
      inputs: {
        ...featureMap.inputs,
        thalach: { ...featureMap.inputs.thalach, missing: { policy: 'refuse' } },
      },
    };
    expect(
      (await server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', { body: required })).status,
    ).toBe(200);
    const roland = JSON.parse(await readFile(new URL(ROLAND, SHARED), 'utf8'));
    outcome(
      await fhir('/fhir/Patient/$predict?model=heart', roland),
      412,
      /required data unavailable: .* nothing for thalach/,
    );
  });

  it('publishes CDS Hooks services with prefetch from the map, and answers a patient-view call with a card', async () => {
    expect(
      (await server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', { body: featureMap })).status,
    ).toBe(200);
    expect((await server.call('GET', '/cds-services')).body.services).toEqual([]); // no alias yet
    expect(
      (await server.call('PUT', '/api/v1/models/heart/aliases/production', { body: { version: 1 } })).status,
    ).toBe(200);
    const services = (await server.call('GET', '/cds-services')).body.services;
    expect(services.map((s: any) => [s.id, s.hook])).toEqual([
      ['heart--production', 'patient-view'],
      ['heart--production--order-select', 'order-select'],
    ]);
    expect(services[0].prefetch).toEqual({
      patient: 'Patient/{{context.patientId}}',
      observations: `Observation?patient={{context.patientId}}&code=${LOINC}|0000-0,${LOINC}|85354-9,${LOINC}|8867-4`,
    });

    const bundle = JSON.parse(await readFile(new URL(HIPOLITO, SHARED), 'utf8'));
    const resources = bundle.entry.map((e: any) => e.resource);
    const patient = resources.find((r: any) => r.resourceType === 'Patient');
    const observations = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: resources
        .filter((r: any) => r.resourceType === 'Observation')
        .map((resource: any) => ({ resource })),
    };
    const call = (body: unknown) => cds('/cds-services/heart--production', body);
    const hook = {
      hook: 'patient-view',
      hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
      context: { userId: 'Practitioner/1', patientId: patient.id },
    };
    const answer = await call({ ...hook, prefetch: { patient, observations } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const card = answer.body.cards[0];
    expect(card.summary).toMatch(/^\d+% predicted probability of true$/);
    expect(['info', 'warning', 'critical']).toContain(card.indicator);
    expect(card.source).toMatchObject({
      label: 'Galen',
      topic: { system: 'urn:galen:model', code: 'heart:1' },
    });
    expect(card.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(card.detail).toContain('Main contributions to the log-odds of true');
    const direct = await fhir('/fhir/Patient/$predict?model=heart', bundle);
    expect(card.summary).toBe(
      `${Math.round(direct.body.prediction[0].probabilityDecimal * 100)}% predicted probability of true`,
    );

    // The indicator follows the version's thresholds; but this patient is 17, younger than every
    // training row, so the answer is an extrapolation and never below a warning.
    expect(direct.body.note.map((n: any) => n.text)).toContainEqual(
      expect.stringMatching(/^Outside the training data: age=17 below training range \d+–\d+/),
    );
    const p = direct.body.prediction[0].probabilityDecimal;
    for (const [thresholds, indicator] of [
      [{ warning: p / 2, critical: p }, 'critical'],
      [{ warning: p, critical: Math.min(1, p * 2) }, 'warning'],
      [{ warning: Math.min(1, p * 1.5), critical: Math.min(1, p * 2) }, 'warning'],
    ] as const) {
      const map = {
        ...featureMap,
        thresholds,
        links: [{ label: 'Model documentation', url: 'https://intranet.example/heart' }],
      };
      expect(
        (await server.call('PUT', '/api/v1/models/heart/versions/1/feature-map', { body: map })).status,
      ).toBe(200);
      const carded = (await call({ ...hook, prefetch: { patient, observations } })).body.cards[0];
      expect(carded.indicator).toBe(indicator);
      expect(carded.links).toEqual([
        { label: 'Model documentation', url: 'https://intranet.example/heart', type: 'absolute' },
      ]);
    }

    const noPrefetch = await call(hook);
    expect(noPrefetch.status).toBe(412);
    expect(noPrefetch.body.resourceType).toBe('OperationOutcome');
    expect(noPrefetch.body.issue[0].diagnostics).toMatch(
      /prefetch patient, observations is missing and the request names no fhirServer/,
    );
    const wrongHook = await call({ ...hook, hook: 'order-sign', prefetch: { patient, observations } });
    expect(wrongHook.status).toBe(400);
    expect((await cds('/cds-services/nope', hook)).status).toBe(404);

    // No prefetch: the service queries the EHR's FHIR server with the hook's token.
    const fhirServer = await startFhirServer(bundle, 'token-123', 1, fhirPort);
    try {
      const fetched = await call({
        ...hook,
        fhirServer: fhirServer.url,
        fhirAuthorization: {
          access_token: 'token-123',
          token_type: 'Bearer',
          expires_in: 300,
          scope: 'patient/*.read',
          subject: 'galen',
        },
      });
      expect(fetched.status, JSON.stringify(fetched.body)).toBe(200);
      expect(fetched.body.cards[0].summary).toBe(card.summary);
      expect(fhirServer.requests[0]).toBe(`/fhir/Patient/${patient.id}`);
      expect(fhirServer.requests.filter((r) => r.startsWith('/fhir/Observation')).length).toBe(2); // two matching, one per page
      const refused = await call({
        ...hook,
        fhirServer: fhirServer.url,
        fhirAuthorization: { access_token: 'wrong' },
      });
      expect(refused.status).toBe(412);
      expect(JSON.stringify(refused.body)).toMatch(
        /prefetch \\"patient\\" is missing and could not be fetched from the EHR's FHIR server; send it as prefetch/,
      );
    } finally {
      await fhirServer.close();
    }

    const feedback = await cds('/cds-services/heart--production/feedback', {
      feedback: [
        { card: card.uuid, outcome: 'accepted', outcomeTimestamp: '2026-11-24T10:00:00Z' },
        {
          card: card.uuid,
          outcome: 'overridden',
          overrideReason: { reason: { code: 'patient-refused' } },
          outcomeTimestamp: '2026-11-24T10:05:00Z',
        },
      ],
    });
    expect(feedback.status, JSON.stringify(feedback.body)).toBe(200);
    expect(feedback.body.counts).toEqual({ accepted: 1, overridden: 1 });
    expect((await server.call('GET', '/api/v1/cds-services/heart--production/feedback')).body.counts).toEqual(
      {
        accepted: 1,
        overridden: 1,
      },
    );
    const badFeedback = await cds('/cds-services/heart--production/feedback', {
      feedback: [{ card: card.uuid, outcome: 'liked' }],
    });
    expect(badFeedback.status).toBe(400);
    expect(badFeedback.body.issue[0]).toMatchObject({
      code: 'invalid',
      diagnostics: expect.stringMatching(/feedback\[0\] needs "card"/),
    });
  });
});
