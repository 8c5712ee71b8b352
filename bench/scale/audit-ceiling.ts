/**
 * The audit chain's ceiling on PostgreSQL: every inference writes an audit record, and the chain
 * has one end that every replica appends to under one lock, so its rate bounds the whole
 * deployment's. Replicas group their records (up to 1,000 per transaction); this measures
 * records per second for 1 and 3 appending processes' worth of stores at two group sizes.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresMetadataStore } from '../../src/store/index.js';
import type { MetadataStore, NewAuditRecord } from '../../src/store/index.js';
import type { Services } from './stack.js';

export interface AuditCeiling {
  stores: number;
  recordsPerGroup: number;
  recordsPerS: number;
  groupsPerS: number;
}

const record: NewAuditRecord = {
  time: new Date(0).toISOString(),
  keyId: 'bench',
  role: 'service',
  action: 'infer',
  model: 'wdbc-mlp',
  version: 1,
  status: 200,
  requestId: 'bench-request-0000000000',
  durationMs: 0.5,
  detail: {},
};

async function onServer(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function measureAuditCeiling(services: Services, seconds = 5): Promise<AuditCeiling[]> {
  const name = `galen_bench_${randomBytes(4).toString('hex')}`;
  await onServer(services.databaseUrl, `CREATE DATABASE ${name}`);
  const url = new URL(services.databaseUrl);
  url.pathname = `/${name}`;
  const results: AuditCeiling[] = [];
  const stores: MetadataStore[] = [];
  try {
    for (let i = 0; i < 3; i++) stores.push(await openPostgresMetadataStore(url.toString(), { poolSize: 2 }));
    for (const count of [1, 3]) {
      for (const size of [50, 500]) {
        const group = Array.from({ length: size }, () => record);
        let records = 0;
        let groups = 0;
        const until = performance.now() + seconds * 1000;
        const started = performance.now();
        await Promise.all(
          stores.slice(0, count).map(async (store) => {
            while (performance.now() < until) {
              await store.appendAudit(group, (prev, seq) => `${prev.slice(0, 8)}${seq}`.padEnd(64, '0'));
              records += size;
              groups++;
            }
          }),
        );
        const elapsed = (performance.now() - started) / 1000;
        results.push({
          stores: count,
          recordsPerGroup: size,
          recordsPerS: records / elapsed,
          groupsPerS: groups / elapsed,
        });
      }
    }
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await onServer(services.databaseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  return results;
}
