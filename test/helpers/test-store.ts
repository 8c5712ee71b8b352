/**
 * Which stores the end-to-end suites run Galen on. By default the embedded store (SQLite and files
 * in the server's data folder). With `GALEN_TEST_STORE=postgres-s3` (the `postgres-s3` project of
 * vitest.config.ts), every server gets a fresh PostgreSQL database and a fresh S3 prefix instead,
 * so the same suites run unchanged on the shared stores. A server restarted on the same data
 * folder finds the same database and prefix again, as a replica restarting would.
 */
import type { GalenConfig } from '../../src/config/index.js';
import { s3TestSettings } from './artifact-stores.js';
import type { S3TestSettings } from './artifact-stores.js';
import { createPostgresTestDatabase, dropPostgresTestDatabase } from './stores.js';

export type TestStoreKind = 'embedded' | 'postgres-s3';

/** The stores this test process runs servers on. */
export const TEST_STORE: TestStoreKind =
  process.env.GALEN_TEST_STORE === 'postgres-s3' ? 'postgres-s3' : 'embedded';

/** A database and a bucket prefix shared by every server started on one data folder. */
export interface SharedStore {
  readonly databaseUrl: string;
  readonly s3: S3TestSettings;
  /** The configuration sections that point a server at them. */
  readonly config: Pick<GalenConfig, 'database' | 'artifacts'>;
  /** The same as GALEN_* (and AWS_*) variables, for a `galen` child process. */
  readonly env: Readonly<Record<string, string>>;
}

const byDataDir = new Map<string, Promise<SharedStore>>();

async function createSharedStore(): Promise<SharedStore> {
  const [databaseUrl, s3] = await Promise.all([createPostgresTestDatabase(), s3TestSettings()]);
  return {
    databaseUrl,
    s3,
    config: {
      database: { url: databaseUrl, poolSize: 4 },
      artifacts: {
        url: s3.url,
        s3: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true },
        cacheMaxBytes: 256 * 1024 * 1024,
      },
    } as Pick<GalenConfig, 'database' | 'artifacts'>,
    env: { GALEN_DATABASE_URL: databaseUrl, GALEN_DATABASE_POOL_SIZE: '4', ...s3.env },
  };
}

/**
 * The shared store of servers on `dataDir` (made on first use), or undefined on the embedded
 * store. Removed by {@link disposeSharedStore} or, for those left, {@link disposeSharedStores}.
 */
export function sharedStoreFor(dataDir: string): Promise<SharedStore> | undefined {
  if (TEST_STORE !== 'postgres-s3') return undefined;
  let shared = byDataDir.get(dataDir);
  if (!shared) {
    shared = createSharedStore();
    byDataDir.set(dataDir, shared);
  }
  return shared;
}

/** Drops the database and empties the prefix of `dataDir`'s shared store, if it has one. */
export async function disposeSharedStore(dataDir: string): Promise<void> {
  const shared = byDataDir.get(dataDir);
  if (!shared) return;
  byDataDir.delete(dataDir);
  const { databaseUrl, s3 } = await shared;
  await Promise.all([dropPostgresTestDatabase(databaseUrl), s3.cleanup()]);
}

/** Disposes of every shared store still kept (after a test file). */
export async function disposeSharedStores(): Promise<void> {
  await Promise.all([...byDataDir.keys()].map(disposeSharedStore));
}
