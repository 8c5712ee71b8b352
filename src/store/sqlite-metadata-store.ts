/**
 * The embedded metadata store: SQLite through Kysely (WAL mode, foreign keys on, write
 * transactions taken with BEGIN IMMEDIATE so the CLI and a running server can share a file). It is
 * the shared repositories (`./sql/`) made from one SQLite scope (`./sqlite/scope.ts`): one
 * connection, and inside `transaction` one transaction for all of them.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { GalenError } from '../core/index.js';
import type { MetadataStore } from './metadata-store.js';
import { migrationProvider } from './migrations.js';
import { MonitoringWriter } from './monitoring-writer.js';
import type { Database } from './schema.js';
import { sqlMetadataStore } from './sql/metadata-store.js';
import { HotPaths } from './sqlite/hot-paths.js';
import { SqliteScope } from './sqlite/scope.js';

/**
 * Opens (creating if needed) the SQLite database at `path` and brings its schema up to date.
 *
 * @example
 * const store = await openSqliteMetadataStore(join(dataDir, 'galen.db'));
 */
export async function openSqliteMetadataStore(path: string): Promise<MetadataStore> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let database: SqliteDatabase.Database;
  try {
    database = new SqliteDatabase(path, { timeout: 10_000 });
  } catch (err) {
    throw new GalenError(
      'unavailable',
      `cannot open the metadata database ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new GalenError(
      'internal',
      `database migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      {
        cause: error,
      },
    );
  }
  const writer = path === ':memory:' ? undefined : new MonitoringWriter(path);
  return sqlMetadataStore(SqliteScope.open(db, path, new HotPaths(database, writer)));
}
