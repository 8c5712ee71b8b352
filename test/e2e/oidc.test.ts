/**
 * OIDC bearer tokens instead of API keys: a local issuer (its JWKS over HTTP) signs tokens; Galen
 * takes those for its audience, maps the role claim to a role, and refuses the rest with 401 (or
 * 403 when no role maps). Audit records name the token's subject.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OUTBOUND } from '../../src/outbound/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

describe('OIDC bearer tokens', () => {
  let server: TestServer;
  let issuer: string;
  let close: () => Promise<void>;
  let sign: (
    claims: Record<string, unknown>,
    o?: { alg?: string; key?: any; kid?: string },
  ) => Promise<string>;
  const AUDIENCE = 'galen-api';

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const http = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const discovery = req.url === '/realms/h/.well-known/openid-configuration';
      res.end(JSON.stringify(discovery ? { issuer, jwks_uri: `${issuer}/certs` } : { keys: [jwk] }));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}/realms/h`;
    close = () => new Promise((r) => http.close(() => r()));
    sign = (claims, o = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: AUDIENCE, sub: 'user-7', iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: o.alg ?? 'RS256', kid: o.kid ?? 'k1' })
        .sign(o.key ?? privateKey);
    };
    server = await createTestServer({
      withDemo: true,
      config: {
        oidc: {
          issuer,
          audience: AUDIENCE,
          roleClaim: 'realm_access.roles',
          roleMap: { 'galen-dev': 'developer', 'ward-app': 'service', 'galen-admin': 'admin' },
        },
        outbound: { ...DEFAULT_OUTBOUND, allowPrivateNetworks: ['127.0.0.1'], allowHttpHosts: ['127.0.0.1'] },
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await close();
  });

  const asToken = (key: string, path = '/api/v1/models') => server.call('GET', path, { key });

  it('accepts a token of the issuer for Galen, with the role its claim maps to (found by discovery)', async () => {
    const dev = await sign({ realm_access: { roles: ['offline_access', 'galen-dev'] } });
    expect((await asToken(dev)).status).toBe(200);
    const ward = await sign({ sub: 'ward-3', realm_access: { roles: ['ward-app'] } });
    const infer = await server.call('POST', '/v2/models/heart-disease/infer', {
      key: ward,
      body: {
        inputs: ['age', 'sex', 'trestbps', 'chol'].map((name) => ({
          name,
          datatype: 'FP32',
          shape: [1, 1],
          data: [50],
        })),
      },
    });
    expect(infer.status, JSON.stringify(infer.body)).toBe(200);
    // The service role may infer but not register.
    const register = await server.call('POST', '/api/v1/models/x/versions', {
      key: ward,
      body: new Uint8Array([1]),
    });
    expect(register.status).toBe(403);
    // Several roles: the most capable.
    const both = await sign({ realm_access: { roles: ['ward-app', 'galen-admin'] } });
    expect((await asToken(both, '/api/v1/keys')).status).toBe(200);
    const audit = await server.call('GET', '/api/v1/audit?limit=1000');
    const mine = audit.body.records.filter((r: any) => r.keyId === 'oidc:ward-3');
    expect(mine.map((r: any) => [r.action, r.role, r.status])).toEqual([
      ['infer', 'service', 200],
      ['model.register', 'service', 403],
    ]);
  });

  it('refuses tokens it must not trust, saying why', async () => {
    const roles = { realm_access: { roles: ['galen-dev'] } };
    const refused = async (token: string, status: number, why: RegExp) => {
      const res = await asToken(token);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.error).toMatch(why);
    };
    await refused(await sign({ ...roles, aud: 'another-api' }), 401, /claim "aud" is not galen-api/);
    await refused(await sign({ ...roles, iss: 'https://evil.example' }), 401, /claim "iss" is not/);
    const past = Math.floor(Date.now() / 1000) - 3600;
    await refused(await sign({ ...roles, iat: past - 60, exp: past }), 401, /expired/);
    await refused(
      await sign(roles, { alg: 'HS256', key: new TextEncoder().encode('x'.repeat(32)) }),
      401,
      /alg "HS256" is not accepted/,
    );
    const { privateKey: other } = await generateKeyPair('RS256');
    await refused(await sign(roles, { key: other }), 401, /signature does not verify/);
    await refused(
      await sign({ realm_access: { roles: ['nurse'] } }),
      403,
      /realm_access.roles \(nurse\) maps to no Galen role/,
    );
    await refused(await sign({ ...roles, sub: undefined }), 401, /claim "sub" is missing/);
    // API keys still work alongside.
    expect((await server.call('GET', '/api/v1/models')).status).toBe(200);
  });
});

describe('OIDC discovery that fails', () => {
  it('is not retried on every token: the failure is answered again until its back-off ends', async () => {
    let discoveries = 0;
    const http = createServer((_req, res) => {
      discoveries++;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}/realms/down`;
    const server = await createTestServer({
      config: {
        oidc: { issuer, audience: 'galen-api', roleClaim: 'roles', roleMap: { dev: 'developer' } },
        outbound: { ...DEFAULT_OUTBOUND, allowPrivateNetworks: ['127.0.0.1'], allowHttpHosts: ['127.0.0.1'] },
      },
    });
    try {
      const { privateKey } = await generateKeyPair('RS256');
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ iss: issuer, aud: 'galen-api', sub: 'u', iat: now, exp: now + 300 })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .sign(privateKey);
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await server.call('GET', '/api/v1/models', { key: token }));
      expect(answers.map((a) => a.status)).toEqual([503, 503, 503, 503, 503]);
      expect(answers[0]!.body.error).toMatch(
        /cannot read the OIDC issuer's discovery document .*: it answered 500; set oidc.jwksUrl/,
      );
      const seconds = /\(tried again in (\d+) s\)/.exec(answers[4]!.body.error)?.[1];
      expect(seconds).toBeDefined();
      // Each refusal says when the discovery is tried again: its back-off (5 s first), then what is left of it.
      expect(answers[0]!.headers.get('retry-after')).toBe('5');
      expect(answers[4]!.headers.get('retry-after')).toBe(seconds);
      expect(discoveries).toBe(1);
    } finally {
      await server.close();
      await new Promise((r) => http.close(r));
    }
  });
});
