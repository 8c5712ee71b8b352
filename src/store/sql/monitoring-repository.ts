/**
 * Recorded predictions, their request index, labels and monitoring settings. Batches written
 * outside a transaction go to SQLite's monitoring writer thread when there is one. Upserts write
 * each key once per statement (the last record wins, as it would row by row) and in key order, so
 * two processes upserting overlapping keys on Postgres wait for each other instead of deadlocking.
 */
import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type {
  JsonObject,
  MonitoringBatchHead,
  MonitoringBatchRecord,
  MonitoringLabelRecord,
  MonitoringRequestRecord,
} from '../records.js';
import type { MonitoringRepository } from '../repositories.js';
import type { Database } from '../schema.js';
import { parseJson } from './scope.js';
import type { StoreScope } from './scope.js';

const toBatch = (row: Selectable<Database['monitoring_batches']>): MonitoringBatchRecord => ({
  model: row.model,
  version: row.version,
  firstAt: row.first_at,
  lastAt: row.last_at,
  rows: row.rows,
  payload: row.payload,
});

/** The last of the records with each key, in key order. */
function lastOfEachKey<T>(records: readonly T[], key: (r: T) => (string | number)[]): T[] {
  const byKey = new Map<string, T>();
  for (const r of records) byKey.set(JSON.stringify(key(r)), r);
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

/** MonitoringRepository (SQLite and Postgres). */
export function sqlMonitoringRepository(scope: StoreScope): MonitoringRepository {
  const db = scope.db;
  return {
    async putMonitoringSettings(
      model: string,
      settings: JsonObject,
      updatedAt: string,
      updatedBy: string,
    ): Promise<void> {
      const row = { model, settings: JSON.stringify(settings), updated_at: updatedAt, updated_by: updatedBy };
      await db
        .insertInto('monitoring_settings')
        .values(row)
        .onConflict((c) =>
          c
            .column('model')
            .doUpdateSet({ settings: row.settings, updated_at: updatedAt, updated_by: updatedBy }),
        )
        .execute();
    },

    async getMonitoringSettings(model: string): Promise<JsonObject | undefined> {
      const row = await db
        .selectFrom('monitoring_settings')
        .select('settings')
        .where('model', '=', model)
        .executeTakeFirst();
      return row && parseJson(row.settings);
    },

    async listMonitoringSettings(): Promise<{ model: string; settings: JsonObject }[]> {
      const rows = await db.selectFrom('monitoring_settings').select(['model', 'settings']).execute();
      return rows.map((r) => ({ model: r.model, settings: parseJson(r.settings) }));
    },

    async insertMonitoringBatch(
      batch: MonitoringBatchRecord,
      requests: readonly MonitoringRequestRecord[],
    ): Promise<void> {
      if (scope.monitoringWriter) {
        // On the writer's thread and connection: the SQLite work leaves the main thread.
        await scope.monitoringWriter.write(batch, requests);
        return;
      }
      await scope.writeTx(async ({ db }) => {
        await db
          .insertInto('monitoring_batches')
          .values({
            model: batch.model,
            version: batch.version,
            first_at: batch.firstAt,
            last_at: batch.lastAt,
            rows: batch.rows,
            payload: batch.payload,
          })
          .execute();
        const unique = lastOfEachKey(requests, (r) => [r.model, r.requestKey]);
        for (let i = 0; i < unique.length; i += 200) {
          const chunk = unique.slice(i, i + 200).map((r) => ({
            model: r.model,
            request_key: r.requestKey,
            version: r.version,
            at: r.at,
            rows: r.rows,
          }));
          await db
            .insertInto('monitoring_requests')
            .values(chunk)
            .onConflict((c) =>
              c.columns(['model', 'request_key']).doUpdateSet((eb) => ({
                version: eb.ref('excluded.version'),
                at: eb.ref('excluded.at'),
                rows: eb.ref('excluded.rows'),
              })),
            )
            .execute();
        }
      });
    },

    async countMonitoringRows(model: string, version: number, from: string, to: string): Promise<number> {
      const row = await db
        .selectFrom('monitoring_batches')
        .select((eb) => eb.fn.sum<number | null>('rows').as('rows'))
        .where('model', '=', model)
        .where('version', '=', version)
        .where('last_at', '>=', from)
        .where('first_at', '<', to)
        .executeTakeFirst();
      return Number(row?.rows ?? 0);
    },

    async listMonitoringBatchHeads(
      model: string,
      version: number,
      range: { from: string; to: string },
      page: { afterSeq: number; limit: number },
    ): Promise<MonitoringBatchHead[]> {
      const rows = await db
        .selectFrom('monitoring_batches')
        .select(['seq', 'model', 'version', 'first_at', 'last_at', 'rows'])
        .where('model', '=', model)
        .where('version', '=', version)
        .where('last_at', '>=', range.from)
        .where('first_at', '<', range.to)
        .where('seq', '>', page.afterSeq)
        .orderBy('seq')
        .limit(page.limit)
        .execute();
      return rows.map((r) => ({
        seq: r.seq,
        model: r.model,
        version: r.version,
        firstAt: r.first_at,
        lastAt: r.last_at,
        rows: r.rows,
      }));
    },

    async getMonitoringPayloads(seqs: readonly number[]): Promise<{ seq: number; payload: string }[]> {
      if (seqs.length === 0) return [];
      return db
        .selectFrom('monitoring_batches')
        .select(['seq', 'payload'])
        .where('seq', 'in', [...seqs])
        .execute();
    },

    async scanMonitoringBatches(
      afterSeq: number,
      limit: number,
    ): Promise<(MonitoringBatchRecord & { seq: number })[]> {
      const rows = await db
        .selectFrom('monitoring_batches')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ ...toBatch(r), seq: r.seq }));
    },

    async replaceMonitoringPayload(seq: number, payload: string): Promise<void> {
      await db.updateTable('monitoring_batches').set({ payload }).where('seq', '=', seq).execute();
    },

    async monitoredVersions(since: string): Promise<{ model: string; version: number }[]> {
      return db
        .selectFrom('monitoring_batches')
        .select(['model', 'version'])
        .where('last_at', '>=', since)
        .distinct()
        .execute();
    },

    async findMonitoringRequests(model: string, keys: readonly string[]): Promise<MonitoringRequestRecord[]> {
      const out: MonitoringRequestRecord[] = [];
      for (let i = 0; i < keys.length; i += 500) {
        const rows = await db
          .selectFrom('monitoring_requests')
          .selectAll()
          .where('model', '=', model)
          .where('request_key', 'in', keys.slice(i, i + 500))
          .execute();
        for (const r of rows)
          out.push({ model: r.model, requestKey: r.request_key, version: r.version, at: r.at, rows: r.rows });
      }
      return out;
    },

    async upsertMonitoringLabels(records: readonly MonitoringLabelRecord[]): Promise<void> {
      const unique = lastOfEachKey(records, (r) => [r.model, r.requestKey, r.row]);
      await scope.writeTx(async ({ db }) => {
        for (let i = 0; i < unique.length; i += 200) {
          await db
            .insertInto('monitoring_labels')
            .values(
              unique.slice(i, i + 200).map((r) => ({
                model: r.model,
                request_key: r.requestKey,
                row: r.row,
                version: r.version,
                predicted_at: r.predictedAt,
                label: r.label,
                groups: r.groups && JSON.stringify(r.groups),
                received_at: r.receivedAt,
                received_by: r.receivedBy,
              })),
            )
            .onConflict((c) =>
              c.columns(['model', 'request_key', 'row']).doUpdateSet((eb) => ({
                version: eb.ref('excluded.version'),
                predicted_at: eb.ref('excluded.predicted_at'),
                label: eb.ref('excluded.label'),
                groups: eb.ref('excluded.groups'),
                received_at: eb.ref('excluded.received_at'),
                received_by: eb.ref('excluded.received_by'),
              })),
            )
            .execute();
        }
      });
    },

    async scanMonitoringLabelGroups(
      afterId: number,
      limit: number,
    ): Promise<{ id: number; groups: string }[]> {
      const rows = await db
        .selectFrom('monitoring_labels')
        .select([sql<number>`rowid`.as('id'), 'groups'])
        .where(sql<number>`rowid`, '>', afterId)
        .where('groups', 'is not', null)
        .orderBy(sql`rowid`)
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, groups: r.groups! }));
    },

    async replaceMonitoringLabelGroups(id: number, groups: string): Promise<void> {
      await db
        .updateTable('monitoring_labels')
        .set({ groups })
        .where(sql<number>`rowid`, '=', id)
        .execute();
    },

    async listMonitoringLabels(
      model: string,
      version: number,
      from: string,
      to: string,
    ): Promise<MonitoringLabelRecord[]> {
      const rows = await db
        .selectFrom('monitoring_labels')
        .selectAll()
        .where('model', '=', model)
        .where('version', '=', version)
        .where('predicted_at', '>=', from)
        .where('predicted_at', '<', to)
        .execute();
      return rows.map((r) => ({
        model: r.model,
        requestKey: r.request_key,
        row: r.row,
        version: r.version,
        predictedAt: r.predicted_at,
        label: r.label,
        groups: r.groups === null ? null : (parseJson(r.groups) as Record<string, string>),
        receivedAt: r.received_at,
        receivedBy: r.received_by,
      }));
    },

    async pruneMonitoring(before: string, limit: number): Promise<number> {
      // At most `limit` rows per table in one short transaction: a busy day's rows would otherwise
      // hold the write lock (and the main thread) for seconds. Rows are picked by a key of their
      // own: `seq` (SQLite's rowid itself), or `rowid` (a column on Postgres, see migrations.ts).
      return scope.writeTx(async ({ db }) => {
        let deleted = 0;
        for (const [table, column, key] of [
          ['monitoring_batches', 'last_at', 'seq'],
          ['monitoring_requests', 'at', 'rowid'],
          ['monitoring_labels', 'predicted_at', 'rowid'],
        ] as const) {
          const query = sql`DELETE FROM ${sql.table(table)} WHERE ${sql.ref(key)} IN
            (SELECT ${sql.ref(key)} FROM ${sql.table(table)} WHERE ${sql.ref(column)} < ${before} LIMIT ${limit})`;
          const result = await query.execute(db);
          deleted += Number(result.numAffectedRows ?? 0);
        }
        return deleted;
      });
    },
  };
}
