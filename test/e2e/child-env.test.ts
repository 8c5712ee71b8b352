/**
 * A job's worker process starts without Galen's secrets in its environment: a real training job
 * run by the built dist/app/job-worker.js, its environment read from /proc while it runs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForJob } from '../helpers/pytorch.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const WDBC = dataUrl('clinical/breast_cancer_wdbc.csv');

const SECRETS = {
  GALEN_ADMIN_KEY: 'admin-key-that-must-not-leak-0123456789',
  GALEN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  GALEN_DEID_KEY_FILE: '/secret/deid.key',
  GALEN_OIDC_ISSUER: 'https://idp.example',
  OIDC_CLIENT_SECRET: 'oidc-secret-value',
};

/** Children of this process whose command line contains `marker`. */
function childrenWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) {
        pids.push(Number(name));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe.skipIf(process.platform !== 'linux')('job worker environment', () => {
  let server: TestServer;
  const saved = { ...process.env };
  beforeAll(async () => {
    Object.assign(process.env, SECRETS);
    server = await createTestServer();
    const res = await server.call('POST', '/api/v1/datasets/wdbc', {
      body: await readFile(WDBC),
      contentType: 'text/csv',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
  afterAll(async () => {
    for (const name of Object.keys(SECRETS)) delete process.env[name];
    Object.assign(process.env, saved);
    await server?.close();
  });

  it('holds none of the secrets of the server it was started by', async () => {
    const submitted = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'env-check', dataset: 'wdbc', target: 'diagnosis', modelKind: 'gbdt' },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    let environ: string[] | undefined;
    for (let i = 0; i < 2000 && environ === undefined; i++) {
      for (const pid of childrenWith('job-worker.js')) {
        try {
          environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        } catch {
          // it ended between the two reads: look again
        }
      }
      if (environ === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    expect(environ, 'the job worker was never seen running').toBeDefined();
    const names = environ!.map((e) => e.slice(0, e.indexOf('=')));
    expect(names).toContain('PATH');
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(names).not.toContain(name);
      expect(environ!.join('\n')).not.toContain(value);
    }
    // It still has what it needs (the configuration came over IPC): the job succeeds.
    expect((await waitForJob(server, submitted.body.id)).state).toBe('succeeded');
  }, 120_000);
});
