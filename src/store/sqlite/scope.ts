/**
 * The SQLite side of a store scope (`../sql/scope.ts`): one connection, write transactions taken
 * with `BEGIN IMMEDIATE` (which serialise every writer, across processes too, so `serialise` has
 * nothing to add), change tokens from `PRAGMA data_version` plus this connection's own writes,
 * and the prepared hot paths (audit appends, the monitoring writer thread).
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { GalenError } from '../../core/index.js';
import type { AuditRecord, NewAuditRecord } from '../records.js';
import type { Database } from '../schema.js';
import type { AuditSeal, ChangeTopic, LockName, StoreScope } from '../sql/scope.js';
import { probeSqliteDatabase } from '../store-probe.js';
import type { HotPaths } from './hot-paths.js';

/** What every scope of one store shares. */
interface SqliteShared {
  /** The database file (or `:memory:`). */
  path: string;
  hot: HotPaths;
  /** Writes per topic through this connection (shared with transactions). */
  writes: Record<ChangeTopic, number>;
}

export class SqliteScope implements StoreScope {
  private constructor(
    readonly db: Kysely<Database>,
    readonly inTransaction: boolean,
    private readonly shared: SqliteShared,
    /** Inside a transaction: the topics it wrote. */
    private readonly written: Set<ChangeTopic>,
  ) {}

  static open(db: Kysely<Database>, path: string, hot: HotPaths): SqliteScope {
    return new SqliteScope(db, false, { path, hot, writes: { registry: 0, keys: 0 } }, new Set());
  }

  get monitoringWriter(): HotPaths['monitoringWriter'] {
    return this.inTransaction ? undefined : this.shared.hot.monitoringWriter;
  }

  write<T>(topic: ChangeTopic, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    this.shared.writes[topic]++;
    if (this.inTransaction) this.written.add(topic);
    return fn(this.db);
  }

  changeToken(topic: ChangeTopic): string {
    // data_version moves when another connection (another process) commits anything; our own
    // writes are counted, since they do not move it.
    return `${this.shared.hot.currentDataVersion()}:${this.shared.writes[topic]}`;
  }

  serialise(_lock: LockName, _key: string): Promise<void> {
    return Promise.resolve(); // BEGIN IMMEDIATE already holds the database's one write lock
  }

  /**
   * Runs `fn` in one `BEGIN IMMEDIATE` transaction (or in the current one), with a scope bound to
   * it; its commit counts as a registry write (a cache filled while it ran refetches).
   */
  transaction<T>(fn: (tx: StoreScope) => Promise<T>): Promise<T> {
    return this.run(fn, ['registry']);
  }

  writeTx<T>(fn: (tx: StoreScope) => Promise<T>): Promise<T> {
    return this.run(fn, []);
  }

  private async run<T>(fn: (tx: StoreScope) => Promise<T>, always: ChangeTopic[]): Promise<T> {
    if (this.inTransaction) return fn(this);
    const written = new Set<ChangeTopic>(always);
    const result = await this.db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const value = await fn(new SqliteScope(conn, true, this.shared, written));
        await sql`COMMIT`.execute(conn);
        return value;
      } catch (err) {
        await sql`ROLLBACK`.execute(conn);
        throw err;
      }
    });
    for (const topic of written) this.shared.writes[topic]++;
    return result;
  }

  appendAuditNow(records: readonly NewAuditRecord[], seal: AuditSeal): AuditRecord[] | undefined {
    // The connection is free (better-sqlite3 is synchronous, so it stays free until this
    // returns): read, seal and insert in one immediate transaction without Kysely's overhead.
    if (this.inTransaction || this.shared.hot.database.inTransaction) return undefined;
    return this.shared.hot.appendAudit(records, seal);
  }

  async auditLogProtected(): Promise<boolean> {
    const rows = await sql<{
      name: string;
    }>`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`.execute(this.db);
    const names = new Set(rows.rows.map((r) => r.name));
    return names.has('audit_log_no_update') && names.has('audit_log_no_delete');
  }

  probe(): Promise<void> {
    // A fresh read-only connection, never waiting for a lock (the store's own would wait up to
    // its busy timeout); an in-memory database is this connection itself.
    const problem = this.shared.path === ':memory:' ? undefined : probeSqliteDatabase(this.shared.path);
    if (problem === undefined) return Promise.resolve();
    return Promise.reject(
      new GalenError('unavailable', `the metadata database cannot be read: ${problem}`, {
        retryAfterSeconds: 1,
      }),
    );
  }

  async close(): Promise<void> {
    await this.shared.hot.monitoringWriter?.close();
    await this.db.destroy();
  }
}
