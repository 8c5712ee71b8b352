/**
 * CDS client authentication against the demo's CDS service: a call is answered only with a JWT
 * that a trusted client signed with an asymmetric key for exactly the URL called, unexpired,
 * short-lived and not seen before. Every refusal is 401 before any work: the EHR's FHIR server the
 * calls point at is never asked, and the model never runs.
 */
import { readFile } from 'node:fs/promises';
import { SignJWT, base64url, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEART_DEMO_MODEL, loadDemoCdsClient } from '../../src/demo/index.js';
import type { DemoCdsClient } from '../../src/demo/index.js';
import { generateCdsClientKey, signCdsClientJwt } from '../../src/security/index.js';
import { startCdsClient } from '../helpers/cds-client.js';
import type { TestCdsClient } from '../helpers/cds-client.js';
import { startFhirServer } from '../helpers/fhir-server.js';
import type { TestFhirServer } from '../helpers/fhir-server.js';
import { request as httpRequest } from 'node:http';
import { DEFAULT_OUTBOUND } from '../../src/outbound/index.js';
import { createTestServer, freePort } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const HIPOLITO = dataUrl('fhir/Hipolito984_Schulist381_6b9c211c-2c38-3955-43a0-4d285c714fab.json');
const SERVICE = `/cds-services/${HEART_DEMO_MODEL}--production`;

