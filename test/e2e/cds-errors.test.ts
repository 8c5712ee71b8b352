/**
 * CDS Hooks errors as an EHR sees them: every refusal on `/cds-services` (discovery, service calls,
 * feedback, unknown paths under it) is a FHIR OperationOutcome whose issue says what went wrong
 * (`diagnostics`) and of what kind (an issue type from FHIR's value set), sent as `application/json`
 * like every CDS Hooks answer — whether the security hooks, the schema, the body parser, the size
 * check, the router or the CDS service refused it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEART_DEMO_MODEL, loadDemoCdsClient } from '../../src/demo/index.js';
import type { DemoCdsClient } from '../../src/demo/index.js';
import { RemoteGalen } from '../../src/cli/remote-client.js';
import { signCdsClientJwt } from '../../src/security/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import type { CallOptions, CallResult } from '../helpers/http-call.js';

const SERVICE = `/cds-services/${HEART_DEMO_MODEL}--production`;
const BODY_LIMIT = 4096;

/** Asserts `res` is one OperationOutcome issue of `code` whose diagnostics match `why`. */
function expectOutcome(res: CallResult, status: number, code: string, why: RegExp): void {
  const shown = JSON.stringify(res.body);
  expect(res.status, shown).toBe(status);
  expect(res.headers.get('content-type'), shown).toBe('application/json');
  expect(res.body, shown).toMatchObject({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code }],
  });
  expect(res.body.issue, shown).toHaveLength(1);
  expect(res.body.issue[0].diagnostics, shown).toMatch(why);
  expect(res.body.error, 'no native error fields beside the OperationOutcome').toBeUndefined();
}

