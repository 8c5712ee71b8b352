/**
 * What every SQLite repository shares: the Kysely connection (or the transaction's), whether it
 * is inside a transaction, the count of this connection's registry writes, and the prepared hot
 * paths. Repositories made from one scope see one connection and one transaction.
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { JsonObject } from '../records.js';
import type { Database } from '../schema.js';
import type { HotPaths } from './hot-paths.js';

export const parseJson = (text: string): JsonObject => JSON.parse(text) as JsonObject;

export const parseJsonOrNull = (text: string | null): JsonObject | null =>
  text === null ? null : parseJson(text);

export class SqliteScope {
  constructor(
    /** The connection, or inside a transaction the transaction's connection. */
    readonly db: Kysely<Database>,
    readonly inTransaction: boolean,
    /** Writes to models, versions and aliases through this connection (shared with transactions). */
    private readonly registryWrites: { count: number },
    readonly hot: HotPaths,
  ) {}

  /** Notes a write to models, versions or aliases (it moves the registry change token). */
  countRegistryWrite(): void {
    this.registryWrites.count++;
  }

  registryChangeToken(): string {
    // data_version moves when another connection (another process) commits anything; our own
    // writes are counted here, since they do not move it.
    return `${this.hot.currentDataVersion()}:${this.registryWrites.count}`;
  }

  /**
   * Runs `fn` in one `BEGIN IMMEDIATE` transaction (or in the current one), with a scope bound to
   * it; its commit counts as a registry write.
   */
  async transaction<T>(fn: (tx: SqliteScope) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    const result = await this.immediate((conn) =>
      fn(new SqliteScope(conn, true, this.registryWrites, this.hot)),
    );
    this.registryWrites.count++;
    return result;
  }

  /**
   * A write transaction that does not touch the registry's tables, so it leaves the change token
   * (and the registry caches keyed on it) alone.
   */
  async writeTx<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this.db);
    return this.immediate(fn);
  }

  private async immediate<T>(fn: (conn: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return result;
      } catch (err) {
        await sql`ROLLBACK`.execute(conn);
        throw err;
      }
    });
  }
}
