/**
 * The embedded metadata store: SQLite through Kysely (WAL mode, foreign keys on, write
 * transactions taken with BEGIN IMMEDIATE so the CLI and a running server can share a file).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { hrtime } from 'node:process';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import type { Selectable } from 'kysely';
import { GalenError } from '../core/index.js';
import { AUDIT_GENESIS_HASH } from './metadata-store.js';
import type { MetadataStore } from './metadata-store.js';
import { migrationProvider } from './migrations.js';
import { MonitoringWriter } from './monitoring-writer.js';
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
import type {
  AuditLogTable,
  Database,
  DatasetVersionsTable,
  JobsTable,
  ModelVersionsTable,
  ModelsTable,
} from './schema.js';

const parseJson = (text: string): JsonObject => JSON.parse(text) as JsonObject;

const toModel = (row: Selectable<ModelsTable>): ModelRecord => ({
  name: row.name,
  description: row.description,
  tags: parseJson(row.tags) as Record<string, string>,
  serving: parseJson(row.serving),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  archivedAt: row.archived_at,
});

const toVersion = (row: Selectable<ModelVersionsTable>): VersionRecord => ({
  model: row.model,
  version: row.version,
  sha256: row.sha256,
  sizeBytes: row.size_bytes,
  description: row.description,
  signature: parseJson(row.signature),
  lineage: parseJson(row.lineage),
  metrics: parseJson(row.metrics),
  createdAt: row.created_at,
  createdBy: row.created_by,
  archivedAt: row.archived_at,
});

const toAlias = (row: Selectable<Database['aliases']>): AliasRecord => ({
  model: row.model,
  alias: row.alias,
  version: row.version,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
});

const toAudit = (row: Selectable<AuditLogTable>): AuditRecord => ({
  seq: row.seq,
  time: row.time,
  keyId: row.key_id,
  role: row.role,
  action: row.action,
  model: row.model,
  version: row.version,
  status: row.status,
  requestId: row.request_id,
  durationMs: row.duration_ms,
  detail: parseJson(row.detail),
  prevHash: row.prev_hash,
  hash: row.hash,
});

/**
 * Prepared statements for the two per-inference paths (version resolution and audit appends),
 * run on the connection directly: Kysely prepares every statement anew, which costs more than
 * these statements do.
 */
const toDatasetVersion = (row: Selectable<DatasetVersionsTable>): DatasetVersionRecord => ({
  name: row.name,
  version: row.version,
  sha256: row.sha256,
  sizeBytes: row.size_bytes,
  format: (['jsonl', 'npz', 'images', 'sequences'] as const).find((f) => f === row.format) ?? 'csv',
  rows: row.rows,
  schema: parseJson(row.schema),
  description: row.description,
  createdAt: row.created_at,
  createdBy: row.created_by,
});

const parseJsonOrNull = (text: string | null): JsonObject | null => (text === null ? null : parseJson(text));

