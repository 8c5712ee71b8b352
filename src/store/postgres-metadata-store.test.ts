/**
 * What only several processes on one PostgreSQL database can show: three stores (three pools,
 * as three replicas have) racing on version numbers, the audit chain, job claims, JWT ids, alert
 * transitions, dataset versions, overlapping monitoring batches and migrations; and a change made
 * through one store reaching another's change tokens within a second — by LISTEN/NOTIFY, by a
 * rebuilt listener after its connection is killed, and by the poll when a notification never
 * came. Skipped without GALEN_TEST_DATABASE_URL (a failure under GALEN_REQUIRE_SERVICES=1).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RECORD_TIME,
  createPostgresTestDatabase,
  dropPostgresTestDatabase,
  jobRecord,
  keyRecord,
  metadataStoreFactories,
  modelRecord,
  versionRecord,
  within,
} from '../../test/helpers/stores.js';
import type { TestDatabase } from '../../test/helpers/stores.js';
import type { MetadataStore } from './metadata-store.js';
import { migrationProvider } from './migrations.js';
import { openPostgresMetadataStore } from './postgres-metadata-store.js';
import type { NewAuditRecord } from './records.js';

const postgres = metadataStoreFactories().find((f) => f.name === 'postgres')!;
const at = RECORD_TIME;
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const audited = (requestId: string): NewAuditRecord => ({
  time: at,
  keyId: 'k',
  role: 'admin',
  action: 'infer',
  model: 'm',
  version: 1,
  status: 200,
  requestId,
  durationMs: 1,
  detail: {},
});

/** Registers the next version of `name` as the registry does (model row if missing, max + 1). */
async function registerNext(store: MetadataStore, name: string, by: string): Promise<number> {
  return store.transaction(async (tx) => {
    if (!(await tx.getModel(name))) {
      await tx.insertModel(modelRecord({ name }));
    }
    const version = (await tx.maxVersion(name)) + 1;
    await tx.insertVersion(
      versionRecord({ model: name, version, sha256: sha(`${by}:${version}`), createdBy: by }),
    );
    return version;
  });
}

async function rows<T>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

const listenerPids = (url: string): Promise<{ pid: number }[]> =>
  rows(
    url,
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN galen_changes'`,
  );

