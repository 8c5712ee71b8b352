/**
 * The append-only, hash-chained audit log. Appends are serialised: one transaction holds the
 * audit lock (SQLite: `BEGIN IMMEDIATE`, on the prepared hot path when the connection is free;
 * Postgres: an advisory transaction lock), reads the chain's end, seals and inserts, so no two
 * processes can chain onto the same record.
 */
import type { Kysely, Selectable } from 'kysely';
import type { AuditRecord, NewAuditRecord } from '../records.js';
import type { AuditRepository } from '../repositories.js';
import type { AuditLogTable, Database } from '../schema.js';
import { sealAudit } from './audit-chain.js';
import { parseJson } from './scope.js';
import type { AuditSeal, StoreScope } from './scope.js';

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
  seal: AuditSeal,
): Promise<AuditRecord[]> {
  const last = await db
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const sealed = sealAudit(records, last, seal);
  // SQLite allows 32766 bound values per statement (Postgres 65535): 13 per row, so 2000 rows per insert.
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

/** AuditRepository (SQLite and Postgres). */
export function sqlAuditRepository(scope: StoreScope): AuditRepository {
  const db = scope.db;
  return {
    async appendAudit(records: readonly NewAuditRecord[], seal: AuditSeal): Promise<AuditRecord[]> {
      if (records.length === 0) return [];
      const now = scope.appendAuditNow?.(records, seal);
      if (now) return Promise.resolve(now);
      return scope.writeTx(async (tx) => {
        await tx.serialise('audit', 'chain');
        return appendAuditOn(tx.db, records, seal);
      });
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

    auditLogProtected(): Promise<boolean> {
      return scope.auditLogProtected();
    },
  };
}
