/**
 * Prepared statements for the two per-inference paths (version resolution and audit appends),
 * run on the connection directly: Kysely prepares every statement anew, which costs more than
 * these statements do.
 */
import { hrtime } from 'node:process';
import type SqliteDatabase from 'better-sqlite3';
import type { MonitoringWriter } from '../monitoring-writer.js';
import type { AuditRecord, NewAuditRecord } from '../records.js';
import { sealAudit } from '../sql/audit-chain.js';
import type { AuditSeal } from '../sql/scope.js';

export class HotPaths {
  private readonly dataVersion: SqliteDatabase.Statement<[], number>;
  private readonly lastAudit: SqliteDatabase.Statement<[], { seq: number; hash: string }>;
  private readonly insertAudit: SqliteDatabase.Statement<unknown[]>;

  constructor(
    readonly database: SqliteDatabase.Database,
    /** Writes recorded-prediction batches on its own thread (file databases only). */
    readonly monitoringWriter?: MonitoringWriter,
  ) {
    this.dataVersion = database.prepare<[], number>('PRAGMA data_version').pluck();
    this.lastAudit = database.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.insertAudit = database.prepare(
      `INSERT INTO audit_log (seq, time, key_id, role, action, model, version, status, request_id,
         duration_ms, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Appends audit records in one immediate transaction: read the chain's end, seal, insert. */
  appendAudit(records: readonly NewAuditRecord[], seal: AuditSeal): AuditRecord[] {
    return this.database
      .transaction(() => {
        const sealed = sealAudit(records, this.lastAudit.get(), seal);
        for (const r of sealed) {
          this.insertAudit.run(
            r.seq,
            r.time,
            r.keyId,
            r.role,
            r.action,
            r.model,
            r.version,
            r.status,
            r.requestId,
            r.durationMs,
            JSON.stringify(r.detail),
            r.prevHash,
            r.hash,
          );
        }
        return sealed;
      })
      .immediate();
  }

  private lastVersion = 0;
  private lastRead = 0n;

  /**
   * SQLite's data_version: moves when another connection commits. Reading it costs ~15 µs, so
   * it is read at most once per millisecond: another process's change is seen within 1 ms.
   */
  currentDataVersion(): number {
    const now = hrtime.bigint();
    if (now - this.lastRead >= 1_000_000n) {
      this.lastVersion = this.dataVersion.get() ?? 0;
      this.lastRead = now;
    }
    return this.lastVersion;
  }
}
