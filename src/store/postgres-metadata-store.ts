/**
 * The PostgreSQL metadata store, for several replicas and workers sharing one database: the
 * shared repositories (`./sql/`) made from one Postgres scope (`./postgres/scope.ts`) over a `pg`
 * pool, with the same migrations as SQLite, applied under an advisory lock so replicas starting
 * together migrate once, and change tokens kept in memory by LISTEN/NOTIFY plus a poll
 * (`./postgres/change-feed.ts`).
 */
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { GalenError } from '../core/index.js';
import type { MetadataStore } from './metadata-store.js';
import { migrationProvider } from './migrations.js';
import { ChangeFeed } from './postgres/change-feed.js';
import { clientConfig, createPool } from './postgres/pool.js';
import type { StoreLogger } from './postgres/pool.js';
import { MIGRATION_LOCK, PostgresScope } from './postgres/scope.js';
import type { Database } from './schema.js';
import { sqlMetadataStore } from './sql/metadata-store.js';

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10), plus one for the change listener. */
  poolSize?: number;
  logger?: StoreLogger;
  /** How often the change counters are polled behind LISTEN (default 1000 ms). */
  changePollMs?: number;
}

/** Applies every pending migration while holding Galen's migration lock (a session advisory lock). */
async function migrate(pool: pg.Pool, db: Kysely<Database>): Promise<void> {
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
    try {
      const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
        throw new GalenError(
          'internal',
          `database migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
          { cause: error },
        );
      }
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]);
    }
  } finally {
    lock.release();
  }
}

/**
 * Connects to the PostgreSQL database at `url` (`postgres://user:pass@host:5432/db`), brings its
 * schema up to date and starts following other replicas' changes.
 *
 * @example
 * const store = await openPostgresMetadataStore(process.env.GALEN_DATABASE_URL, { poolSize: 10, logger });
 */
export async function openPostgresMetadataStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<MetadataStore> {
  const pool = createPool(url, Math.max(2, options.poolSize ?? 10), options.logger);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const feed = new ChangeFeed(pool, clientConfig(url), options.logger, options.changePollMs ?? 1_000);
  try {
    await migrate(pool, db);
    await feed.start();
  } catch (err) {
    await feed.close();
    await db.destroy();
    if (err instanceof GalenError) throw err;
    throw new GalenError(
      'unavailable',
      `cannot open the metadata database: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return sqlMetadataStore(PostgresScope.open(db, pool, feed));
}