describe.skipIf(postgres.skip !== undefined)('Postgres metadata store, several replicas', () => {
  let database: TestDatabase;
  let stores: MetadataStore[];
  beforeEach(async () => {
    database = await postgres.create();
    stores = [await database.open(), await database.open(), await database.open()];
  });
  afterEach(() => database.drop());

  it('gives concurrent uploads of one model from three stores the versions 1..30 exactly once', async () => {
    const versions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => registerNext(stores[i % 3]!, 'm', `s${i}`)),
    );
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await stores[0]!.listVersions('m')).map((v) => v.version)).toEqual(
      versions.sort((a, b) => a - b),
    );
  });

  it('gives concurrent dataset versions from three stores consecutive numbers', async () => {
    const insert = (store: MetadataStore, i: number): Promise<number> =>
      store.transaction(async (tx) => {
        const version = ((await tx.listDatasetVersions('d')).at(-1)?.version ?? 0) + 1;
        await tx.insertDatasetVersion({
          name: 'd',
          version,
          sha256: sha(String(i)),
          sizeBytes: 1,
          format: 'csv',
          rows: 1,
          schema: {},
          description: '',
          createdAt: at,
          createdBy: 'k',
        });
        return version;
      });
    const versions = await Promise.all(Array.from({ length: 15 }, (_, i) => insert(stores[i % 3]!, i)));
    expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it('chains concurrent audit appends from three stores without a fork', async () => {
    const seal = (prevHash: string, seq: number, r: NewAuditRecord): string =>
      sha(`${prevHash}|${seq}|${r.requestId}`);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        stores[i % 3]!.appendAudit(
          Array.from({ length: 1 + (i % 3) }, (_, j) => audited(`r${i}.${j}`)),
          seal,
        ),
      ),
    );
    const log = await stores[1]!.listAudit({ limit: 1000 });
    expect(log).toHaveLength(120);
    let prev = '0'.repeat(64);
    for (const [i, record] of log.entries()) {
      expect(record.seq).toBe(i + 1);
      expect(record.prevHash).toBe(prev);
      expect(record.hash).toBe(seal(prev, record.seq, record));
      prev = record.hash;
    }
    await expect(database.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
  });

  it('lets exactly one of three stores claim each queued job', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    for (const id of ids) await stores[0]!.insertJob(jobRecord(id));
    const claims = await Promise.all(
      ids.flatMap((id) =>
        stores.map(async (store, s) =>
          (await store.updateJob(id, { state: 'running', owner: `s${s}` }, ['queued'])) ? id : undefined,
        ),
      ),
    );
    expect(claims.filter((id) => id !== undefined).sort()).toEqual([...ids].sort());
  });

  it('accepts a CDS JWT id once and records an alert transition once across stores', async () => {
    const claims = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        stores[i % 3]!.claimJwtId('https://ehr', 'jti-1', '2099-01-01T00:00:00.000Z', at),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const events = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        stores[i % 3]!.recordAlertTransition({
          model: 'm',
          version: 1,
          rule: 'drift',
          state: 'firing',
          value: 0.5,
          at,
          detail: {},
        }),
      ),
    );
    expect(events.filter((e) => e !== undefined)).toHaveLength(1);
    expect(await stores[2]!.listAlertEvents('m', 10)).toHaveLength(1);
  });

  it('stores overlapping monitoring batches from three stores without deadlock, the last request winning', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    const repeated = { model: 'm', requestKey: keys[0]!, version: 1, at, rows: 999 };
    await Promise.all(
      Array.from({ length: 12 }, (_, b) => {
        const order = b % 2 === 0 ? keys : [...keys].reverse();
        return stores[b % 3]!.insertMonitoringBatch(
          { model: 'm', version: 1, firstAt: at, lastAt: at, rows: 50, payload: `b${b}` },
          [...order.map((k, i) => ({ model: 'm', requestKey: k, version: 1, at, rows: i })), repeated],
        );
      }),
    );
    expect(await stores[0]!.countMonitoringRows('m', 1, at, '2099-01-01T00:00:00.000Z')).toBe(600);
    const found = await stores[0]!.findMonitoringRequests('m', [keys[0]!]);
    expect(found).toHaveLength(1);
    expect(found[0]!.rows).toBe(999); // the repeated key's last record in its batch
  });

  it('moves another store’s tokens by LISTEN, after its listener is killed, and by the poll alone', async () => {
    // B polls once a minute: only a notification can move its token within a second.
    const b = await database.open({ changePollMs: 60_000 });
    const a = stores[0]!;
    const before = await b.registryChangeToken();
    await registerNext(a, 'm', 'a');
    await within(1_000, async () => (await b.registryChangeToken()) !== before);
    const keysBefore = await b.keysChangeToken();
    await a.insertKey(keyRecord());
    await within(1_000, async () => (await b.keysChangeToken()) !== keysBefore);

    // Kill every listener: each store drops to "changed" at once and listens again.
    const killed = await listenerPids(database.location);
    expect(killed.length).toBe(4);
    const beforeKill = await b.registryChangeToken();
    await rows(
      database.location,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND query = 'LISTEN galen_changes'`,
    );
    await within(1_000, async () => (await b.registryChangeToken()) !== beforeKill);
    await within(3_000, async () => {
      const pids = (await listenerPids(database.location)).map((r) => r.pid);
      return pids.length === 4 && !pids.some((pid) => killed.some((k) => k.pid === pid));
    });
    const c = stores[1]!;
    const rebuilt = await b.registryChangeToken();
    const cBefore = await c.registryChangeToken();
    await registerNext(a, 'm', 'a');
    await within(1_000, async () => (await b.registryChangeToken()) !== rebuilt);
    // C has taken in that registration too, so no late notification of it can move C's token below.
    await within(1_000, async () => (await c.registryChangeToken()) !== cBefore);

    // A commit that sent no notification (as if it were lost) is found by the 1 s poll.
    const quiet = await c.registryChangeToken();
    await database.query(`UPDATE change_counters SET counter = counter + 1 WHERE topic = 'registry'`);
    await within(1_500, async () => (await c.registryChangeToken()) !== quiet);
  });
});

describe.skipIf(postgres.skip !== undefined)('Postgres migrations', () => {
  let url: string;
  beforeEach(async () => {
    url = await createPostgresTestDatabase();
  });
  afterEach(() => dropPostgresTestDatabase(url));

  it('migrate once when three stores open an empty database at once', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresMetadataStore(url, { poolSize: 2 })));
    try {
      const applied = await rows<{ name: string }>(url, 'SELECT name FROM kysely_migration ORDER BY name');
      const names = applied.map((r) => r.name);
      // Each migration applied exactly once: the list, in order, with nothing repeated.
      expect(names).toEqual(Object.keys(await migrationProvider.getMigrations()).sort());
      for (const store of stores) expect(await store.auditLogProtected()).toBe(true);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
