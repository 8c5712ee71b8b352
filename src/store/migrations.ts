/**
 * Schema migrations, applied in order at start, one list for SQLite and PostgreSQL: where the two
 * engines' SQL differs (column types, auto-numbered keys, the audit log's triggers, SQLite's
 * implicit `rowid`) a migration asks `columnTypes(db)`, so both keep the same schema history and
 * the SQLite statements stay exactly what they always were. Never edit a released migration: add
 * one.
 */
import { PostgresAdapter, sql } from 'kysely';
import type {
  ColumnDefinitionBuilder,
  CreateTableBuilder,
  Kysely,
  Migration,
  MigrationProvider,
} from 'kysely';

/** A column type as `addColumn` takes it (Kysely does not export the name). */
type DataTypeExpression = Parameters<CreateTableBuilder<string>['addColumn']>[1];

/** The column types and statements that differ between the engines. */
interface ColumnTypes {
  postgres: boolean;
  /** Text compared byte by byte on both (Postgres: collation "C"), so ordering is the same. */
  text: DataTypeExpression;
  /** SQLite's INTEGER holds 64 bits: `bigint` on Postgres (read back as numbers, `postgres/pool.ts`). */
  int: DataTypeExpression;
  /** SQLite's REAL is a double: `double precision` on Postgres (its `real` is 4 bytes). */
  real: DataTypeExpression;
  /** An auto-numbered primary key (`seq`). */
  autoId: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  /**
   * Postgres has no implicit `rowid`: tables that code addresses by rowid get a column of that
   * name (an identity), so the same statements run on both.
   */
  rowid: <T extends string, C extends string>(t: CreateTableBuilder<T, C>) => CreateTableBuilder<T, C>;
}

function columnTypes(db: Kysely<unknown>): ColumnTypes {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) {
    return {
      postgres: false,
      text: 'text',
      int: 'integer',
      real: 'real',
      autoId: (c) => c.primaryKey().autoIncrement(),
      rowid: (t) => t,
    };
  }
  return {
    postgres: true,
    text: sql`text collate "C"`,
    int: 'bigint',
    real: 'double precision',
    autoId: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
    rowid: (t) => t.addColumn('rowid', 'bigint', (c) => c.generatedAlwaysAsIdentity().unique()),
  };
}

