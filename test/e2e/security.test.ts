/**
 * Authentication, roles and the audit trail over the real HTTP server: no key → 401, each role
 * limited to its permissions, `production` reserved for approvers, every audited call recorded
 * without payloads.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const onnx = new Uint8Array(readFileSync(new URL('../fixtures/pytorch/wdbc_mlp.onnx', import.meta.url)));
const row = Array.from({ length: 30 }, (_, i) => 0.123456 + i);
const infer = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: row }] };

describe('security', () => {
  let server: TestServer;
  let keys: Record<'developer' | 'approver' | 'service' | 'auditor', string>;

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
    keys = {
      developer: await server.key('developer'),
      approver: await server.key('approver'),
      service: await server.key('service'),
      auditor: await server.key('auditor'),
    };
  });
  afterAll(async () => server.close());

  it('leaves only liveness and readiness open', async () => {
    expect((await server.call('GET', '/v2/health/live', { key: null })).status).toBe(200);
    expect((await server.call('GET', '/v2/health/ready', { key: null })).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/v2'],
      ['GET', '/v2/models/breast-cancer'],
      ['POST', '/v2/models/breast-cancer/infer'],
      ['GET', '/v2/models/stats'],
      ['POST', '/v2/repository/index'],
      ['GET', '/api/v1/models'],
      ['GET', '/api/v1/openapi.json'],
      ['GET', '/metrics'],
      ['GET', '/api/v1/audit'],
      ['GET', '/no/such/route'],
    ] as const) {
      const res = await server.call(method, path, { key: null, ...(method === 'POST' && { body: infer }) });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.body.error).toMatch(/Authorization: Bearer/);
    }
  });

  it('refuses wrong, malformed and revoked keys alike', async () => {
    const made = await server.call('POST', '/api/v1/keys', {
      body: { name: 'short-lived', role: 'service' },
    });
    expect(made.status).toBe(201);
    const key = made.body.key as string;
    expect((await server.call('GET', '/v2/models/breast-cancer', { key })).status).toBe(200);
    expect((await server.call('DELETE', `/api/v1/keys/${made.body.info.id}`)).status).toBe(200);
    for (const bad of [
      key,
      `${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`,
      'not-a-key',
      'galen_0000000000000000_' + 'a'.repeat(43),
    ]) {
      expect((await server.call('GET', '/v2/models/breast-cancer', { key: bad })).status).toBe(401);
    }
    const list = await server.call('GET', '/api/v1/keys');
    expect(JSON.stringify(list.body)).not.toContain(key.slice('galen_'.length + 17));
  });

  it('lets a service key infer and read metadata, and nothing else', async () => {
    const key = keys.service;
    expect((await server.call('POST', '/v2/models/breast-cancer/infer', { key, body: infer })).status).toBe(
      200,
    );
    expect((await server.call('GET', '/v2/models/breast-cancer', { key })).status).toBe(200);
    const register = await server.call('POST', '/api/v1/models/x/versions', { key, body: onnx });
    expect(register.status).toBe(403);
    expect(register.body.error).toMatch(/role "service" may not/);
    const alias = await server.call('PUT', '/api/v1/models/breast-cancer/aliases/staging', {
      key,
      body: { version: 1 },
    });
    expect(alias.status).toBe(403);
    expect((await server.call('POST', '/v2/repository/models/breast-cancer/unload', { key })).status).toBe(
      403,
    );
    expect((await server.call('GET', '/api/v1/keys', { key })).status).toBe(403);
    expect((await server.call('GET', '/api/v1/audit', { key })).status).toBe(403);
  });

  it('reserves production for approvers and other aliases for developers', async () => {
    const up = await server.call('POST', '/api/v1/models/gated/versions', {
      key: keys.developer,
      body: onnx,
    });
    expect(up.status).toBe(201);
    const move = (key: string, alias: string): Promise<{ status: number; body: any }> =>
      server.call('PUT', `/api/v1/models/gated/aliases/${alias}`, { key, body: { version: 1 } });

    expect((await move(keys.developer, 'staging')).status).toBe(200);
    const devProd = await move(keys.developer, 'production');
    expect(devProd.status).toBe(403);
    expect(devProd.body.error).toMatch(/production.*admin, approver/);
    expect((await move(keys.approver, 'staging')).status).toBe(403);
    expect((await move(keys.approver, 'production')).status).toBe(200);
    expect(
      (await server.call('DELETE', '/api/v1/models/gated/aliases/production', { key: keys.developer }))
        .status,
    ).toBe(403);
    // A version under an alias cannot be archived, and approvers cannot register.
    expect(
      (await server.call('POST', '/api/v1/models/gated/versions/1/archive', { key: keys.developer })).status,
    ).toBe(409);
    expect(
      (await server.call('POST', '/api/v1/models/gated/versions', { key: keys.approver, body: onnx })).status,
    ).toBe(403);
  });

  it('records audited calls, allowed or denied, with no payload, in a verifiable chain', async () => {
    const before = await server.call('GET', '/api/v1/audit?limit=1000', { key: keys.auditor });
    expect(before.status).toBe(200);
    const start = before.body.records.at(-1)?.seq ?? 0;

    const ok = await server.call('POST', '/v2/models/breast-cancer/infer', {
      key: keys.service,
      body: infer,
      headers: { 'x-request-id': 'audit-trace-1' },
    });
    expect(ok.headers.get('x-request-id')).toBe('audit-trace-1');
    await server.call('POST', '/v2/models/breast-cancer/infer', { key: null, body: infer });
    await server.call('POST', '/api/v1/models/x/versions', { key: keys.service, body: onnx });

    const after = await server.call('GET', `/api/v1/audit?after=${start}`, { key: keys.auditor });
    const records = after.body.records as any[];
    expect(records.map((r) => [r.action, r.status, r.role])).toEqual([
      ['infer', 200, 'service'],
      ['infer', 401, null],
      ['model.register', 403, 'service'],
    ]);
    expect(records[0]).toMatchObject({ model: 'breast-cancer', version: 1, requestId: 'audit-trace-1' });
    expect(JSON.stringify(after.body)).not.toContain('0.123456');

    const verify = await server.call('GET', '/api/v1/audit/verify', { key: keys.auditor });
    expect(verify.body.ok).toBe(true);
    expect(verify.body.records).toBeGreaterThanOrEqual(records.length);
    expect((await server.call('GET', '/api/v1/audit/verify', { key: keys.developer })).status).toBe(403);
  });
});
