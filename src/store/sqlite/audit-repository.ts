/**
 * The append-only, hash-chained audit log in SQLite. Appends are serialised: one immediate
 * transaction reads the chain's end, seals and inserts, on the prepared hot path when the
 * connection is free.
 */
import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { AuditRecord, NewAuditRecord } from '../records.js';
import type { AuditRepository } from '../repositories.js';
import type { AuditLogTable, Database } from '../schema.js';
import { sealAudit } from './hot-paths.js';
import { parseJson } from './scope.js';
import type { SqliteScope } from './scope.js';

const toAudit = (row: Selectable<AuditLogTable>): AuditRecord => ({
  seq: row.seq,
  time: row.time,
  keyId: row.key_id,
  role: row.role,
  action: row.action,
  model: row.model,
  version: row.version,
  status: row.status,
  requestId: row.request_id,
  durationMs: row.duration_ms,
  detail: parseJson(row.detail),
  prevHash: row.prev_hash,
  hash: row.hash,
});

/** The body of `appendAudit` on a transaction's connection. */
async function appendAuditOn(
  db: Kysely<Database>,
  records: readonly NewAuditRecord[],
  seal: (prevHash: string, seq: number, record: NewAuditRecord) => string,
): Promise<AuditRecord[]> {
  const last = await db
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const sealed = sealAudit(records, last, seal);
  // SQLite allows 32766 bound values per statement: 13 per row, so 2000 rows per insert.
  for (let i = 0; i < sealed.length; i += 2000) {
    await db
      .insertInto('audit_log')
      .values(
        sealed.slice(i, i + 2000).map((r) => ({
          seq: r.seq,
          time: r.time,
          key_id: r.keyId,
          role: r.role,
          action: r.action,
          model: r.model,
          version: r.version,
          status: r.status,
          request_id: r.requestId,
          duration_ms: r.durationMs,
          detail: JSON.stringify(r.detail),
          prev_hash: r.prevHash,
          hash: r.hash,
        })),
      )
      .execute();
  }
  return sealed;
}

/** AuditRepository on SQLite. */
export function sqliteAuditRepository(scope: SqliteScope): AuditRepository {
  const db = scope.db;
  return {
    async appendAudit(
      records: readonly NewAuditRecord[],
      seal: (prevHash: string, seq: number, record: NewAuditRecord) => string,
    ): Promise<AuditRecord[]> {
      if (records.length === 0) return [];
      if (!scope.inTransaction && !scope.hot.database.inTransaction) {
        // The connection is free (better-sqlite3 is synchronous, so it stays free until this
        // returns): read, seal and insert in one immediate transaction without Kysely's overhead.
        return Promise.resolve(scope.hot.appendAudit(records, seal));
      }
      return scope.transaction((tx) => appendAuditOn(tx.db, records, seal));
    },

    async listAudit(options: { afterSeq?: number; limit: number; newest?: boolean }): Promise<AuditRecord[]> {
      const rows = await db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>', options.afterSeq ?? 0)
        .orderBy('seq', options.newest ? 'desc' : 'asc')
        .limit(options.limit)
        .execute();
      if (options.newest) rows.reverse(); // the last records, still in order
      return rows.map(toAudit);
    },

    async auditLogProtected(): Promise<boolean> {
      const rows = await sql<{
        name: string;
      }>`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`.execute(db);
      const names = new Set(rows.rows.map((r) => r.name));
      return names.has('audit_log_no_update') && names.has('audit_log_no_delete');
    },
  };
}
