/**
 * Schema migrations, applied in order at start. Never edit a released migration: add one.
 */
import { sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001-registry-security-audit': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('models')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('archived_at', 'text')
        .execute();
      await db.schema
        .createTable('model_versions')
        .addColumn('model', 'text', (c) => c.notNull().references('models.name'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('lineage', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('metrics', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('archived_at', 'text')
        .addPrimaryKeyConstraint('model_versions_pk', ['model', 'version'])
        .execute();
      await db.schema
        .createTable('aliases')
        .addColumn('model', 'text', (c) => c.notNull().references('models.name'))
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('aliases_pk', ['model', 'alias'])
        .addForeignKeyConstraint('aliases_version_fk', ['model', 'version'], 'model_versions', [
          'model',
          'version',
        ])
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('role', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('version', 'integer')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('request_id', 'text')
        .addColumn('duration_ms', 'real', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      // The audit log is append-only: the database itself refuses edits and deletions.
      await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
      await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
    },
  },
  '0002-model-serving-settings': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Per-model batching and queueing settings (core ServingSettings) as JSON; {} = server defaults.
      await db.schema
        .alterTable('models')
        .addColumn('serving', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
    },
  },
  '0003-datasets': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Uploaded training data, versioned per name; the bytes live in the artifact store by sha256.
      await db.schema
        .createTable('dataset_versions')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('schema', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_versions_pk', ['name', 'version'])
        .execute();
    },
  },
  '0004-jobs-model-cards': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Long-running work (training) with its persisted state; request and result are JSON.
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('progress', 'real', (c) => c.notNull().defaultTo(0))
        .addColumn('stage', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('owner', 'text')
        .addColumn('heartbeat_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_role', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'created_at']).execute();
      await db.schema
        .createTable('job_logs')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('job_logs_job').on('job_logs').columns(['job_id', 'seq']).execute();
      // A model version's card (intended use, data, metrics, limitations), written with the version.
      await db.schema
        .createTable('model_cards')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('card', 'text', (c) => c.notNull())
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
      // How each input of a version is built from FHIR data; replaced whole, by the latest PUT.
      await db.schema
        .createTable('feature_maps')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('map', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
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
      // What clinicians did with each CDS card (CDS Hooks feedback), kept to count per service.
      await db.schema
        .createTable('cds_feedback')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('card', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('outcome_time', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('received_by', 'text', (c) => c.notNull())
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
      // The `jti` of every CDS client JWT accepted, until it expires: a second use is a replay.
      await db.schema
        .createTable('cds_jwt_ids')
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('jti', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('cds_jwt_ids_pk', ['issuer', 'jti'])
        .execute();
      await db.schema.createIndex('cds_jwt_ids_expires').on('cds_jwt_ids').column('expires_at').execute();
    },
  },
  '0008-explainers': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A version's explainer: background rows, the trained pipeline, global importance.
      await db.schema
        .createTable('explainers')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('explainer', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
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
      // A version's monitoring profile: reference distributions of its inputs and prediction.
      await db.schema
        .createTable('monitoring_profiles')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('profile', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('monitoring_profiles_pk', ['model', 'version'])
        .addForeignKeyConstraint('monitoring_profiles_version_fk', ['model', 'version'], 'model_versions', [
          'model',
          'version',
        ])
        .execute();
      // A model's sample rate and alert rules.
      await db.schema
        .createTable('monitoring_settings')
        .addColumn('model', 'text', (c) => c.primaryKey().references('models.name'))
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      // Sampled predictions, written a batch at a time (the payload is sealed with a master key).
      await db.schema
        .createTable('monitoring_batches')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('first_at', 'text', (c) => c.notNull())
        .addColumn('last_at', 'text', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('monitoring_batches_time')
        .on('monitoring_batches')
        .columns(['model', 'version', 'last_at'])
        .execute();
      // Which sampled request a request id was (its SHA-256, never the id), for labels.
      await db.schema
        .createTable('monitoring_requests')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('request_key', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('monitoring_requests_pk', ['model', 'request_key'])
        .execute();
      await db.schema.createIndex('monitoring_requests_at').on('monitoring_requests').column('at').execute();
      // Labels given later for sampled predictions.
      await db.schema
        .createTable('monitoring_labels')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('request_key', 'text', (c) => c.notNull())
        .addColumn('row', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('predicted_at', 'text', (c) => c.notNull())
        .addColumn('label', 'real', (c) => c.notNull())
        .addColumn('groups', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('received_by', 'text', (c) => c.notNull())
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
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('value', 'real', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('alert_events_rule')
        .on('alert_events')
        .columns(['model', 'version', 'rule', 'seq'])
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
