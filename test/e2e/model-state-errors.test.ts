/**
 * What a client is told about a model that is not served: explicitly unloaded (Triton's repository
 * unload) or archived. Both are states that last until someone acts, so the answer is 404 with the
 * reason and what to do, and no `Retry-After` — as Triton answers a model with no loaded version
 * ("Request for unknown model: '…' has no available versions", 404 / gRPC NOT_FOUND). A 503 with
 * `Retry-After: 1` had clients retry every second, forever. Restoring an archived model serves it
 * again (archiving used to leave it marked "unloaded" after the restore).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWdbcCsv } from '../../src/demo/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import type { CallResult } from '../helpers/http-call.js';
import { dataUrl } from '../helpers/data.js';

const wdbc = parseWdbcCsv(readFileSync(dataUrl('clinical/breast_cancer_wdbc.csv'), 'utf8'));
const MODEL = 'breast-cancer';
const rows = wdbc.rows.slice(0, 20);

const oipInfer = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: rows[0] }] };
const reference = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 30], data: rows.flat() }],
};

/** Every way a caller reaches the model, each with the error format of its protocol. */
function calls(server: TestServer): Record<string, () => Promise<CallResult>> {
  return {
    'OIP infer': () => server.call('POST', `/v2/models/${MODEL}/infer`, { body: oipInfer }),
    'OIP infer, version 1': () =>
      server.call('POST', `/v2/models/${MODEL}/versions/1/infer`, { body: oipInfer }),
    'TF Serving :predict': () =>
      server.call('POST', `/v1/models/${MODEL}:predict`, { body: { instances: [rows[0]] } }),
    'monitoring reference': () =>
      server.call('PUT', `/api/v1/models/${MODEL}/versions/1/monitoring/reference`, { body: reference }),
    'explainer background': () =>
      server.call('PUT', `/api/v1/models/${MODEL}/versions/1/explainer`, { body: reference }),
  };
}

async function expectNotServed(server: TestServer, says: RegExp): Promise<void> {
  for (const [what, call] of Object.entries(calls(server))) {
    const res = await call();
    const shown = `${what}: ${JSON.stringify(res.body)}`;
    expect(res.status, shown).toBe(404);
    expect(res.headers.get('retry-after'), shown).toBeNull();
    expect(res.body.error, shown).toMatch(says);
    if (what.startsWith('monitoring') || what.startsWith('explainer'))
      expect(res.body.code).toBe('not_found');
  }
}

describe('models that are not served', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
  });
  afterAll(async () => server?.close());

  it('serves the model to start with', async () => {
    expect((await calls(server)['OIP infer']!()).status).toBe(200);
  });

  it('an unloaded model answers 404 saying how to load it again, without Retry-After', async () => {
    expect((await server.call('POST', `/v2/repository/models/${MODEL}/unload`, { body: {} })).status).toBe(
      200,
    );
    await expectNotServed(
      server,
      /^model "breast-cancer" is unloaded, so it is not served; load it again through the model repository API/,
    );
    expect((await server.call('POST', `/v2/repository/models/${MODEL}/load`, { body: {} })).status).toBe(200);
    expect((await calls(server)['OIP infer']!()).status).toBe(200);
  });

  it('an archived model answers 404 without Retry-After, and serves again once restored', async () => {
    expect((await server.call('POST', `/api/v1/models/${MODEL}/archive`)).status).toBe(200);
    await expectNotServed(server, /archived/);
    expect((await server.call('POST', `/api/v1/models/${MODEL}/restore`)).status).toBe(200);
    const again = await calls(server)['OIP infer']!();
    expect(again.status, JSON.stringify(again.body)).toBe(200);
  });
});