const migrations: Record<string, Migration> = {
  '0001-registry-security-audit': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      await db.schema
        .createTable('models')
        .addColumn('name', t.text, (c) => c.primaryKey())
        .addColumn('description', t.text, (c) => c.notNull().defaultTo(''))
        .addColumn('tags', t.text, (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', t.text, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .addColumn('archived_at', t.text)
        .execute();
      await db.schema
        .createTable('model_versions')
        .addColumn('model', t.text, (c) => c.notNull().references('models.name'))
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('sha256', t.text, (c) => c.notNull())
        .addColumn('size_bytes', t.int, (c) => c.notNull())
        .addColumn('description', t.text, (c) => c.notNull().defaultTo(''))
        .addColumn('signature', t.text, (c) => c.notNull())
        .addColumn('lineage', t.text, (c) => c.notNull().defaultTo('{}'))
        .addColumn('metrics', t.text, (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', t.text, (c) => c.notNull())
        .addColumn('created_by', t.text, (c) => c.notNull())
        .addColumn('archived_at', t.text)
        .addPrimaryKeyConstraint('model_versions_pk', ['model', 'version'])
        .execute();
      await db.schema
        .createTable('aliases')
        .addColumn('model', t.text, (c) => c.notNull().references('models.name'))
        .addColumn('alias', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .addColumn('updated_by', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('aliases_pk', ['model', 'alias'])
        .addForeignKeyConstraint('aliases_version_fk', ['model', 'version'], 'model_versions', [
          'model',
          'version',
        ])
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', t.text, (c) => c.primaryKey())
        .addColumn('name', t.text, (c) => c.notNull())
        .addColumn('role', t.text, (c) => c.notNull())
        .addColumn('secret_hash', t.text, (c) => c.notNull())
        .addColumn('created_at', t.text, (c) => c.notNull())
        .addColumn('created_by', t.text, (c) => c.notNull())
        .addColumn('revoked_at', t.text)
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('seq', t.int, t.autoId)
        .addColumn('time', t.text, (c) => c.notNull())
        .addColumn('key_id', t.text)
        .addColumn('role', t.text)
        .addColumn('action', t.text, (c) => c.notNull())
        .addColumn('model', t.text)
        .addColumn('version', t.int)
        .addColumn('status', t.int, (c) => c.notNull())
        .addColumn('request_id', t.text)
        .addColumn('duration_ms', t.real, (c) => c.notNull())
        .addColumn('detail', t.text, (c) => c.notNull().defaultTo('{}'))
        .addColumn('prev_hash', t.text, (c) => c.notNull())
        .addColumn('hash', t.text, (c) => c.notNull())
        .execute();
      // The audit log is append-only: the database itself refuses edits and deletions.
      if (t.postgres) {
        await sql`CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
          FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
          FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
          FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`.execute(db);
        return;
      }
      await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
      await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
    },
  },
  '0002-model-serving-settings': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      // Per-model batching and queueing settings (core ServingSettings) as JSON; {} = server defaults.
      await db.schema
        .alterTable('models')
        .addColumn('serving', t.text, (c) => c.notNull().defaultTo('{}'))
        .execute();
    },
  },
  '0003-datasets': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      // Uploaded training data, versioned per name; the bytes live in the artifact store by sha256.
      await db.schema
        .createTable('dataset_versions')
        .addColumn('name', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('sha256', t.text, (c) => c.notNull())
        .addColumn('size_bytes', t.int, (c) => c.notNull())
        .addColumn('format', t.text, (c) => c.notNull())
        .addColumn('rows', t.int, (c) => c.notNull())
        .addColumn('schema', t.text, (c) => c.notNull())
        .addColumn('description', t.text, (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', t.text, (c) => c.notNull())
        .addColumn('created_by', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_versions_pk', ['name', 'version'])
        .execute();
    },
  },
  '0004-jobs-model-cards': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      // Long-running work (training) with its persisted state; request and result are JSON.
      await db.schema
        .createTable('jobs')
        .addColumn('id', t.text, (c) => c.primaryKey())
        .addColumn('kind', t.text, (c) => c.notNull())
        .addColumn('state', t.text, (c) => c.notNull())
        .addColumn('request', t.text, (c) => c.notNull())
        .addColumn('progress', t.real, (c) => c.notNull().defaultTo(0))
        .addColumn('stage', t.text, (c) => c.notNull().defaultTo(''))
        .addColumn('result', t.text)
        .addColumn('error', t.text)
        .addColumn('attempts', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('cancel_requested', t.int, (c) => c.notNull().defaultTo(0))
        .addColumn('owner', t.text)
        .addColumn('heartbeat_at', t.text)
        .addColumn('created_at', t.text, (c) => c.notNull())
        .addColumn('created_by', t.text, (c) => c.notNull())
        .addColumn('created_role', t.text, (c) => c.notNull())
        .addColumn('started_at', t.text)
        .addColumn('finished_at', t.text)
        .execute();
      await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'created_at']).execute();
      await db.schema
        .createTable('job_logs')
        .addColumn('seq', t.int, t.autoId)
        .addColumn('job_id', t.text, (c) => c.notNull().references('jobs.id'))
        .addColumn('time', t.text, (c) => c.notNull())
        .addColumn('level', t.text, (c) => c.notNull())
        .addColumn('message', t.text, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('job_logs_job').on('job_logs').columns(['job_id', 'seq']).execute();
      // A model version's card (intended use, data, metrics, limitations), written with the version.
      await db.schema
        .createTable('model_cards')
        .addColumn('model', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('card', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('model_cards_pk', ['model', 'version'])
        .addForeignKeyConstraint('model_cards_version_fk', ['model', 'version'], 'model_versions', [
          'model',
          'version',
        ])
        .execute();
    },
  },
  '0005-feature-maps': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      // How each input of a version is built from FHIR data; replaced whole, by the latest PUT.
      await db.schema
        .createTable('feature_maps')
        .addColumn('model', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('map', t.text, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .addColumn('updated_by', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('feature_maps_pk', ['model', 'version'])
        .addForeignKeyConstraint('feature_maps_version_fk', ['model', 'version'], 'model_versions', [
          'model',
          'version',
        ])
        .execute();
    },
  },
  '0006-cds-feedback': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      // What clinicians did with each CDS card (CDS Hooks feedback), kept to count per service.
      await db.schema
        .createTable('cds_feedback')
        .addColumn('seq', t.int, t.autoId)
        .addColumn('service', t.text, (c) => c.notNull())
        .addColumn('card', t.text, (c) => c.notNull())
        .addColumn('outcome', t.text, (c) => c.notNull())
        .addColumn('detail', t.text, (c) => c.notNull())
        .addColumn('outcome_time', t.text, (c) => c.notNull())
        .addColumn('received_at', t.text, (c) => c.notNull())
        .addColumn('received_by', t.text, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('cds_feedback_service')
        .on('cds_feedback')
        .columns(['service', 'outcome'])
        .execute();
    },
  },
  '0007-cds-jwt-ids': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      // The `jti` of every CDS client JWT accepted, until it expires: a second use is a replay.
      await db.schema
        .createTable('cds_jwt_ids')
        .addColumn('issuer', t.text, (c) => c.notNull())
        .addColumn('jti', t.text, (c) => c.notNull())
        .addColumn('expires_at', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('cds_jwt_ids_pk', ['issuer', 'jti'])
        .execute();
      await db.schema.createIndex('cds_jwt_ids_expires').on('cds_jwt_ids').column('expires_at').execute();
    },
  },
  '0008-explainers': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      // A version's explainer: background rows, the trained pipeline, global importance.
      await db.schema
        .createTable('explainers')
        .addColumn('model', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('explainer', t.text, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('explainers_pk', ['model', 'version'])
        .addForeignKeyConstraint('explainers_version_fk', ['model', 'version'], 'model_versions', [
          'model',
          'version',
        ])
        .execute();
    },
  },
  '0009-monitoring': {
    async up(db: Kysely<unknown>): Promise<void> {
      const t = columnTypes(db);
      // A version's monitoring profile: reference distributions of its inputs and prediction.
      await db.schema
        .createTable('monitoring_profiles')
        .addColumn('model', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('profile', t.text, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('monitoring_profiles_pk', ['model', 'version'])
        .addForeignKeyConstraint('monitoring_profiles_version_fk', ['model', 'version'], 'model_versions', [
          'model',
          'version',
        ])
        .execute();
      // A model's sample rate and alert rules.
      await db.schema
        .createTable('monitoring_settings')
        .addColumn('model', t.text, (c) => c.primaryKey().references('models.name'))
        .addColumn('settings', t.text, (c) => c.notNull())
        .addColumn('updated_at', t.text, (c) => c.notNull())
        .addColumn('updated_by', t.text, (c) => c.notNull())
        .execute();
      // Sampled predictions, written a batch at a time (the payload is sealed with a master key).
      await db.schema
        .createTable('monitoring_batches')
        .addColumn('seq', t.int, t.autoId)
        .addColumn('model', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('first_at', t.text, (c) => c.notNull())
        .addColumn('last_at', t.text, (c) => c.notNull())
        .addColumn('rows', t.int, (c) => c.notNull())
        .addColumn('payload', t.text, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('monitoring_batches_time')
        .on('monitoring_batches')
        .columns(['model', 'version', 'last_at'])
        .execute();
      // Which sampled request a request id was (its SHA-256, never the id), for labels.
      await db.schema
        .createTable('monitoring_requests')
        .$call(t.rowid)
        .addColumn('model', t.text, (c) => c.notNull())
        .addColumn('request_key', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('at', t.text, (c) => c.notNull())
        .addColumn('rows', t.int, (c) => c.notNull())
        .addPrimaryKeyConstraint('monitoring_requests_pk', ['model', 'request_key'])
        .execute();
      await db.schema.createIndex('monitoring_requests_at').on('monitoring_requests').column('at').execute();
      // Labels given later for sampled predictions.
      await db.schema
        .createTable('monitoring_labels')
        .$call(t.rowid)
        .addColumn('model', t.text, (c) => c.notNull())
        .addColumn('request_key', t.text, (c) => c.notNull())
        .addColumn('row', t.int, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('predicted_at', t.text, (c) => c.notNull())
        .addColumn('label', t.real, (c) => c.notNull())
        .addColumn('groups', t.text)
        .addColumn('received_at', t.text, (c) => c.notNull())
        .addColumn('received_by', t.text, (c) => c.notNull())
        .addPrimaryKeyConstraint('monitoring_labels_pk', ['model', 'request_key', 'row'])
        .execute();
      await db.schema
        .createIndex('monitoring_labels_time')
        .on('monitoring_labels')
        .columns(['model', 'version', 'predicted_at'])
        .execute();
      // Retention deletes by time across models.
      await db.schema
        .createIndex('monitoring_batches_last_at')
        .on('monitoring_batches')
        .column('last_at')
        .execute();
      await db.schema
        .createIndex('monitoring_labels_predicted_at')
        .on('monitoring_labels')
        .column('predicted_at')
        .execute();
      // Every change of an alert rule's state (firing, resolved).
      await db.schema
        .createTable('alert_events')
        .addColumn('seq', t.int, t.autoId)
        .addColumn('model', t.text, (c) => c.notNull())
        .addColumn('version', t.int, (c) => c.notNull())
        .addColumn('rule', t.text, (c) => c.notNull())
        .addColumn('state', t.text, (c) => c.notNull())
        .addColumn('value', t.real, (c) => c.notNull())
        .addColumn('at', t.text, (c) => c.notNull())
        .addColumn('detail', t.text, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('alert_events_rule')
        .on('alert_events')
        .columns(['model', 'version', 'rule', 'seq'])
        .execute();
    },
  },
  '0010-change-counters': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Postgres only: a counter per cached topic (registry, keys), bumped by the transaction that
      // writes it, which replicas poll as the fallback of LISTEN/NOTIFY (`postgres/change-feed.ts`).
      // SQLite's own `PRAGMA data_version` does this job there.
      const t = columnTypes(db);
      if (!t.postgres) return;
      await db.schema
        .createTable('change_counters')
        .addColumn('topic', t.text, (c) => c.primaryKey())
        .addColumn('counter', t.int, (c) => c.notNull())
        .execute();
    },
  },
  '0011-version-digest-index': {
    async up(db: Kysely<unknown>): Promise<void> {
      // An upload asks whether the model already has a version with these bytes: an index lookup,
      // not a scan of every version (a model with 10,000 versions made registration quadratic).
      await db.schema
        .createIndex('model_versions_digest')
        .on('model_versions')
        .columns(['model', 'sha256'])
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