describe('CDS client authentication', () => {
  let server: TestServer;
  let ehr: TestCdsClient;
  let demo: DemoCdsClient;
  let fhirServer: TestFhirServer;
  let hook: Record<string, unknown>;
  let aud: string;

  const post = (token: string | null, path = SERVICE) =>
    server.call('POST', path, { body: hook, key: token });
  const inferences = async () =>
    (await server.call('GET', `/v2/models/${HEART_DEMO_MODEL}/stats`)).body.model_stats[0].inference_count;
  const refused = async (token: string | null, why: RegExp) => {
    const res = await post(token);
    expect(res.status, JSON.stringify(res.body)).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'login' }],
    });
    expect(res.body.issue[0].diagnostics).toMatch(why);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  };
  /** A token with any header and claims, signed with `key` as `alg` says. */
  const forge = async (
    header: Record<string, unknown>,
    claims: Record<string, unknown>,
    key: Parameters<SignJWT['sign']>[0],
  ) => new SignJWT(claims).setProtectedHeader({ alg: 'ES384', ...header }).sign(key);
  const claims = (over: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return { iss: demo.iss, aud, iat: now, exp: now + 120, jti: crypto.randomUUID(), ...over };
  };

  beforeAll(async () => {
    ehr = await startCdsClient();
    const [port, fhirPort] = [await freePort(), await freePort()];
    server = await createTestServer({
      withDemo: true,
      config: {
        port,
        cds: {
          publicUrl: `http://127.0.0.1:${port}`,
          clients: [
            {
              iss: ehr.iss,
              jwksUrl: ehr.jwksUrl,
              jku: [ehr.rotatedUrl],
              fhirServers: [`http://127.0.0.1:${fhirPort}/fhir`],
            },
          ],
        },
        outbound: { ...DEFAULT_OUTBOUND, allowPrivateNetworks: ['127.0.0.1'], allowHttpHosts: ['127.0.0.1'] },
      },
    });
    demo = await loadDemoCdsClient(server.dataDir);
    aud = server.url + SERVICE;
    const bundle = JSON.parse(await readFile(HIPOLITO, 'utf8'));
    fhirServer = await startFhirServer(bundle, 'ehr-token', 5, fhirPort);
    hook = {
      hook: 'patient-view',
      hookInstance: crypto.randomUUID(),
      fhirServer: fhirServer.url,
      fhirAuthorization: { access_token: 'ehr-token', token_type: 'Bearer' },
      context: { userId: 'Practitioner/1', patientId: '6b9c211c-2c38-3955-43a0-4d285c714fab' },
    };
  });
  afterAll(async () => {
    await server.close();
    await fhirServer.close();
    await ehr.close();
  });

  it('refuses every token it must not trust with 401, before fetching data or running the model', async () => {
    const before = await inferences();
    const signingKey = await importJWK(demo.key.privateJwk, 'ES384');
    const kid = demo.key.kid;

    await refused(null, /authentication required/);
    await refused('galen_0123456789abcdef_' + 'a'.repeat(43), /API keys are not accepted here/);
    await refused('not.a.jwt', /not a JWT/);

    // Unsigned: alg "none" and no signature.
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', kid, typ: 'JWT' }))}.${base64url.encode(JSON.stringify(claims()))}.`;
    await refused(none, /alg "none" is not accepted/);
    // HMAC, keyed with the client's public key (the classic algorithm confusion).
    const hmacKey = new TextEncoder().encode(JSON.stringify(demo.key.publicJwk));
    await refused(await forge({ alg: 'HS256', kid }, claims(), hmacKey), /alg "HS256" is not accepted/);
    await refused(await forge({}, claims(), signingKey), /no "kid"/);

    // The URL called, exactly: another service, another host name for the same server, a prefix.
    await refused(
      await signCdsClientJwt(demo.key, { iss: demo.iss, aud: `${aud}--order-select` }),
      /aud must be exactly the URL called/,
    );
    await refused(
      await signCdsClientJwt(demo.key, { iss: demo.iss, aud: aud.replace('127.0.0.1', 'localhost') }),
      /aud must be exactly the URL called/,
    );
    await refused(
      await signCdsClientJwt(demo.key, { iss: demo.iss, aud: server.url }),
      /aud must be exactly the URL called/,
    );

    // Expired ten minutes ago; or claiming to live an hour.
    await refused(
      await signCdsClientJwt(demo.key, { iss: demo.iss, aud }, Date.now() - 15 * 60_000),
      /expired/,
    );
    await refused(
      await forge({ kid }, claims({ exp: Math.floor(Date.now() / 1000) + 3600 }), signingKey),
      /more than 5 minutes ahead/,
    );
    await refused(await forge({ kid }, claims({ jti: undefined }), signingKey), /"jti" is missing/);

    // An issuer nobody configured, and a trusted issuer's name on a token signed by another key.
    const stranger = await generateCdsClientKey();
    await refused(
      await signCdsClientJwt(stranger, { iss: 'https://stranger.example', aud }),
      /issuer "https:\/\/stranger.example" is not a trusted CDS client/,
    );
    await refused(
      await signCdsClientJwt({ ...stranger, kid }, { iss: demo.iss, aud }),
      /signature does not verify/,
    );
    await refused(
      await signCdsClientJwt(stranger, { iss: demo.iss, aud }),
      /no key in the client's JWKS matches/,
    );

    // jku: only URLs on the client's allow-list.
    const jkuKey = await importJWK(ehr.rotatedKey.privateJwk, 'ES384');
    await refused(
      await forge(
        { kid: ehr.rotatedKey.kid, jku: 'https://attacker.example/jwks.json' },
        claims({ iss: ehr.iss }),
        jkuKey,
      ),
      /jku "https:\/\/attacker.example\/jwks.json" is not on the allow-list/,
    );

    // A replay: the same valid token twice. The first call is answered, from the FHIR server
    // the client is configured for.
    const token = await ehr.token(aud);
    expect(fhirServer.requests).toEqual([]);
    expect(await inferences()).toBe(before);
    const first = await post(token);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.cards[0].summary).toMatch(/predicted probability of coronary artery disease/);
    const served = fhirServer.requests.length;
    expect(served).toBeGreaterThan(0);
    await refused(token, /jti ".*" was already used/);
    expect(fhirServer.requests.length).toBe(served);
    expect(await inferences()).toBe(before + 1);

    // Every refusal is in the audit log, with no caller.
    const audit = await server.call('GET', '/api/v1/audit?limit=1000');
    const calls = audit.body.records.filter(
      (r: any) => r.detail?.service === `${HEART_DEMO_MODEL}--production`,
    );
    expect(calls.every((r: any) => r.action === 'infer')).toBe(true);
    expect(calls.filter((r: any) => r.status === 401).every((r: any) => r.keyId === null)).toBe(true);
    expect(calls.find((r: any) => r.status === 200)).toMatchObject({
      keyId: `cds:${ehr.iss}`,
      role: 'service',
      model: HEART_DEMO_MODEL,
      version: 1,
    });
    const statuses = calls.map((r: any) => r.status);
    expect(statuses.filter((s: number) => s === 401)).toHaveLength(17);
    expect(statuses.filter((s: number) => s === 200)).toHaveLength(1);
  });

  it('never takes aud from the Host header the caller sends, even without cds.publicUrl', async () => {
    // Only the demo's own client is trusted here, so cds.publicUrl may be unset: the aud base is
    // the address the server listens on, not a Host header the caller chooses.
    const bare = await createTestServer({ withDemo: true });
    try {
      const client = await loadDemoCdsClient(bare.dataDir);
      // A token minted for another service, replayed with that service's name as Host.
      const token = await signCdsClientJwt(client.key, {
        iss: client.iss,
        aud: `http://cds.elsewhere.example${SERVICE}`,
      });
      const { status, body } = await new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = httpRequest(
          bare.url + SERVICE,
          {
            method: 'POST',
            headers: {
              host: 'cds.elsewhere.example',
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(hook));
      });
      expect(status, JSON.stringify(body)).toBe(401);
      expect(body.resourceType).toBe('OperationOutcome');
      expect(body.issue[0].diagnostics).toMatch(
        /aud must be exactly the URL called, http:\/\/127\.0\.0\.1:\d+\/cds-services/,
      );
    } finally {
      await bare.close();
    }
  });

  it('accepts a configured client through its JWKS URL, and through an allow-listed jku', async () => {
    const viaJwks = await post(await ehr.token(aud));
    expect(viaJwks.status, JSON.stringify(viaJwks.body)).toBe(200);
    const rotated = await forge(
      { kid: ehr.rotatedKey.kid, jku: ehr.rotatedUrl },
      {
        iss: ehr.iss,
        aud,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 60,
        jti: crypto.randomUUID(),
      },
      await importJWK(ehr.rotatedKey.privateJwk, 'ES384'),
    );
    expect((await post(rotated)).status).toBe(200);
    // Keys are fetched once and cached, not per call.
    await post(await ehr.token(aud));
    expect(ehr.fetches).toBe(2);
  });

  it('lets discovery be called with a client JWT or an API key, and feedback only with a JWT', async () => {
    const discovery = `${server.url}/cds-services`;
    const viaJwt = await server.call('GET', '/cds-services', { key: await ehr.token(discovery) });
    expect(viaJwt.status).toBe(200);
    expect(viaJwt.body.services.map((s: any) => s.id)).toContain(`${HEART_DEMO_MODEL}--production`);
    expect((await server.call('GET', '/cds-services')).status).toBe(200); // admin API key
    expect((await server.call('GET', '/cds-services', { key: null })).status).toBe(401);

    const feedback = {
      feedback: [
        { card: crypto.randomUUID(), outcome: 'accepted', outcomeTimestamp: new Date().toISOString() },
      ],
    };
    const path = `${SERVICE}/feedback`;
    expect((await server.call('POST', path, { body: feedback })).status).toBe(401); // API key
    expect((await server.call('POST', path, { body: feedback, key: await ehr.token(aud) })).status).toBe(401);
    const ok = await server.call('POST', path, { body: feedback, key: await ehr.token(server.url + path) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.counts).toEqual({ accepted: 1 });
  });
});