const toJob = (row: Selectable<JobsTable>): JobRecord => ({
  id: row.id,
  kind: row.kind,
  state: row.state as JobState,
  request: parseJson(row.request),
  progress: row.progress,
  stage: row.stage,
  result: parseJsonOrNull(row.result),
  error: parseJsonOrNull(row.error),
  attempts: row.attempts,
  cancelRequested: row.cancel_requested !== 0,
  owner: row.owner,
  heartbeatAt: row.heartbeat_at,
  createdAt: row.created_at,
  createdBy: row.created_by,
  createdRole: row.created_role,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

const toBatch = (row: Selectable<Database['monitoring_batches']>): MonitoringBatchRecord => ({
  model: row.model,
  version: row.version,
  firstAt: row.first_at,
  lastAt: row.last_at,
  rows: row.rows,
  payload: row.payload,
});

const toAlertEvent = (row: Selectable<Database['alert_events']>): AlertEventRecord => ({
  seq: row.seq,
  model: row.model,
  version: row.version,
  rule: row.rule,
  state: row.state === 'firing' ? 'firing' : 'resolved',
  value: row.value,
  at: row.at,
  detail: parseJson(row.detail),
});

class HotPaths {
  private readonly dataVersion: SqliteDatabase.Statement<[], number>;
  private readonly lastAudit: SqliteDatabase.Statement<[], { seq: number; hash: string }>;
  private readonly insertAudit: SqliteDatabase.Statement<unknown[]>;

  constructor(
    readonly database: SqliteDatabase.Database,
    /** Writes recorded-prediction batches on its own thread (file databases only). */
    readonly monitoringWriter?: MonitoringWriter,
  ) {
    this.dataVersion = database.prepare<[], number>('PRAGMA data_version').pluck();
    this.lastAudit = database.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.insertAudit = database.prepare(
      `INSERT INTO audit_log (seq, time, key_id, role, action, model, version, status, request_id,
         duration_ms, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Appends audit records in one immediate transaction: read the chain's end, seal, insert. */
  appendAudit(
    records: readonly NewAuditRecord[],
    seal: (prevHash: string, seq: number, record: NewAuditRecord) => string,
  ): AuditRecord[] {
    return this.database
      .transaction(() => {
        const sealed = sealAudit(records, this.lastAudit.get(), seal);
        for (const r of sealed) {
          this.insertAudit.run(
            r.seq,
            r.time,
            r.keyId,
            r.role,
            r.action,
            r.model,
            r.version,
            r.status,
            r.requestId,
            r.durationMs,
            JSON.stringify(r.detail),
            r.prevHash,
            r.hash,
          );
        }
        return sealed;
      })
      .immediate();
  }

  private lastVersion = 0;
  private lastRead = 0n;

  /**
   * SQLite's data_version: moves when another connection commits. Reading it costs ~15 µs, so
   * it is read at most once per millisecond: another process's change is seen within 1 ms.
   */
  currentDataVersion(): number {
    const now = hrtime.bigint();
    if (now - this.lastRead >= 1_000_000n) {
      this.lastVersion = this.dataVersion.get() ?? 0;
      this.lastRead = now;
    }
    return this.lastVersion;
  }
}

/** Numbers and hash-chains `records` after `last` (the newest record, if any). */
function sealAudit(
  records: readonly NewAuditRecord[],
  last: { seq: number; hash: string } | undefined,
  seal: (prevHash: string, seq: number, record: NewAuditRecord) => string,
): AuditRecord[] {
  let seq = last?.seq ?? 0;
  let prevHash = last?.hash ?? AUDIT_GENESIS_HASH;
  return records.map((record) => {
    seq++;
    const hash = seal(prevHash, seq, record);
    const result = { ...record, seq, prevHash, hash };
    prevHash = hash;
    return result;
  });
}

class SqlMetadataStore implements MetadataStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly inTransaction: boolean,
    /** Writes to models, versions and aliases through this connection (shared with transactions). */
    private readonly registryWrites: { count: number },
    private readonly hot: HotPaths,
  ) {}

  registryChangeToken(): Promise<string> {
    // data_version moves when another connection (another process) commits anything; our own
    // writes are counted here, since they do not move it.
    return Promise.resolve(`${this.hot.currentDataVersion()}:${this.registryWrites.count}`);
  }

  async transaction<T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    return this.db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const result = await fn(new SqlMetadataStore(conn, true, this.registryWrites, this.hot));
        await sql`COMMIT`.execute(conn);
        this.registryWrites.count++;
        return result;
      } catch (err) {
        await sql`ROLLBACK`.execute(conn);
        throw err;
      }
    });
  }

  /**
   * A write transaction that does not touch the registry's tables, so it leaves the change token
   * (and the registry caches keyed on it) alone.
   */
  private async writeTx<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this.db);
    return this.db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return result;
      } catch (err) {
        await sql`ROLLBACK`.execute(conn);
        throw err;
      }
    });
  }

  async getModel(name: string): Promise<ModelRecord | undefined> {
    const row = await this.db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toModel(row);
  }

  async listModels(): Promise<ModelRecord[]> {
    return (await this.db.selectFrom('models').selectAll().orderBy('name').execute()).map(toModel);
  }

  async insertModel(r: ModelRecord): Promise<void> {
    this.registryWrites.count++;
    await this.db
      .insertInto('models')
      .values({
        name: r.name,
        description: r.description,
        tags: JSON.stringify(r.tags),
        serving: JSON.stringify(r.serving),
        created_at: r.createdAt,
        updated_at: r.updatedAt,
        archived_at: r.archivedAt,
      })
      .execute();
  }

  async updateModel(
    name: string,
    patch: Partial<Pick<ModelRecord, 'description' | 'tags' | 'serving' | 'archivedAt' | 'updatedAt'>>,
  ): Promise<void> {
    this.registryWrites.count++;
    await this.db
      .updateTable('models')
      .set({
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.tags !== undefined && { tags: JSON.stringify(patch.tags) }),
        ...(patch.serving !== undefined && { serving: JSON.stringify(patch.serving) }),
        ...(patch.archivedAt !== undefined && { archived_at: patch.archivedAt }),
        ...(patch.updatedAt !== undefined && { updated_at: patch.updatedAt }),
      })
      .where('name', '=', name)
      .execute();
  }

  async getVersion(model: string, version: number): Promise<VersionRecord | undefined> {
    const row = await this.db
      .selectFrom('model_versions')
      .selectAll()
      .where('model', '=', model)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  async listVersions(model: string): Promise<VersionRecord[]> {
    const rows = await this.db
      .selectFrom('model_versions')
      .selectAll()
      .where('model', '=', model)
      .orderBy('version')
      .execute();
    return rows.map(toVersion);
  }

  async maxVersion(model: string): Promise<number> {
    const row = await this.db
      .selectFrom('model_versions')
      .select((eb) => eb.fn.max('version').as('max'))
      .where('model', '=', model)
      .executeTakeFirst();
    return Number(row?.max ?? 0);
  }

  async insertVersion(r: VersionRecord): Promise<void> {
    this.registryWrites.count++;
    await this.db
      .insertInto('model_versions')
      .values({
        model: r.model,
        version: r.version,
        sha256: r.sha256,
        size_bytes: r.sizeBytes,
        description: r.description,
        signature: JSON.stringify(r.signature),
        lineage: JSON.stringify(r.lineage),
        metrics: JSON.stringify(r.metrics),
        created_at: r.createdAt,
        created_by: r.createdBy,
        archived_at: r.archivedAt,
      })
      .execute();
  }

  async updateVersion(
    model: string,
    version: number,
    patch: Partial<Pick<VersionRecord, 'description' | 'archivedAt' | 'metrics'>>,
  ): Promise<void> {
    this.registryWrites.count++;
    await this.db
      .updateTable('model_versions')
      .set({
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.archivedAt !== undefined && { archived_at: patch.archivedAt }),
        ...(patch.metrics !== undefined && { metrics: JSON.stringify(patch.metrics) }),
      })
      .where('model', '=', model)
      .where('version', '=', version)
      .execute();
  }

  async referencedArtifacts(): Promise<Set<string>> {
    const models = await this.db.selectFrom('model_versions').select('sha256').distinct().execute();
    const datasets = await this.db.selectFrom('dataset_versions').select('sha256').distinct().execute();
    return new Set([...models, ...datasets].map((r) => r.sha256));
  }

  async listDatasetVersions(name?: string): Promise<DatasetVersionRecord[]> {
    let query = this.db.selectFrom('dataset_versions').selectAll();
    if (name !== undefined) query = query.where('name', '=', name);
    return (await query.orderBy('name').orderBy('version').execute()).map(toDatasetVersion);
  }

  async getDatasetVersion(name: string, version: number): Promise<DatasetVersionRecord | undefined> {
    const row = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && toDatasetVersion(row);
  }

  async insertDatasetVersion(r: DatasetVersionRecord): Promise<void> {
    await this.db
      .insertInto('dataset_versions')
      .values({
        name: r.name,
        version: r.version,
        sha256: r.sha256,
        size_bytes: r.sizeBytes,
        format: r.format,
        rows: r.rows,
        schema: JSON.stringify(r.schema),
        description: r.description,
        created_at: r.createdAt,
        created_by: r.createdBy,
      })
      .execute();
  }

  async insertJob(r: JobRecord): Promise<void> {
    await this.db
      .insertInto('jobs')
      .values({
        id: r.id,
        kind: r.kind,
        state: r.state,
        request: JSON.stringify(r.request),
        progress: r.progress,
        stage: r.stage,
        result: r.result && JSON.stringify(r.result),
        error: r.error && JSON.stringify(r.error),
        attempts: r.attempts,
        cancel_requested: r.cancelRequested ? 1 : 0,
        owner: r.owner,
        heartbeat_at: r.heartbeatAt,
        created_at: r.createdAt,
        created_by: r.createdBy,
        created_role: r.createdRole,
        started_at: r.startedAt,
        finished_at: r.finishedAt,
      })
      .execute();
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toJob(row);
  }

  async listJobs(options: {
    state?: JobState;
    kinds?: readonly string[];
    ownedOnly?: { kinds: readonly string[]; keyId: string };
    createdBy?: string;
    limit: number;
  }): Promise<JobRecord[]> {
    let query = this.db.selectFrom('jobs').selectAll();
    if (options.state !== undefined) query = query.where('state', '=', options.state);
    if (options.kinds !== undefined) {
      if (options.kinds.length === 0) return [];
      query = query.where('kind', 'in', options.kinds);
    }
    const owned = options.ownedOnly;
    if (owned !== undefined && owned.kinds.length > 0) {
      query = query.where((eb) =>
        eb.or([eb('kind', 'not in', owned.kinds), eb('created_by', '=', owned.keyId)]),
      );
    }
    if (options.createdBy !== undefined) query = query.where('created_by', '=', options.createdBy);
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit)
      .execute();
    return rows.map(toJob);
  }

  async updateJob(
    id: string,
    patch: Partial<Omit<JobRecord, 'id' | 'kind' | 'request' | 'createdAt' | 'createdBy' | 'createdRole'>>,
    whenState?: readonly JobState[],
  ): Promise<boolean> {
    let query = this.db
      .updateTable('jobs')
      .set({
        ...(patch.state !== undefined && { state: patch.state }),
        ...(patch.progress !== undefined && { progress: patch.progress }),
        ...(patch.stage !== undefined && { stage: patch.stage }),
        ...(patch.result !== undefined && { result: patch.result && JSON.stringify(patch.result) }),
        ...(patch.error !== undefined && { error: patch.error && JSON.stringify(patch.error) }),
        ...(patch.attempts !== undefined && { attempts: patch.attempts }),
        ...(patch.cancelRequested !== undefined && { cancel_requested: patch.cancelRequested ? 1 : 0 }),
        ...(patch.owner !== undefined && { owner: patch.owner }),
        ...(patch.heartbeatAt !== undefined && { heartbeat_at: patch.heartbeatAt }),
        ...(patch.startedAt !== undefined && { started_at: patch.startedAt }),
        ...(patch.finishedAt !== undefined && { finished_at: patch.finishedAt }),
      })
      .where('id', '=', id);
    if (whenState !== undefined) query = query.where('state', 'in', whenState);
    const result = await query.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async appendJobLog(jobId: string, lines: readonly Omit<JobLogRecord, 'seq' | 'jobId'>[]): Promise<void> {
    if (lines.length === 0) return;
    await this.db
      .insertInto('job_logs')
      .values(lines.map((l) => ({ job_id: jobId, time: l.time, level: l.level, message: l.message })))
      .execute();
  }

  async listJobLogs(jobId: string, options: { afterSeq?: number; limit: number }): Promise<JobLogRecord[]> {
    const rows = await this.db
      .selectFrom('job_logs')
      .selectAll()
      .where('job_id', '=', jobId)
      .where('seq', '>', options.afterSeq ?? 0)
      .orderBy('seq')
      .limit(options.limit)
      .execute();
    return rows.map((r) => ({
      seq: r.seq,
      jobId: r.job_id,
      time: r.time,
      level: r.level as JobLogRecord['level'],
      message: r.message,
    }));
  }

  async insertModelCard(model: string, version: number, card: JsonObject): Promise<void> {
    await this.db
      .insertInto('model_cards')
      .values({ model, version, card: JSON.stringify(card) })
      .execute();
  }

  async getModelCard(model: string, version: number): Promise<JsonObject | undefined> {
    const row = await this.db
      .selectFrom('model_cards')
      .select('card')
      .where('model', '=', model)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && parseJson(row.card);
  }

  async putExplainer(
    model: string,
    version: number,
    explainer: JsonObject,
    updatedAt: string,
  ): Promise<void> {
    const row = { model, version, explainer: JSON.stringify(explainer), updated_at: updatedAt };
    await this.db
      .insertInto('explainers')
      .values(row)
      .onConflict((c) =>
        c.columns(['model', 'version']).doUpdateSet({ explainer: row.explainer, updated_at: updatedAt }),
      )
      .execute();
  }

  async getExplainer(model: string, version: number): Promise<JsonObject | undefined> {
    const row = await this.db
      .selectFrom('explainers')
      .select('explainer')
      .where('model', '=', model)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && parseJson(row.explainer);
  }

  async putFeatureMap(record: FeatureMapRecord): Promise<void> {
    const row = {
      model: record.model,
      version: record.version,
      map: JSON.stringify(record.map),
      updated_at: record.updatedAt,
      updated_by: record.updatedBy,
    };
    await this.db
      .insertInto('feature_maps')
      .values(row)
      .onConflict((c) =>
        c
          .columns(['model', 'version'])
          .doUpdateSet({ map: row.map, updated_at: row.updated_at, updated_by: row.updated_by }),
      )
      .execute();
  }

  async getFeatureMap(model: string, version: number): Promise<FeatureMapRecord | undefined> {
    const row = await this.db
      .selectFrom('feature_maps')
      .selectAll()
      .where('model', '=', model)
      .where('version', '=', version)
      .executeTakeFirst();
    return (
      row && {
        model: row.model,
        version: row.version,
        map: parseJson(row.map),
        updatedAt: row.updated_at,
        updatedBy: row.updated_by,
      }
    );
  }

  async insertCdsFeedback(records: readonly CdsFeedbackRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db
      .insertInto('cds_feedback')
      .values(
        records.map((r) => ({
          service: r.service,
          card: r.card,
          outcome: r.outcome,
          detail: JSON.stringify(r.detail),
          outcome_time: r.outcomeTime,
          received_at: r.receivedAt,
          received_by: r.receivedBy,
        })),
      )
      .execute();
  }

  async countCdsFeedback(service: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('cds_feedback')
      .select(['outcome', (eb) => eb.fn.countAll<number>().as('n')])
      .where('service', '=', service)
      .groupBy('outcome')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)]));
  }

  async putMonitoringProfile(
    model: string,
    version: number,
    profile: JsonObject,
    updatedAt: string,
  ): Promise<void> {
    const row = { model, version, profile: JSON.stringify(profile), updated_at: updatedAt };
    await this.db
      .insertInto('monitoring_profiles')
      .values(row)
      .onConflict((c) =>
        c.columns(['model', 'version']).doUpdateSet({ profile: row.profile, updated_at: updatedAt }),
      )
      .execute();
  }

  async getMonitoringProfile(model: string, version: number): Promise<JsonObject | undefined> {
    const row = await this.db
      .selectFrom('monitoring_profiles')
      .select('profile')
      .where('model', '=', model)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && parseJson(row.profile);
  }

  async putMonitoringSettings(
    model: string,
    settings: JsonObject,
    updatedAt: string,
    updatedBy: string,
  ): Promise<void> {
    const row = { model, settings: JSON.stringify(settings), updated_at: updatedAt, updated_by: updatedBy };
    await this.db
      .insertInto('monitoring_settings')
      .values(row)
      .onConflict((c) =>
        c
          .column('model')
          .doUpdateSet({ settings: row.settings, updated_at: updatedAt, updated_by: updatedBy }),
      )
      .execute();
  }

  async getMonitoringSettings(model: string): Promise<JsonObject | undefined> {
    const row = await this.db
      .selectFrom('monitoring_settings')
      .select('settings')
      .where('model', '=', model)
      .executeTakeFirst();
    return row && parseJson(row.settings);
  }

  async listMonitoringSettings(): Promise<{ model: string; settings: JsonObject }[]> {
    const rows = await this.db.selectFrom('monitoring_settings').select(['model', 'settings']).execute();
    return rows.map((r) => ({ model: r.model, settings: parseJson(r.settings) }));
  }

  async insertMonitoringBatch(
    batch: MonitoringBatchRecord,
    requests: readonly MonitoringRequestRecord[],
  ): Promise<void> {
    if (!this.inTransaction && this.hot.monitoringWriter) {
      // On the writer's thread and connection: the SQLite work leaves the main thread.
      await this.hot.monitoringWriter.write(batch, requests);
      return;
    }
    await this.writeTx(async (db) => {
      await db
        .insertInto('monitoring_batches')
        .values({
          model: batch.model,
          version: batch.version,
          first_at: batch.firstAt,
          last_at: batch.lastAt,
          rows: batch.rows,
          payload: batch.payload,
        })
        .execute();
      for (let i = 0; i < requests.length; i += 200) {
        const chunk = requests.slice(i, i + 200).map((r) => ({
          model: r.model,
          request_key: r.requestKey,
          version: r.version,
          at: r.at,
          rows: r.rows,
        }));
        await db
          .insertInto('monitoring_requests')
          .values(chunk)
          .onConflict((c) =>
            c.columns(['model', 'request_key']).doUpdateSet((eb) => ({
              version: eb.ref('excluded.version'),
              at: eb.ref('excluded.at'),
              rows: eb.ref('excluded.rows'),
            })),
          )
          .execute();
      }
    });
  }

  async countMonitoringRows(model: string, version: number, from: string, to: string): Promise<number> {
    const row = await this.db
      .selectFrom('monitoring_batches')
      .select((eb) => eb.fn.sum<number | null>('rows').as('rows'))
      .where('model', '=', model)
      .where('version', '=', version)
      .where('last_at', '>=', from)
      .where('first_at', '<', to)
      .executeTakeFirst();
    return Number(row?.rows ?? 0);
  }

  async listMonitoringBatchHeads(
    model: string,
    version: number,
    range: { from: string; to: string },
    page: { afterSeq: number; limit: number },
  ): Promise<MonitoringBatchHead[]> {
    const rows = await this.db
      .selectFrom('monitoring_batches')
      .select(['seq', 'model', 'version', 'first_at', 'last_at', 'rows'])
      .where('model', '=', model)
      .where('version', '=', version)
      .where('last_at', '>=', range.from)
      .where('first_at', '<', range.to)
      .where('seq', '>', page.afterSeq)
      .orderBy('seq')
      .limit(page.limit)
      .execute();
    return rows.map((r) => ({
      seq: r.seq,
      model: r.model,
      version: r.version,
      firstAt: r.first_at,
      lastAt: r.last_at,
      rows: r.rows,
    }));
  }

  async getMonitoringPayloads(seqs: readonly number[]): Promise<{ seq: number; payload: string }[]> {
    if (seqs.length === 0) return [];
    return this.db
      .selectFrom('monitoring_batches')
      .select(['seq', 'payload'])
      .where('seq', 'in', [...seqs])
      .execute();
  }

  async scanMonitoringBatches(
    afterSeq: number,
    limit: number,
  ): Promise<(MonitoringBatchRecord & { seq: number })[]> {
    const rows = await this.db
      .selectFrom('monitoring_batches')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...toBatch(r), seq: r.seq }));
  }

  async scanCdsFeedbackDetails(
    afterSeq: number,
    limit: number,
  ): Promise<{ seq: number; detail: JsonObject }[]> {
    const rows = await this.db
      .selectFrom('cds_feedback')
      .select(['seq', 'detail'])
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ seq: r.seq, detail: parseJson(r.detail) }));
  }

  async replaceCdsFeedbackDetail(seq: number, detail: JsonObject): Promise<void> {
    await this.db
      .updateTable('cds_feedback')
      .set({ detail: JSON.stringify(detail) })
      .where('seq', '=', seq)
      .execute();
  }

  async replaceJobPayload(id: string, request: JsonObject, result: JsonObject | null): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ request: JSON.stringify(request), result: result === null ? null : JSON.stringify(result) })
      .where('id', '=', id)
      .execute();
  }

  async replaceMonitoringPayload(seq: number, payload: string): Promise<void> {
    await this.db.updateTable('monitoring_batches').set({ payload }).where('seq', '=', seq).execute();
  }

  async monitoredVersions(since: string): Promise<{ model: string; version: number }[]> {
    return this.db
      .selectFrom('monitoring_batches')
      .select(['model', 'version'])
      .where('last_at', '>=', since)
      .distinct()
      .execute();
  }

  async findMonitoringRequests(model: string, keys: readonly string[]): Promise<MonitoringRequestRecord[]> {
    const out: MonitoringRequestRecord[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const rows = await this.db
        .selectFrom('monitoring_requests')
        .selectAll()
        .where('model', '=', model)
        .where('request_key', 'in', keys.slice(i, i + 500))
        .execute();
      for (const r of rows)
        out.push({ model: r.model, requestKey: r.request_key, version: r.version, at: r.at, rows: r.rows });
    }
    return out;
  }

  async upsertMonitoringLabels(records: readonly MonitoringLabelRecord[]): Promise<void> {
    await this.writeTx(async (db) => {
      for (let i = 0; i < records.length; i += 200) {
        await db
          .insertInto('monitoring_labels')
          .values(
            records.slice(i, i + 200).map((r) => ({
              model: r.model,
              request_key: r.requestKey,
              row: r.row,
              version: r.version,
              predicted_at: r.predictedAt,
              label: r.label,
              groups: r.groups && JSON.stringify(r.groups),
              received_at: r.receivedAt,
              received_by: r.receivedBy,
            })),
          )
          .onConflict((c) =>
            c.columns(['model', 'request_key', 'row']).doUpdateSet((eb) => ({
              version: eb.ref('excluded.version'),
              predicted_at: eb.ref('excluded.predicted_at'),
              label: eb.ref('excluded.label'),
              groups: eb.ref('excluded.groups'),
              received_at: eb.ref('excluded.received_at'),
              received_by: eb.ref('excluded.received_by'),
            })),
          )
          .execute();
      }
    });
  }

  async scanMonitoringLabelGroups(afterId: number, limit: number): Promise<{ id: number; groups: string }[]> {
    const rows = await this.db
      .selectFrom('monitoring_labels')
      .select([sql<number>`rowid`.as('id'), 'groups'])
      .where(sql<number>`rowid`, '>', afterId)
      .where('groups', 'is not', null)
      .orderBy(sql`rowid`)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, groups: r.groups! }));
  }

  async replaceMonitoringLabelGroups(id: number, groups: string): Promise<void> {
    await this.db
      .updateTable('monitoring_labels')
      .set({ groups })
      .where(sql<number>`rowid`, '=', id)
      .execute();
  }

  async listMonitoringLabels(
    model: string,
    version: number,
    from: string,
    to: string,
  ): Promise<MonitoringLabelRecord[]> {
    const rows = await this.db
      .selectFrom('monitoring_labels')
      .selectAll()
      .where('model', '=', model)
      .where('version', '=', version)
      .where('predicted_at', '>=', from)
      .where('predicted_at', '<', to)
      .execute();
    return rows.map((r) => ({
      model: r.model,
      requestKey: r.request_key,
      row: r.row,
      version: r.version,
      predictedAt: r.predicted_at,
      label: r.label,
      groups: r.groups === null ? null : (parseJson(r.groups) as Record<string, string>),
      receivedAt: r.received_at,
      receivedBy: r.received_by,
    }));
  }

  async pruneMonitoring(before: string, limit: number): Promise<number> {
    // At most `limit` rows per table in one short transaction: a busy day's rows would otherwise
    // hold the write lock (and the main thread) for seconds.
    return this.writeTx(async (db) => {
      let deleted = 0;
      for (const [table, column] of [
        ['monitoring_batches', 'last_at'],
        ['monitoring_requests', 'at'],
        ['monitoring_labels', 'predicted_at'],
      ] as const) {
        const query = sql`DELETE FROM ${sql.table(table)} WHERE rowid IN
            (SELECT rowid FROM ${sql.table(table)} WHERE ${sql.ref(column)} < ${before} LIMIT ${limit})`;
        const result = await query.execute(db);
        deleted += Number(result.numAffectedRows ?? 0);
      }
      return deleted;
    });
  }

  async latestAlertEvents(model: string, version: number): Promise<AlertEventRecord[]> {
    const rows = await this.db
      .selectFrom('alert_events as e')
      .selectAll()
      .where('e.model', '=', model)
      .where('e.version', '=', version)
      .where('e.seq', 'in', (eb) =>
        eb
          .selectFrom('alert_events')
          .select((e) => e.fn.max('seq').as('seq'))
          .where('model', '=', model)
          .where('version', '=', version)
          .groupBy('rule'),
      )
      .execute();
    return rows.map(toAlertEvent);
  }

  async recordAlertTransition(event: Omit<AlertEventRecord, 'seq'>): Promise<AlertEventRecord | undefined> {
    return this.writeTx(async (db) => {
      const last = await db
        .selectFrom('alert_events')
        .select('state')
        .where('model', '=', event.model)
        .where('version', '=', event.version)
        .where('rule', '=', event.rule)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const current = last?.state ?? 'resolved';
      if (current === event.state) return undefined;
      const result = await db
        .insertInto('alert_events')
        .values({ ...event, detail: JSON.stringify(event.detail) })
        .executeTakeFirstOrThrow();
      return { ...event, seq: Number(result.insertId) };
    });
  }

  async listAlertEvents(model: string, limit: number): Promise<AlertEventRecord[]> {
    const rows = await this.db
      .selectFrom('alert_events')
      .selectAll()
      .where('model', '=', model)
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toAlertEvent);
  }

  async claimJwtId(issuer: string, jti: string, expiresAt: string, now: string): Promise<boolean> {
    await this.db.deleteFrom('cds_jwt_ids').where('expires_at', '<', now).execute();
    const result = await this.db
      .insertInto('cds_jwt_ids')
      .values({ issuer, jti, expires_at: expiresAt })
      .onConflict((c) => c.columns(['issuer', 'jti']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async getAlias(model: string, alias: string): Promise<AliasRecord | undefined> {
    const row = await this.db
      .selectFrom('aliases')
      .selectAll()
      .where('model', '=', model)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return row && toAlias(row);
  }

  async listAliases(model?: string): Promise<AliasRecord[]> {
    let query = this.db.selectFrom('aliases').selectAll();
    if (model !== undefined) query = query.where('model', '=', model);
    const rows = await query.orderBy('model').orderBy('alias').execute();
    return rows.map(toAlias);
  }

  async upsertAlias(r: AliasRecord): Promise<void> {
    this.registryWrites.count++;
    await this.db
      .insertInto('aliases')
      .values({
        model: r.model,
        alias: r.alias,
        version: r.version,
        updated_at: r.updatedAt,
        updated_by: r.updatedBy,
      })
      .onConflict((oc) =>
        oc
          .columns(['model', 'alias'])
          .doUpdateSet({ version: r.version, updated_at: r.updatedAt, updated_by: r.updatedBy }),
      )
      .execute();
  }

  async deleteAlias(model: string, alias: string): Promise<boolean> {
    this.registryWrites.count++;
    const result = await this.db
      .deleteFrom('aliases')
      .where('model', '=', model)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toKey(row);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await this.db.selectFrom('api_keys').selectAll().orderBy('created_at').execute()).map(toKey);
  }

  async insertKey(r: ApiKeyRecord): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: r.id,
        name: r.name,
        role: r.role,
        secret_hash: r.secretHash,
        created_at: r.createdAt,
        created_by: r.createdBy,
        revoked_at: r.revokedAt,
      })
      .execute();
  }

  async revokeKey(id: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async appendAudit(
    records: readonly NewAuditRecord[],
    seal: (prevHash: string, seq: number, record: NewAuditRecord) => string,
  ): Promise<AuditRecord[]> {
    if (records.length === 0) return [];
    if (!this.inTransaction && !this.hot.database.inTransaction) {
      // The connection is free (better-sqlite3 is synchronous, so it stays free until this
      // returns): read, seal and insert in one immediate transaction without Kysely's overhead.
      return Promise.resolve(this.hot.appendAudit(records, seal));
    }
    return this.transaction((tx) => (tx as SqlMetadataStore).appendAuditInTransaction(records, seal));
  }

  /** The body of `appendAudit`; must run on a store bound to the transaction's connection. */
  private async appendAuditInTransaction(
    records: readonly NewAuditRecord[],
    seal: (prevHash: string, seq: number, record: NewAuditRecord) => string,
  ): Promise<AuditRecord[]> {
    const last = await this.db
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const sealed = sealAudit(records, last, seal);
    // SQLite allows 32766 bound values per statement: 13 per row, so 2000 rows per insert.
    for (let i = 0; i < sealed.length; i += 2000) {
      await this.db
        .insertInto('audit_log')
        .values(
          sealed.slice(i, i + 2000).map((r) => ({
            seq: r.seq,
            time: r.time,
            key_id: r.keyId,
            role: r.role,
            action: r.action,
            model: r.model,
            version: r.version,
            status: r.status,
            request_id: r.requestId,
            duration_ms: r.durationMs,
            detail: JSON.stringify(r.detail),
            prev_hash: r.prevHash,
            hash: r.hash,
          })),
        )
        .execute();
    }
    return sealed;
  }

  async listAudit(options: { afterSeq?: number; limit: number; newest?: boolean }): Promise<AuditRecord[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', options.afterSeq ?? 0)
      .orderBy('seq', options.newest ? 'desc' : 'asc')
      .limit(options.limit)
      .execute();
    if (options.newest) rows.reverse(); // the last records, still in order
    return rows.map(toAudit);
  }

  async auditLogProtected(): Promise<boolean> {
    const rows = await sql<{
      name: string;
    }>`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`.execute(this.db);
    const names = new Set(rows.rows.map((r) => r.name));
    return names.has('audit_log_no_update') && names.has('audit_log_no_delete');
  }

  async close(): Promise<void> {
    await this.hot.monitoringWriter?.close();
    await this.db.destroy();
  }
}

function toKey(row: Selectable<Database['api_keys']>): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
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
  return new SqlMetadataStore(db, false, { count: 0 }, new HotPaths(database, writer));
}
