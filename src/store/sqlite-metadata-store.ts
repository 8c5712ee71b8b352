/**
 * The embedded metadata store: SQLite through Kysely (WAL mode, foreign keys on, write
 * transactions taken with BEGIN IMMEDIATE so the CLI and a running server can share a file). It is
 * the set of SQLite repositories (`./sqlite/`) made from one scope: one connection, and inside
 * `transaction` one transaction for all of them.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { GalenError } from '../core/index.js';
import type { MetadataStore } from './metadata-store.js';
import { migrationProvider } from './migrations.js';
import { MonitoringWriter } from './monitoring-writer.js';
import type { Repositories } from './repositories.js';
import type { Database } from './schema.js';
import { sqliteAlertRepository } from './sqlite/alert-repository.js';
import { sqliteApiKeyRepository } from './sqlite/api-key-repository.js';
import { sqliteAuditRepository } from './sqlite/audit-repository.js';
import { sqliteCdsFeedbackRepository } from './sqlite/cds-feedback-repository.js';
import { sqliteArtifactReferences, sqliteDatasetRepository } from './sqlite/dataset-repository.js';
import { HotPaths } from './sqlite/hot-paths.js';
import { sqliteJobRepository } from './sqlite/job-repository.js';
import { sqliteJwtReplayLedger } from './sqlite/jwt-replay-ledger.js';
import { sqliteModelRepository } from './sqlite/model-repository.js';
import { sqliteMonitoringRepository } from './sqlite/monitoring-repository.js';
import { SqliteScope } from './sqlite/scope.js';
import { sqliteVersionDocuments } from './sqlite/version-documents.js';

/** Every SQLite repository, bound to `scope`'s connection (or transaction). */
function sqliteRepositories(scope: SqliteScope): Repositories {
  return {
    ...sqliteModelRepository(scope),
    ...sqliteVersionDocuments(scope),
    ...sqliteArtifactReferences(scope),
    ...sqliteDatasetRepository(scope),
    ...sqliteJobRepository(scope),
    ...sqliteApiKeyRepository(scope),
    ...sqliteAuditRepository(scope),
    ...sqliteJwtReplayLedger(scope),
    ...sqliteMonitoringRepository(scope),
    ...sqliteAlertRepository(scope),
    ...sqliteCdsFeedbackRepository(scope),
  };
}

/** The repositories plus transactions over all of them, on `scope`. */
function sqliteMetadataStore(scope: SqliteScope): MetadataStore {
  return {
    ...sqliteRepositories(scope),
    transaction: <T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T> =>
      scope.transaction((tx) => fn(sqliteMetadataStore(tx))),
    async close(): Promise<void> {
      await scope.hot.monitoringWriter?.close();
      await scope.db.destroy();
    },
  };
}

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
  return sqliteMetadataStore(new SqliteScope(db, false, { count: 0 }, new HotPaths(database, writer)));
}
