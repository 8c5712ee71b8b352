/**
 * The Postgres side of a store scope (`../sql/scope.ts`): a pool, transactions on one pooled
 * connection (`BEGIN … COMMIT`, READ COMMITTED), and advisory transaction locks where SQLite's
 * `BEGIN IMMEDIATE` serialised writers for free:
 *
 * - `model` (per model name): registry transactions on one model run one after the other, so
 *   `maxVersion + 1` is given once (concurrent uploads from several replicas get consecutive
 *   versions) and an alias move cannot interleave with archiving its target;
 * - `dataset` (per dataset name): the same for dataset version numbers;
 * - `audit`: one appender at a time reads the chain's end, so replicas never fork the chain;
 * - `alert` (per rule): a rule's change of state is recorded once across replicas.
 *
 * The lock is always its own statement, before the reads it guards: under READ COMMITTED each
 * statement sees what committed before it began, so the read after the lock sees the previous
 * holder's commit (a lock and a read in one statement would read from before the wait).
 *
 * Everything else is one statement (a job claim is `UPDATE … WHERE state IN (…)`, re-checked by
 * Postgres after any wait; a JWT id claim is `INSERT … ON CONFLICT DO NOTHING`) or an upsert, and
 * needs no lock. Change tokens come from the store's `ChangeFeed`.
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { GalenError } from '../../core/index.js';
import type { Database } from '../schema.js';
import type { ChangeTopic, LockName, StoreScope } from '../sql/scope.js';
import { publishChanges } from './change-feed.js';
import type { ChangeFeed } from './change-feed.js';

/**
 * The first key of Galen's advisory locks (the two-int form, a key space apart from the one-int
 * locks other code may take), one per lock name; the second is `hashtext(key)`. A hash collision
 * only makes two writers wait for each other.
 */
const LOCK_CLASS: Record<LockName | 'migrations', number> = {
  migrations: 0x47616c00,
  model: 0x47616c01,
  dataset: 0x47616c02,
  audit: 0x47616c03,
  alert: 0x47616c04,
};
export const MIGRATION_LOCK: readonly [number, number] = [LOCK_CLASS.migrations, 0];

const AUDIT_TRIGGERS = ['audit_log_no_update', 'audit_log_no_delete', 'audit_log_no_truncate'];

/** What every scope of one store shares. */
interface PostgresShared {
  pool: pg.Pool;
  feed: ChangeFeed;
}

export class PostgresScope implements StoreScope {
  private constructor(
    readonly db: Kysely<Database>,
    readonly inTransaction: boolean,
    private readonly shared: PostgresShared,
    /** Inside a transaction: the topics it wrote, published just before it commits. */
    private readonly written: Set<ChangeTopic>,
  ) {}

  static open(db: Kysely<Database>, pool: pg.Pool, feed: ChangeFeed): PostgresScope {
    return new PostgresScope(db, false, { pool, feed }, new Set());
  }

  write<T>(topic: ChangeTopic, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    // The write and its counter bump commit together, so no process can see one without the other.
    if (!this.inTransaction) return this.writeTx((tx) => tx.write(topic, fn));
    this.written.add(topic);
    return fn(this.db);
  }

  changeToken(topic: ChangeTopic): string {
    return this.shared.feed.token(topic);
  }

  async serialise(lock: LockName, key: string): Promise<void> {
    if (!this.inTransaction) return;
    await sql`SELECT pg_advisory_xact_lock(${LOCK_CLASS[lock]}::int4, hashtext(${key}))`.execute(this.db);
  }

  transaction<T>(fn: (tx: StoreScope) => Promise<T>): Promise<T> {
    return this.writeTx(fn);
  }

  async writeTx<T>(fn: (tx: StoreScope) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    const written = new Set<ChangeTopic>();
    const result = await this.db.transaction().execute(async (trx) => {
      const value = await fn(new PostgresScope(trx, true, this.shared, written));
      await publishChanges(trx, written);
      return value;
    });
    // Own writes move the token at once (the notification comes back later, and moves it again).
    this.shared.feed.changed(written);
    return result;
  }

  async auditLogProtected(): Promise<boolean> {
    const { rows } = await sql<{ tgname: string }>`
      SELECT tgname FROM pg_trigger
      WHERE tgrelid = to_regclass('audit_log') AND NOT tgisinternal AND tgenabled <> 'D'`.execute(this.db);
    const names = new Set(rows.map((r) => r.tgname));
    return AUDIT_TRIGGERS.every((name) => names.has(name));
  }

  async probe(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2_000);
    });
    try {
      await Promise.race([this.shared.pool.query('SELECT 1'), timeout]);
    } catch (err) {
      throw new GalenError(
        'unavailable',
        `the metadata database (PostgreSQL) does not answer: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, retryAfterSeconds: 1 },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.shared.feed.close();
    await this.db.destroy(); // ends the pool
  }
}
