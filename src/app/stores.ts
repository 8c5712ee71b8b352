/**
 * Which stores this process uses, chosen by configuration: the embedded SQLite database and local
 * files under `dataDir` by default; PostgreSQL when `database.url` is set and an S3-compatible
 * bucket when `artifacts.url` is, so replicas and workers on several hosts share them. Nothing
 * else in Galen knows which it runs on.
 */
import { join } from 'node:path';
import { ConfigError, redactUrl } from '../config/index.js';
import type { GalenConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import { LocalArtifactStore, openSqliteMetadataStore } from '../store/index.js';
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
  _logger: Logger,
  cipher: ArtifactCipher | undefined,
): Promise<Stores> {
  const { database, artifacts: files } = config;
  if (database.url !== undefined)
    throw new ConfigError([
      `database.url (${redactUrl(database.url)}): this build has no PostgreSQL store yet`,
    ]);
  if (files.url !== undefined)
    throw new ConfigError([`artifacts.url (${files.url}): this build has no S3 artifact store yet`]);
  const store = await openSqliteMetadataStore(join(config.dataDir, 'galen.db'));
  return { store, artifacts: new LocalArtifactStore(config.dataDir, cipher) };
}
