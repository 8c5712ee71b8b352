/**
 * Upgrading a database an older Galen wrote: for every migration level k, a real SQLite file is
 * built with only the first k migrations and filled with real rows of every table that level has
 * (models, versions, aliases, keys, audit chain, datasets, jobs and their logs, cards, feature
 * maps, CDS feedback and JWT ids, explainers, monitoring); then the current Galen opens it (so
 * every later migration runs on those rows) and each row is read back through the store API,
 * unchanged, and the audit chain still verifies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import type { Migration } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/index.js';
import { AuditLog, auditHash } from '../security/audit-log.js';
import { AUDIT_GENESIS_HASH } from './metadata-store.js';
import { migrationProvider } from './migrations.js';
import type { NewAuditRecord } from './records.js';
import { openSqliteMetadataStore } from './sqlite-metadata-store.js';

const T = '2026-01-02T03:04:05.000Z';
const SHA = 'a'.repeat(64);
const SIGNATURE = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [] };
const SCHEMA = {
  rows: 2,
  columns: [{ name: 'age', kind: 'numeric', role: 'feature', missing: 0, distinct: 2 }],
};
const JOB_REQUEST = { model: 'm', dataset: 'd', target: 'y', modelKind: 'logistic' };

/** The rows of each table as an older Galen wrote them (latest column names; absent ones are skipped). */
const ROWS: Record<string, Record<string, unknown>[]> = {
  models: [
    {
      name: 'm',
      description: 'risk',
      tags: JSON.stringify({ team: 'icu' }),
      serving: JSON.stringify({ maxBatchSize: 8 }),
      created_at: T,
      updated_at: T,
      archived_at: null,
    },
  ],
  model_versions: [
    {
      model: 'm',
      version: 1,
      sha256: SHA,
      size_bytes: 123,
      description: 'first',
      signature: JSON.stringify(SIGNATURE),
      lineage: JSON.stringify({ source: 'upload' }),
      metrics: JSON.stringify({ auroc: 0.9 }),
      created_at: T,
      created_by: 'k1',
      archived_at: null,
    },
  ],
  aliases: [{ model: 'm', alias: 'production', version: 1, updated_at: T, updated_by: 'k1' }],
  api_keys: [
    {
      id: 'k1',
      name: 'ci',
      role: 'developer',
      secret_hash: 'b'.repeat(64),
      created_at: T,
      created_by: 'admin',
      revoked_at: null,
    },
  ],
  dataset_versions: [
    {
      name: 'd',
      version: 1,
      sha256: SHA,
      size_bytes: 99,
      format: 'csv',
      rows: 2,
      schema: JSON.stringify(SCHEMA),
      description: 'visits',
      created_at: T,
      created_by: 'k1',
    },
  ],
  jobs: [
    {
      id: 'job-1',
      kind: 'train',
      state: 'succeeded',
      request: JSON.stringify(JOB_REQUEST),
      progress: 1,
      stage: 'succeeded',
      result: JSON.stringify({ model: 'm', version: 1 }),
      error: null,
      attempts: 1,
      cancel_requested: 0,
      owner: null,
      heartbeat_at: null,
      created_at: T,
      created_by: 'k1',
      created_role: 'developer',
      started_at: T,
      finished_at: T,
    },
  ],
  job_logs: [{ job_id: 'job-1', time: T, level: 'info', message: 'queued: train' }],
  model_cards: [{ model: 'm', version: 1, card: JSON.stringify({ title: 'card' }) }],
  feature_maps: [
    { model: 'm', version: 1, map: JSON.stringify({ inputs: {} }), updated_at: T, updated_by: 'k1' },
  ],
  cds_feedback: [
    {
      service: 'm--production',
      card: 'c1',
      outcome: 'accepted',
      detail: '{}',
      outcome_time: T,
      received_at: T,
      received_by: 'cds:x',
    },
  ],
  cds_jwt_ids: [{ issuer: 'https://ehr', jti: 'jti-1', expires_at: '2099-01-01T00:00:00.000Z' }],
  explainers: [{ model: 'm', version: 1, explainer: JSON.stringify({ kind: 'linear' }), updated_at: T }],
  monitoring_profiles: [{ model: 'm', version: 1, profile: JSON.stringify({ rows: 2 }), updated_at: T }],
  monitoring_settings: [
    { model: 'm', settings: JSON.stringify({ sampleRate: 0.5 }), updated_at: T, updated_by: 'k1' },
  ],
  monitoring_batches: [
    { model: 'm', version: 1, first_at: T, last_at: T, rows: 2, payload: JSON.stringify({ rows: [] }) },
  ],
};

/** Three audit records, chained as Galen chains them. */
function auditRows(): Record<string, unknown>[] {
  let prev = AUDIT_GENESIS_HASH;
  return [1, 2, 3].map((seq) => {
    const record: NewAuditRecord = {
      time: T,
      keyId: 'k1',
      role: 'developer',
      action: seq === 1 ? 'model.register' : 'infer',
      model: 'm',
      version: 1,
      status: 200,
      requestId: `r${seq}`,
      durationMs: 1.5,
      detail: seq === 1 ? { sha256: SHA } : {},
    };
    const hash = auditHash(prev, seq, record);
    const row = {
      seq,
      time: record.time,
      key_id: record.keyId,
      role: record.role,
      action: record.action,
      model: record.model,
      version: record.version,
      status: record.status,
      request_id: record.requestId,
      duration_ms: record.durationMs,
      detail: JSON.stringify(record.detail),
      prev_hash: prev,
      hash,
    };
    prev = hash;
    return row;
  });
}

