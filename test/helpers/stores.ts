/**
 * The metadata stores a parameterised suite runs against: embedded SQLite on a fresh file, and
 * PostgreSQL on a fresh database (`CREATE DATABASE galen_t_<random>` on the server of
 * `GALEN_TEST_DATABASE_URL`, dropped after). Without `GALEN_TEST_DATABASE_URL` the Postgres entry
 * is skipped, unless `GALEN_REQUIRE_SERVICES=1` (CI): then its tests fail instead.
 *
 * @example
 * describe.each(metadataStoreFactories())('$name store', (factory) => {
 *   let database: TestDatabase;
 *   beforeEach(async (ctx) => { if (factory.skip) ctx.skip(); database = await factory.create(); });
 *   afterEach(() => database?.drop());
 *   it('…', async () => { const store = await database.open(); … });
 * });
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { openPostgresMetadataStore, openSqliteMetadataStore } from '../../src/store/index.js';
import type {
  ApiKeyRecord,
  JobRecord,
  MetadataStore,
  ModelRecord,
  PostgresStoreOptions,
  VersionRecord,
} from '../../src/store/index.js';

/** One empty database; every store opened on it is closed, and the database removed, by `drop`. */
export interface TestDatabase {
  /** Opens another store on this database: another process's (replica's) view of it. */
  open(options?: PostgresStoreOptions): Promise<MetadataStore>;
  /** The SQLite file, or the Postgres URL. */
  readonly location: string;
  /** Runs one SQL statement on a connection of its own, outside any store (to try what the store would refuse). */
  query(statement: string): Promise<void>;
  drop(): Promise<void>;
}

export interface StoreFactory {
  name: 'sqlite' | 'postgres';
  /** Why this store's tests are skipped here, or undefined when they run. */
  skip: string | undefined;
  create(): Promise<TestDatabase>;
}

/** Resolves with the milliseconds it took once `check` holds (checked every 20 ms); fails after `ms`. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const REQUIRED = process.env.GALEN_REQUIRE_SERVICES === '1';

/** The server URL Postgres tests use; throws when it is unset and services are required. */
function serverUrl(): string {
  const url = process.env.GALEN_TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    throw new Error(
      'GALEN_TEST_DATABASE_URL is not set, and GALEN_REQUIRE_SERVICES=1 requires the Postgres tests to run',
    );
  }
  return url;
}

/** Why Postgres tests are skipped (undefined: they run, or fail for want of the server when required). */
export function postgresSkipReason(): string | undefined {
  if (REQUIRED || (process.env.GALEN_TEST_DATABASE_URL ?? '') !== '') return undefined;
  return 'GALEN_TEST_DATABASE_URL is not set (PostgreSQL tests skipped; GALEN_REQUIRE_SERVICES=1 makes this a failure)';
}

async function onServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database `galen_t_<random>` on the test server and returns its URL. */
export async function createPostgresTestDatabase(): Promise<string> {
  const name = `galen_t_${randomBytes(8).toString('hex')}`;
  await onServer((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by `createPostgresTestDatabase`, ending any connection still on it. */
export async function dropPostgresTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!/^galen_t_[0-9a-f]{16}$/.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  await onServer((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

function tracking(
  location: string,
  openOne: (options?: PostgresStoreOptions) => Promise<MetadataStore>,
  query: (statement: string) => Promise<void>,
  remove: () => Promise<void>,
): TestDatabase {
  const opened: MetadataStore[] = [];
  return {
    location,
    query,
    async open(options) {
      const store = await openOne(options);
      opened.push(store);
      return store;
    },
    async drop() {
      // A test may have closed a store already; closing twice is harmless to ignore.
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      await remove();
    },
  };
}

/** SQLite on a temp file, and Postgres on a fresh database (see the module comment). */
export function metadataStoreFactories(): StoreFactory[] {
  return [
    {
      name: 'sqlite',
      skip: undefined,
      create: () => {
        const dir = mkdtempSync(join(tmpdir(), 'galen-store-'));
        const path = join(dir, 'galen.db');
        return Promise.resolve(
          tracking(
            path,
            () => openSqliteMetadataStore(path),
            async (statement) => {
              await Promise.resolve();
              const db = new SqliteDatabase(path, { timeout: 5_000 });
              try {
                db.exec(statement);
              } finally {
                db.close();
              }
            },
            () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
          ),
        );
      },
    },
    {
      name: 'postgres',
      skip: postgresSkipReason(),
      create: async () => {
        const url = await createPostgresTestDatabase();
        return tracking(
          url,
          (options) => openPostgresMetadataStore(url, { poolSize: 4, ...options }),
          async (statement) => {
            const client = new pg.Client({ connectionString: url });
            client.on('error', () => undefined);
            await client.connect();
            try {
              await client.query(statement);
            } finally {
              await client.end();
            }
          },
          () => dropPostgresTestDatabase(url),
        );
      },
    },
  ];
}

/** The time store test records carry. */
export const RECORD_TIME = '2026-12-07T00:00:00.000Z';

/** A complete model row named `m`; `patch` sets what a test cares about. */
export const modelRecord = (patch: Partial<ModelRecord> = {}): ModelRecord => ({
  name: 'm',
  description: '',
  tags: {},
  serving: {},
  createdAt: RECORD_TIME,
  updatedAt: RECORD_TIME,
  archivedAt: null,
  ...patch,
});

/** Version 1 of model `m`. */
export const versionRecord = (patch: Partial<VersionRecord> = {}): VersionRecord => ({
  model: 'm',
  version: 1,
  sha256: 'a'.repeat(64),
  sizeBytes: 1,
  description: '',
  signature: {},
  lineage: {},
  metrics: {},
  createdAt: RECORD_TIME,
  createdBy: 'k',
  archivedAt: null,
  ...patch,
});

/** An admin key `k1`. */
export const keyRecord = (patch: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: 'k1',
  name: 'n',
  role: 'admin',
  secretHash: 'h',
  createdAt: RECORD_TIME,
  createdBy: 'k',
  revokedAt: null,
  ...patch,
});

/** A queued training job `id`. */
export const jobRecord = (id: string, patch: Partial<JobRecord> = {}): JobRecord => ({
  id,
  kind: 'train',
  state: 'queued',
  request: { model: 'm' },
  progress: 0,
  stage: '',
  result: null,
  error: null,
  attempts: 0,
  cancelRequested: false,
  owner: null,
  heartbeatAt: null,
  createdAt: RECORD_TIME,
  createdBy: 'k1',
  createdRole: 'developer',
  startedAt: null,
  finishedAt: null,
  ...patch,
});
