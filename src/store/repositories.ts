/**
 * The metadata store's repositories, one per aggregate: each service receives the few it uses,
 * and each store implementation (embedded SQLite, PostgreSQL) is the same set of them (`sql/`)
 * sharing one connection (SQLite) or pool (Postgres) and one transaction
 * (`MetadataStore.transaction`).
 */
import type {
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

/** Models, their versions and aliases: what `registry.resolve` reads. */
export interface ModelRepository {
  /**
   * A value that changes whenever models, versions or aliases may have changed, in this process
   * or another: callers may cache what they read from those tables while it stays the same.
   */
  registryChangeToken(): Promise<string>;

  getModel(name: string): Promise<ModelRecord | undefined>;
  listModels(): Promise<ModelRecord[]>;
  insertModel(record: ModelRecord): Promise<void>;
  updateModel(
    name: string,
    patch: Partial<Pick<ModelRecord, 'description' | 'tags' | 'serving' | 'archivedAt' | 'updatedAt'>>,
  ): Promise<void>;

  getVersion(model: string, version: number): Promise<VersionRecord | undefined>;
  listVersions(model: string): Promise<VersionRecord[]>;
  /** Highest version number ever given to `model` (archived included), 0 when none. */
  maxVersion(model: string): Promise<number>;
  /** The highest version number of every model that has one, in one query. */
  maxVersions(): Promise<Map<string, number>>;
  /** The newest unarchived version of `model` whose file has this digest, if any. */
  findVersionByDigest(model: string, sha256: string): Promise<number | undefined>;
  insertVersion(record: VersionRecord): Promise<void>;
  updateVersion(
    model: string,
    version: number,
    patch: Partial<Pick<VersionRecord, 'description' | 'archivedAt' | 'metrics'>>,
  ): Promise<void>;

  getAlias(model: string, alias: string): Promise<AliasRecord | undefined>;
  listAliases(model?: string): Promise<AliasRecord[]>;
  upsertAlias(record: AliasRecord): Promise<void>;
  deleteAlias(model: string, alias: string): Promise<boolean>;
}

/** Documents kept beside a model version: its card, explainer, feature map and monitoring profile. */
export interface VersionDocumentRepository {
  /** A version's model card (written in the transaction that registers it). */
  insertModelCard(model: string, version: number, card: JsonObject): Promise<void>;
  getModelCard(model: string, version: number): Promise<JsonObject | undefined>;
  /** Stores (or replaces) a version's explainer. */
  putExplainer(model: string, version: number, explainer: JsonObject, updatedAt: string): Promise<void>;
  getExplainer(model: string, version: number): Promise<JsonObject | undefined>;
  /** Stores (or replaces) a version's feature map. */
  putFeatureMap(record: FeatureMapRecord): Promise<void>;
  getFeatureMap(model: string, version: number): Promise<FeatureMapRecord | undefined>;
  /** Stores (or replaces) a version's monitoring profile. */
  putMonitoringProfile(model: string, version: number, profile: JsonObject, updatedAt: string): Promise<void>;
  getMonitoringProfile(model: string, version: number): Promise<JsonObject | undefined>;
}

/** Which artifacts rows still refer to (the artifact sweeper's question). */
export interface ArtifactReferenceRepository {
  /** Every artifact digest a model version or a dataset version refers to. */
  referencedArtifacts(): Promise<Set<string>>;
}

export interface DatasetRepository {
  /** Dataset versions of `name` (every name when omitted), oldest first. */
  listDatasetVersions(name?: string): Promise<DatasetVersionRecord[]>;
  getDatasetVersion(name: string, version: number): Promise<DatasetVersionRecord | undefined>;
  insertDatasetVersion(record: DatasetVersionRecord): Promise<void>;
}

/** Jobs and their log lines. */
export interface JobRepository {
  insertJob(record: JobRecord): Promise<void>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /**
   * Newest first (with `oldestFirst`, oldest first: the order a queue is served in); `state`
   * filters; `kinds` keeps those kinds only; `ownedOnly` keeps jobs of its kinds only when `keyId`
   * created them; `createdBy` keeps one key's jobs.
   */
  listJobs(options: {
    state?: JobState;
    kinds?: readonly string[];
    ownedOnly?: { kinds: readonly string[]; keyId: string };
    createdBy?: string;
    oldestFirst?: boolean;
    limit: number;
  }): Promise<JobRecord[]>;
  /**
   * Changes a job, only while it is in one of `whenState` (when given); says whether it changed.
   * Lets a cancel and a finishing run race without one overwriting the other.
   */
  updateJob(
    id: string,
    patch: Partial<Omit<JobRecord, 'id' | 'kind' | 'request' | 'createdAt' | 'createdBy' | 'createdRole'>>,
    whenState?: readonly JobState[],
  ): Promise<boolean>;
  appendJobLog(jobId: string, lines: readonly Omit<JobLogRecord, 'seq' | 'jobId'>[]): Promise<void>;
  listJobLogs(jobId: string, options: { afterSeq?: number; limit: number }): Promise<JobLogRecord[]>;
  /** Replaces a job's stored request and result as they are (re-encryption under a new master key). */
  replaceJobPayload(id: string, request: JsonObject, result: JsonObject | null): Promise<void>;
}

export interface ApiKeyRepository {
  /**
   * A value that changes whenever API keys may have changed, in this process or another (a
   * revocation on any replica): callers may cache verified keys while it stays the same.
   */
  keysChangeToken(): Promise<string>;
  getKey(id: string): Promise<ApiKeyRecord | undefined>;
  listKeys(): Promise<ApiKeyRecord[]>;
  insertKey(record: ApiKeyRecord): Promise<void>;
  revokeKey(id: string, at: string): Promise<boolean>;
}

/** The append-only, hash-chained audit log. */
export interface AuditRepository {
  /**
   * Appends audit records in order, in one serialised write. `seal` receives each record's
   * predecessor hash (or the chain's genesis value) and its sequence number and returns its hash.
   */
  appendAudit(
    records: readonly NewAuditRecord[],
    seal: (prevHash: string, seq: number, record: NewAuditRecord) => string,
  ): Promise<AuditRecord[]>;
  /** Audit records in order, `limit` at a time after `afterSeq`; with `newest`, the last `limit` records. */
  listAudit(options: { afterSeq?: number; limit: number; newest?: boolean }): Promise<AuditRecord[]>;
  /** Whether the database still refuses updates and deletes of audit records. */
  auditLogProtected(): Promise<boolean>;
}

/** JWT ids already used by CDS clients (replay protection). */
export interface JwtReplayLedger {
  /**
   * Records that `issuer` used the JWT id `jti`, valid until `expiresAt`; false when it was
   * already recorded (a replay). Ids expired before `now` are forgotten.
   */
  claimJwtId(issuer: string, jti: string, expiresAt: string, now: string): Promise<boolean>;
}

/** Recorded predictions, their request index and labels, and each model's monitoring settings. */
export interface MonitoringRepository {
  /** Stores (or replaces) a model's monitoring settings. */
  putMonitoringSettings(
    model: string,
    settings: JsonObject,
    updatedAt: string,
    updatedBy: string,
  ): Promise<void>;
  getMonitoringSettings(model: string): Promise<JsonObject | undefined>;
  listMonitoringSettings(): Promise<{ model: string; settings: JsonObject }[]>;
  /** Appends a batch of samples and indexes its requests that carried an id (a repeated id points at the latest). */
  insertMonitoringBatch(
    batch: MonitoringBatchRecord,
    requests: readonly MonitoringRequestRecord[],
  ): Promise<void>;
  /** Rows in the batches of a version that overlap [from, to). */
  countMonitoringRows(model: string, version: number, from: string, to: string): Promise<number>;
  /** Batches of a version that overlap [from, to), without their payloads: `limit` at a time after `afterSeq`, oldest first. */
  listMonitoringBatchHeads(
    model: string,
    version: number,
    range: { from: string; to: string },
    page: { afterSeq: number; limit: number },
  ): Promise<MonitoringBatchHead[]>;
  /** The payloads of the batches `seqs` (those that still exist). */
  getMonitoringPayloads(seqs: readonly number[]): Promise<{ seq: number; payload: string }[]>;
  /** Every batch (for re-sealing after a key rotation), `limit` at a time after `afterSeq`. */
  scanMonitoringBatches(
    afterSeq: number,
    limit: number,
  ): Promise<(MonitoringBatchRecord & { seq: number })[]>;
  replaceMonitoringPayload(seq: number, payload: string): Promise<void>;
  /** Versions with samples since `since`. */
  monitoredVersions(since: string): Promise<{ model: string; version: number }[]>;
  findMonitoringRequests(model: string, keys: readonly string[]): Promise<MonitoringRequestRecord[]>;
  /** Stores labels; a second label for the same request row replaces the first. */
  upsertMonitoringLabels(records: readonly MonitoringLabelRecord[]): Promise<void>;
  /** Label groups as stored (for re-sealing after a key rotation), `limit` at a time after the label `afterId`. */
  scanMonitoringLabelGroups(afterId: number, limit: number): Promise<{ id: number; groups: string }[]>;
  replaceMonitoringLabelGroups(id: number, groups: string): Promise<void>;
  /** Labels of a version's predictions made in [from, to). */
  listMonitoringLabels(
    model: string,
    version: number,
    from: string,
    to: string,
  ): Promise<MonitoringLabelRecord[]>;
  /**
   * Deletes samples, request ids and labels of predictions made before `before`, at most `limit`
   * rows of each in one transaction; returns the rows deleted (0 once nothing is left).
   */
  pruneMonitoring(before: string, limit: number): Promise<number>;
}

/** The history of monitoring alert rules' states. */
export interface AlertRepository {
  /** The latest event of each rule of a version. */
  latestAlertEvents(model: string, version: number): Promise<AlertEventRecord[]>;
  /**
   * Records a rule's change of state, unless its latest event already has that state (or it
   * resolves a rule that never fired): checked and written in one transaction, so processes
   * judging the same rule report one change between them. Undefined when nothing changed.
   */
  recordAlertTransition(event: Omit<AlertEventRecord, 'seq'>): Promise<AlertEventRecord | undefined>;
  /** A model's alert events, newest first. */
  listAlertEvents(model: string, limit: number): Promise<AlertEventRecord[]>;
}

/** Clinicians' feedback on CDS Hooks cards. */
export interface CdsFeedbackRepository {
  /** Appends CDS card feedback. */
  insertCdsFeedback(records: readonly CdsFeedbackRecord[]): Promise<void>;
  /** Feedback counts per outcome for a service. */
  countCdsFeedback(service: string): Promise<Record<string, number>>;
  /** Feedback details after `afterSeq`, in order (for re-encryption under a new master key). */
  scanCdsFeedbackDetails(afterSeq: number, limit: number): Promise<{ seq: number; detail: JsonObject }[]>;
  replaceCdsFeedbackDetail(seq: number, detail: JsonObject): Promise<void>;
}

/** Every repository, bound to one connection (or to one transaction). */
export interface Repositories
  extends
    ModelRepository,
    VersionDocumentRepository,
    ArtifactReferenceRepository,
    DatasetRepository,
    JobRepository,
    ApiKeyRepository,
    AuditRepository,
    JwtReplayLedger,
    MonitoringRepository,
    AlertRepository,
    CdsFeedbackRepository {}

/**
 * Runs work over the repositories `R` in one write transaction (SQLite: serialised against every
 * other writer; Postgres: READ COMMITTED, with the locks that keep version numbers, alias moves,
 * the audit chain and alert transitions serialised across processes): a service that writes several aggregates together receives this
 * with the repositories it uses.
 */
export interface UnitOfWork<R> {
  /** Runs `fn` in one write transaction; inside, use the repositories passed to `fn`. */
  transaction<T>(fn: (tx: R) => Promise<T>): Promise<T>;
}