/** Builds `path` at migration level `k` (the first k migrations) and fills every table it has. */
async function buildAtLevel(path: string, names: string[], all: Record<string, Migration>, k: number) {
  const database = new SqliteDatabase(path);
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
  const provider = {
    getMigrations: () => Promise.resolve(Object.fromEntries(names.slice(0, k).map((n) => [n, all[n]!]))),
  };
  const { error } = await new Migrator({ db, provider }).migrateToLatest();
  expect(error).toBeUndefined();
  const tables = new Set(
    (database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
      (t) => t.name,
    ),
  );
  const filled: string[] = [];
  for (const [table, rows] of Object.entries({ ...ROWS, audit_log: auditRows() })) {
    if (!tables.has(table)) continue;
    const columns = new Set(
      (database.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name),
    );
    for (const row of rows) {
      const present = Object.keys(row).filter((c) => columns.has(c));
      database
        .prepare(`INSERT INTO ${table} (${present.join(', ')}) VALUES (${present.map(() => '?').join(', ')})`)
        .run(...present.map((c) => row[c]));
    }
    filled.push(table);
  }
  await db.destroy();
  return { tables: filled };
}

describe('every migration applied to a database an older Galen filled', async () => {
  const all = await migrationProvider.getMigrations();
  const names = Object.keys(all).sort();
  const dir = mkdtempSync(join(tmpdir(), 'galen-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has migrations to test', () => {
    expect(names.length).toBeGreaterThanOrEqual(9);
  });

  for (let k = 1; k <= names.length; k++) {
    it(`from level ${k} (${names[k - 1]}) to the latest, every row is readable and the audit chain verifies`, async () => {
      const path = join(dir, `level-${k}.db`);
      const { tables } = await buildAtLevel(path, names, all, k);
      const has = (table: string) => tables.includes(table);
      const store = await openSqliteMetadataStore(path);
      try {
        const model = await store.getModel('m');
        expect(model).toMatchObject({ name: 'm', description: 'risk', tags: { team: 'icu' }, createdAt: T });
        // Serving settings came with migration 2; a model from before has the defaults ({}).
        expect(model!.serving).toEqual(
          names.indexOf('0002-model-serving-settings') < k ? { maxBatchSize: 8 } : {},
        );
        expect(await store.getVersion('m', 1)).toMatchObject({
          sha256: SHA,
          sizeBytes: 123,
          signature: SIGNATURE,
          lineage: { source: 'upload' },
          metrics: { auroc: 0.9 },
          createdBy: 'k1',
        });
        expect(await store.listAliases('m')).toEqual([
          { model: 'm', alias: 'production', version: 1, updatedAt: T, updatedBy: 'k1' },
        ]);
        expect(await store.getKey('k1')).toMatchObject({ role: 'developer', secretHash: 'b'.repeat(64) });
        if (has('dataset_versions')) {
          expect(await store.getDatasetVersion('d', 1)).toMatchObject({
            rows: 2,
            schema: SCHEMA,
            format: 'csv',
          });
        }
        if (has('jobs')) {
          expect(await store.getJob('job-1')).toMatchObject({
            state: 'succeeded',
            request: JOB_REQUEST,
            result: { model: 'm', version: 1 },
            createdRole: 'developer',
          });
          expect((await store.listJobLogs('job-1', { limit: 10 })).map((l) => l.message)).toEqual([
            'queued: train',
          ]);
          expect(await store.getModelCard('m', 1)).toEqual({ title: 'card' });
        }
        if (has('feature_maps')) expect((await store.getFeatureMap('m', 1))?.map).toEqual({ inputs: {} });
        if (has('cds_feedback'))
          expect(await store.countCdsFeedback('m--production')).toEqual({ accepted: 1 });
        if (has('cds_jwt_ids')) {
          // The id recorded before the upgrade is still known: a replay is refused.
          expect(await store.claimJwtId('https://ehr', 'jti-1', '2099-01-01T00:00:00.000Z', T)).toBe(false);
        }
        if (has('explainers')) expect(await store.getExplainer('m', 1)).toEqual({ kind: 'linear' });
        if (has('monitoring_settings')) {
          expect(await store.getMonitoringSettings('m')).toEqual({ sampleRate: 0.5 });
          expect(await store.getMonitoringProfile('m', 1)).toEqual({ rows: 2 });
          const batches = await store.scanMonitoringBatches(0, 10);
          expect(batches).toHaveLength(1);
          expect(batches[0]).toMatchObject({ model: 'm', version: 1, rows: 2 });
        }
        const audit = new AuditLog(store, systemClock);
        expect((await store.listAudit({ limit: 10 })).map((r) => r.requestId)).toEqual(['r1', 'r2', 'r3']);
        expect(await audit.verify()).toMatchObject({ ok: true, records: 3 });
        // And the upgraded log keeps chaining.
        await audit.record({
          keyId: 'k1',
          role: 'developer',
          action: 'model.archive',
          status: 200,
          durationMs: 1,
        });
        expect(await audit.verify()).toMatchObject({ ok: true, records: 4 });
      } finally {
        await store.close();
      }
    });
  }
});
