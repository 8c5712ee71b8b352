/**
 * An alert rule's webhook is judged when the rule is saved by the same rules the guarded outbound
 * client applies when the alert is sent: plain http only to `outbound.allowHttpHosts`, addresses
 * outside `outbound.allowPrivateNetworks` refused. A rule that could never deliver is a 400, not a
 * silent failure at the first alert.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_OUTBOUND } from '../../src/outbound/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const rule = (webhook: string) => ({
  rules: [{ name: 'drop', metric: 'auroc', below: 0.8, actions: ['log', 'webhook'], webhook }],
});

describe('alert webhooks checked when saved', () => {
  let server: TestServer | undefined;
  afterEach(() => server?.close());

  const save = (webhook: string) =>
    server!.call('PUT', '/api/v1/models/breast-cancer/monitoring/settings', { body: rule(webhook) });

  it('refuses plain http to a public host, and names the setting that would allow it', async () => {
    server = await createTestServer({ withDemo: true });
    const refused = await save('http://hooks.example.org/alerts');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/plain http.*outbound\.allowHttpHosts/);
    expect((await save('https://localhost/alerts')).body.error).toMatch(/only resolves inside/);
    expect((await save('https://10.0.0.5/alerts')).body.error).toMatch(/private/);
    expect((await save('https://hooks.example.org/alerts')).status).toBe(200);
  });

  it('accepts what the outbound settings allow: a listed private network over listed plain http', async () => {
    const outbound = {
      ...DEFAULT_OUTBOUND,
      allowPrivateNetworks: ['127.0.0.0/8'],
      allowHttpHosts: ['127.0.0.1'],
    };
    server = await createTestServer({ withDemo: true, config: { outbound } });
    expect((await save('http://127.0.0.1:9/alerts')).status).toBe(200);
    const other = await save('http://10.0.0.5/alerts');
    expect(other.status).toBe(400);
    expect(other.body.error).toMatch(/plain http/);
  });
});
