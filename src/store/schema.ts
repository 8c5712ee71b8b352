/**
 * Table layouts as Kysely sees them, the same on SQLite and Postgres (`migrations.ts`). Times are
 * ISO-8601 text; JSON columns are text.
 */
import type { Generated } from 'kysely';

export interface ModelsTable {
  name: string;
  description: string;
  tags: string;
  /** Serving settings JSON; has a default, so inserts may leave it out. */
  serving: Generated<string>;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export interface ModelVersionsTable {
  model: string;
  version: number;
  sha256: string;
  size_bytes: number;
  description: string;
  signature: string;
  lineage: string;
  metrics: string;
  created_at: string;
  created_by: string;
  archived_at: string | null;
}

export interface AliasesTable {
  model: string;
  alias: string;
  version: number;
  updated_at: string;
  updated_by: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  role: string;
  secret_hash: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

export interface AuditLogTable {
  seq: Generated<number>;
  time: string;
  key_id: string | null;
  role: string | null;
  action: string;
  model: string | null;
  version: number | null;
  status: number;
  request_id: string | null;
  duration_ms: number;
  detail: string;
  prev_hash: string;
  hash: string;
}

export interface DatasetVersionsTable {
  name: string;
  version: number;
  sha256: string;
  size_bytes: number;
  format: string;
  rows: number;
  schema: string;
  description: string;
  created_at: string;
  created_by: string;
}

export interface JobsTable {
  id: string;
  kind: string;
  state: string;
  request: string;
  progress: number;
  stage: string;
  result: string | null;
  error: string | null;
  attempts: number;
  cancel_requested: number;
  owner: string | null;
  heartbeat_at: string | null;
  created_at: string;
  created_by: string;
  created_role: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface JobLogsTable {
  seq: Generated<number>;
  job_id: string;
  time: string;
  level: string;
  message: string;
}

export interface ModelCardsTable {
  model: string;
  version: number;
  card: string;
}

export interface FeatureMapsTable {
  model: string;
  version: number;
  map: string;
  updated_at: string;
  updated_by: string;
}

export interface CdsFeedbackTable {
  seq: Generated<number>;
  service: string;
  card: string;
  outcome: string;
  detail: string;
  outcome_time: string;
  received_at: string;
  received_by: string;
}

export interface CdsJwtIdsTable {
  issuer: string;
  jti: string;
  expires_at: string;
}

export interface ExplainersTable {
  model: string;
  version: number;
  explainer: string;
  updated_at: string;
}

export interface MonitoringProfilesTable {
  model: string;
  version: number;
  profile: string;
  updated_at: string;
}

export interface MonitoringSettingsTable {
  model: string;
  settings: string;
  updated_at: string;
  updated_by: string;
}

export interface MonitoringBatchesTable {
  seq: Generated<number>;
  model: string;
  version: number;
  first_at: string;
  last_at: string;
  rows: number;
  payload: string;
}

export interface MonitoringRequestsTable {
  model: string;
  request_key: string;
  version: number;
  at: string;
  rows: number;
}

export interface MonitoringLabelsTable {
  model: string;
  request_key: string;
  row: number;
  version: number;
  predicted_at: string;
  label: number;
  groups: string | null;
  received_at: string;
  received_by: string;
}

export interface AlertEventsTable {
  seq: Generated<number>;
  model: string;
  version: number;
  rule: string;
  state: string;
  value: number;
  at: string;
  detail: string;
}

/** Postgres only: how often each cached topic was written (`postgres/change-feed.ts`). */
export interface ChangeCountersTable {
  topic: string;
  counter: number;
}

export interface Database {
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  aliases: AliasesTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  dataset_versions: DatasetVersionsTable;
  jobs: JobsTable;
  job_logs: JobLogsTable;
  model_cards: ModelCardsTable;
  feature_maps: FeatureMapsTable;
  cds_feedback: CdsFeedbackTable;
  cds_jwt_ids: CdsJwtIdsTable;
  explainers: ExplainersTable;
  monitoring_profiles: MonitoringProfilesTable;
  monitoring_settings: MonitoringSettingsTable;
  monitoring_batches: MonitoringBatchesTable;
  monitoring_requests: MonitoringRequestsTable;
  monitoring_labels: MonitoringLabelsTable;
  alert_events: AlertEventsTable;
  change_counters: ChangeCountersTable;
}
