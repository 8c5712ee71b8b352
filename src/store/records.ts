/**
 * The records the metadata store keeps, in the shape the domain uses (JSON columns parsed,
 * times as ISO-8601 strings). Adapters (SQLite now, Postgres later) all speak these.
 */

import type { ServingSettings } from '../core/index.js';

export type JsonObject = { [key: string]: unknown };

export interface ModelRecord {
  name: string;
  description: string;
  tags: Record<string, string>;
  /** Batching and queueing settings over the server defaults (core `ServingSettings`). */
  serving: ServingSettings;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

export interface VersionRecord {
  model: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  description: string;
  /** The model's inputs and outputs (core `Signature`), as JSON. */
  signature: JsonObject;
  /** Producer, source, dataset hash, parameters, ONNX facts. */
  lineage: JsonObject;
  metrics: JsonObject;
  createdAt: string;
  createdBy: string;
  archivedAt: string | null;
}

/** One uploaded version of a dataset; its bytes are in the artifact store under `sha256`. */
export interface DatasetVersionRecord {
  name: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  format: 'csv' | 'jsonl' | 'npz' | 'images' | 'sequences';
  rows: number;
  /** The inferred schema (datasets `DatasetSchema`), as JSON. */
  schema: JsonObject;
  description: string;
  createdAt: string;
  createdBy: string;
}

export interface AliasRecord {
  model: string;
  alias: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: string;
  /** sha256 of the secret part of the key; the secret itself is never stored. */
  secretHash: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

/** One audit entry; `hash` chains it to the entry before (`prevHash`). */
export interface AuditRecord {
  seq: number;
  time: string;
  keyId: string | null;
  role: string | null;
  action: string;
  model: string | null;
  version: number | null;
  status: number;
  requestId: string | null;
  durationMs: number;
  /** Small non-sensitive facts (alias name, target version); never payloads. */
  detail: JsonObject;
  prevHash: string;
  hash: string;
}

export type NewAuditRecord = Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>;

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A long-running piece of work (a training run) and where it stands. */
export interface JobRecord {
  id: string;
  /** What the job does (`train`). */
  kind: string;
  state: JobState;
  /** What was asked for, as JSON (never patient data: names, options, column names). */
  request: JsonObject;
  /** 0 to 1. */
  progress: number;
  /** What it is doing now, in words. */
  stage: string;
  /** On success: what it produced (e.g. the registered model version). */
  result: JsonObject | null;
  /** On failure: `{ code, message }` in the error table's terms. */
  error: JsonObject | null;
  /** How many times it has been started (a restart may start it again). */
  attempts: number;
  cancelRequested: boolean;
  /** Which process runs it (`host:pid`), while running. */
  owner: string | null;
  /** When its owner last said it was alive. */
  heartbeatAt: string | null;
  createdAt: string;
  /** The key that submitted it, and that key's role (the job acts with it). */
  createdBy: string;
  createdRole: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobLogRecord {
  seq: number;
  jobId: string;
  time: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** How each input of a model version is built from FHIR data (see src/fhir/feature-map.ts). */
export interface FeatureMapRecord {
  model: string;
  version: number;
  map: JsonObject;
  updatedAt: string;
  updatedBy: string;
}

/** What a clinician did with one CDS card (CDS Hooks feedback). */
export interface CdsFeedbackRecord {
  service: string;
  card: string;
  outcome: 'accepted' | 'overridden';
  /** Accepted suggestions or the override reason, as the client sent them. */
  detail: JsonObject;
  outcomeTime: string;
  receivedAt: string;
  receivedBy: string;
}

/** A batch of sampled predictions as stored: the payload is JSON, or sealed JSON with a master key. */
export interface MonitoringBatchRecord {
  model: string;
  version: number;
  firstAt: string;
  lastAt: string;
  rows: number;
  payload: string;
}

/** A stored batch without its payload: enough to decide whether to read it. */
export type MonitoringBatchHead = Omit<MonitoringBatchRecord, 'payload'> & { seq: number };

/** A sampled request that carried an id: the id's SHA-256, when, and how many rows it had. */
export interface MonitoringRequestRecord {
  model: string;
  requestKey: string;
  version: number;
  at: string;
  rows: number;
}

export interface MonitoringLabelRecord {
  model: string;
  requestKey: string;
  row: number;
  version: number;
  predictedAt: string;
  /** Class index or value. */
  label: number;
  groups: Record<string, string> | null;
  receivedAt: string;
  receivedBy: string;
}

export interface AlertEventRecord {
  seq: number;
  model: string;
  version: number;
  rule: string;
  state: 'firing' | 'resolved';
  value: number;
  at: string;
  detail: JsonObject;
}
