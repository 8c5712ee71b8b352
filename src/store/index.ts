/**
 * Persistence: the SQL metadata store and the artifact store, each behind a small interface
 * (embedded SQLite + local files now; Postgres + S3-compatible adapters later).
 */
export { AUDIT_GENESIS_HASH } from './metadata-store.js';
export type { MetadataStore } from './metadata-store.js';
export type {
  AlertRepository,
  ApiKeyRepository,
  ArtifactReferenceRepository,
  AuditRepository,
  CdsFeedbackRepository,
  DatasetRepository,
  JobRepository,
  JwtReplayLedger,
  ModelRepository,
  MonitoringRepository,
  Repositories,
  UnitOfWork,
  VersionDocumentRepository,
} from './repositories.js';
export { JOB_STATES } from './records.js';
export { openSqliteMetadataStore } from './sqlite-metadata-store.js';
export { openPostgresMetadataStore } from './postgres-metadata-store.js';
export type { PostgresStoreOptions } from './postgres-metadata-store.js';
export type { StoreLogger } from './postgres/pool.js';
export { probeSqliteDatabase } from './store-probe.js';
export type { ArtifactStore, StagedArtifact } from './artifact-store.js';
export { LocalArtifactStore } from './local-artifact-store.js';
export { S3ArtifactStore } from './s3-artifact-store.js';
export type { S3ArtifactStoreOptions } from './s3-artifact-store.js';
export { ArtifactCipher, openJson, sealJson } from './artifact-cipher.js';
export type {
  AliasRecord,
  ApiKeyRecord,
  AuditRecord,
  DatasetVersionRecord,
  JobLogRecord,
  JobRecord,
  JobState,
  JsonObject,
  ModelRecord,
  NewAuditRecord,
  VersionRecord,
  CdsFeedbackRecord,
  FeatureMapRecord,
  AlertEventRecord,
  MonitoringBatchHead,
  MonitoringBatchRecord,
  MonitoringLabelRecord,
  MonitoringRequestRecord,
} from './records.js';