describe('CDS Hooks errors', () => {
  let server: TestServer;
  let demo: DemoCdsClient;
  let hook: Record<string, unknown>;

  /** A fresh token of the demo CDS client for exactly `path` on this server. */
  const token = (path: string) => signCdsClientJwt(demo.key, { iss: demo.iss, aud: server.url + path });
  const callAs = async (method: string, path: string, o: CallOptions = {}) =>
    server.call(method, path, { key: await token(path), ...o });

  beforeAll(async () => {
    server = await createTestServer({
      withDemo: true,
      config: { http: { ...loadConfig({ env: {} }).http, bodyLimitBytes: BODY_LIMIT } },
    });
    demo = await loadDemoCdsClient(server.dataDir);
    hook = {
      hook: 'patient-view',
      hookInstance: crypto.randomUUID(),
      context: { userId: 'Practitioner/1', patientId: 'p1' },
    };
  });
  afterAll(() => server.close());

  it('answers a call without credentials, or with a bad one, with a login OperationOutcome (401)', async () => {
    const none = await server.call('POST', SERVICE, { body: hook, key: null });
    expectOutcome(
      none,
      401,
      'login',
      /authentication required: send "Authorization: Bearer <JWT> signed by a trusted CDS client \(CDS Hooks 2\.0\)"/,
    );
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);

    expectOutcome(
      await server.call('POST', SERVICE, { body: hook, key: 'not.a.jwt' }),
      401,
      'login',
      /not a JWT/,
    );
    // An API key where CDS Hooks needs a client's JWT.
    expectOutcome(
      await server.call('POST', SERVICE, { body: hook }),
      401,
      'login',
      /API keys are not accepted here/,
    );
    // A good signature for another URL.
    const elsewhere = await token(`${SERVICE}--order-select`);
    expectOutcome(
      await server.call('POST', SERVICE, { body: hook, key: elsewhere }),
      401,
      'login',
      /aud must be exactly the URL called/,
    );
    // Discovery and feedback are refused the same way.
    expectOutcome(
      await server.call('GET', '/cds-services', { key: null }),
      401,
      'login',
      /send "Authorization: Bearer <JWT> signed by a trusted CDS client, or "Bearer <API key>"/,
    );
    expectOutcome(
      await server.call('GET', '/cds-services', { headers: { authorization: 'Basic x' }, key: null }),
      401,
      'login',
      /the Authorization header must be "Bearer <JWT> signed by a trusted CDS client/,
    );
    expectOutcome(
      await server.call('POST', `${SERVICE}/feedback`, { body: { feedback: [] }, key: 'not.a.jwt' }),
      401,
      'login',
      /not a JWT/,
    );
  });

  it('answers a FHIR server the client may not name with a forbidden OperationOutcome (403)', async () => {
    // The demo client names no FHIR servers: data it does not send cannot be fetched for it.
    const res = await callAs('POST', SERVICE, { body: { ...hook, fhirServer: 'https://ehr.example/fhir' } });
    expectOutcome(res, 403, 'forbidden', /is not a FHIR server CDS client .* may name/);
  });

  it('answers an unknown service, and unknown paths under /cds-services, with not-found (404)', async () => {
    expectOutcome(
      await callAs('POST', '/cds-services/no-such-service', { body: hook }),
      404,
      'not-found',
      /there is no CDS service "no-such-service"; GET \/cds-services lists them/,
    );
    expectOutcome(
      await callAs('POST', '/cds-services/no-such-service/feedback', { body: { feedback: [] } }),
      404,
      'not-found',
      /there is no CDS service "no-such-service"/,
    );
    // (Authenticated like every path, so that unknown paths reveal nothing to a stranger.)
    expectOutcome(await server.call('GET', SERVICE), 404, 'not-found', /no endpoint GET \/cds-services\//);
    expectOutcome(
      await server.call('GET', '/cds-services/%zz', { key: null }),
      400,
      'invalid',
      /the URL path has an invalid %-encoding/,
    );
  });

  it('answers a malformed body with an invalid OperationOutcome (400) naming what is wrong', async () => {
    expectOutcome(
      await callAs('POST', SERVICE, { body: '{"hook": "patient-view",' }),
      400,
      'invalid',
      /the request body is not valid JSON/,
    );
    expectOutcome(await callAs('POST', SERVICE, { body: [hook] }), 400, 'invalid', /body must be object/);
    expectOutcome(await callAs('POST', SERVICE, { body: '' }), 400, 'invalid', /the request body is empty/);
    expectOutcome(
      await callAs('POST', SERVICE, { body: JSON.stringify(hook), contentType: 'application/xml' }),
      400,
      'invalid',
      /send application\/json/,
    );
    expectOutcome(
      await callAs('POST', SERVICE, { body: { ...hook, hook: 'order-select' } }),
      400,
      'invalid',
      /answers the patient-view hook, not "order-select"/,
    );
    expectOutcome(
      await callAs('POST', SERVICE, { body: { ...hook, prefetch: 7 } }),
      400,
      'invalid',
      /prefetch is a number; it is an object of FHIR resources by prefetch key/,
    );
    expectOutcome(
      await callAs('POST', `${SERVICE}/feedback`, { body: { feedback: 'yes' } }),
      400,
      'invalid',
      /feedback/,
    );
  });

  it('answers data it cannot obtain with 412, as CDS Hooks asks', async () => {
    expectOutcome(
      await callAs('POST', SERVICE, { body: hook }),
      412,
      'incomplete',
      /prefetch .* is missing and the request names no fhirServer/,
    );
  });

  it('answers a body over the limit with a too-costly OperationOutcome (413), declared or streamed', async () => {
    const big = JSON.stringify({ ...hook, padding: 'x'.repeat(BODY_LIMIT) });
    expectOutcome(
      await callAs('POST', SERVICE, { body: big }),
      413,
      'too-costly',
      new RegExp(`Content-Length\\); this endpoint accepts at most ${BODY_LIMIT} bytes`),
    );
    // Sent chunked, with no Content-Length: cut while reading.
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const res = await fetch(server.url + SERVICE, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(SERVICE)}`, 'content-type': 'application/json' },
      body: streamed,
      duplex: 'half',
    });
    expectOutcome(
      { status: res.status, headers: res.headers, body: await res.json() },
      413,
      'too-costly',
      /the request body is larger than this endpoint allows/,
    );
  });

  it("is read by the CLI's client, which shows the diagnostics (galen cds call)", async () => {
    const remote = RemoteGalen.withoutKey(server.url);
    await expect(remote.callWithToken('not.a.jwt', 'GET', '/cds-services')).rejects.toThrow(/not a JWT/);
    await expect(
      remote.callWithToken(await token('/cds-services/nope'), 'POST', '/cds-services/nope', hook),
    ).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/no CDS service "nope"/) });
  });

  it('keeps the native format for the native API beside it', async () => {
    for (const res of [
      await server.call('GET', `/api/v1/cds-services/${HEART_DEMO_MODEL}--production/feedback`, {
        key: 'wrong',
      }),
      await server.call('GET', '/cds-services-elsewhere'),
    ]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.body).toMatchObject({ error: expect.any(String), code: expect.any(String) });
      expect(res.body.resourceType).toBeUndefined();
    }
  });
});
