/**
 * Who sees and cancels a job: the key that submitted it, and keys that manage every job
 * (`jobs:manage`: admins). Another key learns nothing of it (404, absent from its list), whatever
 * its role; a key that has submitted nothing lists nothing, instead of being refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const CSV = [
  'age,sbp,outcome',
  ...Array.from({ length: 60 }, (_, i) => `${30 + i},${100 + (i % 40)},${i % 3 ? 'no' : 'yes'}`),
].join('\n');

describe('job visibility and cancel', () => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  let jobId: string;
  beforeAll(async () => {
    server = await createTestServer();
    alice = await server.key('developer');
    bob = await server.key('developer');
    const up = await server.call('POST', '/api/v1/datasets/small', {
      body: CSV,
      contentType: 'text/csv',
      key: alice,
    });
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const job = await server.call('POST', '/api/v1/jobs', {
      key: alice,
      body: { model: 'small-risk', dataset: 'small', target: 'outcome', modelKind: 'logistic' },
    });
    expect(job.status, JSON.stringify(job.body)).toBe(202);
    jobId = job.body.id;
  });
  afterAll(async () => server.close());

  it("another data:read key neither sees nor cancels a developer's training job", async () => {
    expect((await server.call('GET', `/api/v1/jobs/${jobId}`, { key: bob })).status).toBe(404);
    expect((await server.call('GET', `/api/v1/jobs/${jobId}/logs`, { key: bob })).status).toBe(404);
    const cancel = await server.call('POST', `/api/v1/jobs/${jobId}/cancel`, { key: bob, body: {} });
    expect(cancel.status).toBe(404);
    expect(cancel.body.error).toBe(`there is no job "${jobId}"`);
    expect((await server.call('GET', '/api/v1/jobs', { key: bob })).body).toEqual([]);
    // Nothing was asked of the job on bob's behalf.
    const logs = (await server.call('GET', `/api/v1/jobs/${jobId}/logs`, { key: alice })).body;
    expect(JSON.stringify(logs)).not.toMatch(/cancel/);
    expect((await server.call('GET', `/api/v1/jobs/${jobId}`, { key: alice })).body.state).not.toBe(
      'cancelled',
    );
  });

  it('the submitter and an admin see it; the submitter lists it', async () => {
    expect((await server.call('GET', `/api/v1/jobs/${jobId}`, { key: alice })).status).toBe(200);
    expect((await server.call('GET', `/api/v1/jobs/${jobId}`)).status).toBe(200);
    const mine = (await server.call('GET', '/api/v1/jobs', { key: alice })).body;
    expect(mine.map((j: { id: string }) => j.id)).toEqual([jobId]);
    const all = (await server.call('GET', '/api/v1/jobs')).body;
    expect(all.map((j: { id: string }) => j.id)).toContain(jobId);
  });

  it('an approver or auditor lists its own jobs (none), rather than being told it needs admin or developer', async () => {
    for (const role of ['approver', 'auditor', 'service'] as const) {
      const key = await server.key(role);
      const res = await server.call('GET', '/api/v1/jobs', { key });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual([]);
      expect((await server.call('GET', `/api/v1/jobs/${jobId}`, { key })).status).toBe(404);
    }
  });

  it('the submitter may cancel it (a finished job is returned as it is)', async () => {
    const res = await server.call('POST', `/api/v1/jobs/${jobId}/cancel`, { key: alice, body: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.id).toBe(jobId);
  });
});
