/**
 * Which stores this process uses, chosen by configuration: the embedded SQLite database and local
 * files under `dataDir` by default; PostgreSQL when `database.url` is set and an S3-compatible
 * bucket when `artifacts.url` is, so replicas and workers on several hosts share them. Nothing
 * else in Galen knows which it runs on. With S3, `dataDir` keeps only this host's read-through
 * cache (`cache/artifacts`, bounded by `artifacts.cacheMaxBytes`) and training scratch files.
 */
import { join } from 'node:path';
import { redactUrl } from '../config/index.js';
import type { GalenConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import {
  LocalArtifactStore,
  S3ArtifactStore,
  openPostgresMetadataStore,
  openSqliteMetadataStore,
} from '../store/index.js';
import type { ArtifactCipher, ArtifactStore, MetadataStore } from '../store/index.js';

export interface Stores {
  readonly store: MetadataStore;
  readonly artifacts: ArtifactStore;
}

/** Which stores `config` names, for a start-up log line (the database password redacted). */
export function describeStores(config: GalenConfig): { database: string; artifacts: string } {
  return {
    database:
      config.database.url === undefined ? join(config.dataDir, 'galen.db') : redactUrl(config.database.url),
    artifacts: config.artifacts.url ?? join(config.dataDir, 'artifacts'),
  };
}

/** Where the read-through cache of an S3 artifact store lives on this host. */
export const artifactCacheDir = (dataDir: string): string => join(dataDir, 'cache', 'artifacts');

/** Opens the metadata store and the artifact store `config` names. */
export async function openStores(
  config: GalenConfig,
  logger: Logger,
  cipher: ArtifactCipher | undefined,
): Promise<Stores> {
  const { database, artifacts: files } = config;
  const store =
    database.url === undefined
      ? await openSqliteMetadataStore(join(config.dataDir, 'galen.db'))
      : await openPostgresMetadataStore(database.url, { poolSize: database.poolSize, logger });
  // Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID, profiles, IRSA…).
  const artifacts =
    files.url === undefined
      ? new LocalArtifactStore(config.dataDir, cipher)
      : new S3ArtifactStore(
          {
            url: files.url,
            ...(files.s3.endpoint !== undefined && { endpoint: files.s3.endpoint }),
            ...(files.s3.region !== undefined && { region: files.s3.region }),
            forcePathStyle: files.s3.forcePathStyle,
            cacheDir: artifactCacheDir(config.dataDir),
            cacheMaxBytes: files.cacheMaxBytes,
          },
          cipher,
        );
  return { store, artifacts };
}
