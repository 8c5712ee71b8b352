/**
 * Every audited call leaves its record, whatever the caller sent: a deeply nested or huge body on
 * an audited route is recorded as a summary (depth, size, digest), never dropped, and the chain
 * still verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

describe('audit records of hostile bodies', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
  });
  afterAll(async () => server.close());

  const records = async (action: string) =>
    (await server.galen.audit.list({ limit: 1000 })).filter((r) => r.action === action);

  it('records a call whose body nests deeply, with a summary of what was sent', async () => {
    const before = (await records('model.serving')).length;
    // 50 levels pass the edge's body-depth rule (100) and reach the handler, whose settings are
    // audited: the record keeps a summary, not the nesting.
    const deep = '{"batching":' + '['.repeat(50) + ']'.repeat(50) + '}';
    const res = await server.call('PUT', '/api/v1/models/breast-cancer/serving', { body: deep });
    expect(res.status).toBe(400);
    const after = await records('model.serving');
    expect(after).toHaveLength(before + 1);
    const detail = after.at(-1)!.detail as { settings: Record<string, unknown> };
    expect(detail.settings).toEqual({ omitted: 'nested more than 8 levels deep' });
    // 5,000 levels are refused at the edge before any handler: the refusal is still recorded.
    const deeper = '{"batching":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
    const refused = await server.call('PUT', '/api/v1/models/breast-cancer/serving', { body: deeper });
    expect(refused.status).toBe(400);
    const last = await records('model.serving');
    expect(last).toHaveLength(before + 2);
    expect(last.at(-1)!.status).toBe(400);
    expect((await server.galen.audit.verify()).ok).toBe(true);
  });

  it('records a huge value by its size and digest, not its content', async () => {
    const body = { batching: true, note: 'x'.repeat(100_000) };
    await server.call('PUT', '/api/v1/models/breast-cancer/serving', { body });
    const last = (await records('model.serving')).at(-1)!;
    const settings = (last.detail as { settings: Record<string, unknown> }).settings;
    expect(settings).toMatchObject({ omitted: expect.stringMatching(/^\d+ bytes of JSON$/) as string });
    expect(settings['sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(last.detail).length).toBeLessThan(1000);
    expect((await server.galen.audit.verify()).ok).toBe(true);
  });
});
