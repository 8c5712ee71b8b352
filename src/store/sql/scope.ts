/**
 * What the repositories in this folder need from a store, whichever engine it runs on: the Kysely
 * connection (or the transaction's), write transactions, the change tokens callers cache on, and
 * the few things each engine does its own way (serialising writers, the audit log's protection,
 * SQLite's hot paths). `../sqlite/scope.ts` and `../postgres/scope.ts` implement it; the
 * repositories themselves are written once.
 */
import type { Kysely } from 'kysely';
import type {
  AuditRecord,
  JsonObject,
  MonitoringBatchRecord,
  MonitoringRequestRecord,
  NewAuditRecord,
} from '../records.js';
import type { Database } from '../schema.js';

/** What callers cache and the token that says when to refetch: models/versions/aliases, API keys. */
export type ChangeTopic = 'registry' | 'keys';
export const CHANGE_TOPICS: readonly ChangeTopic[] = ['registry', 'keys'];

/**
 * Writers that must not interleave (on Postgres an advisory transaction lock per name and key;
 * SQLite's `BEGIN IMMEDIATE` already serialises every writer): a model's registry rows (version
 * numbers, alias moves against archiving), a dataset's version numbers, the audit chain, one
 * alert rule's transitions.
 */
export type LockName = 'model' | 'dataset' | 'audit' | 'alert';

export type AuditSeal = (prevHash: string, seq: number, record: NewAuditRecord) => string;

export interface StoreScope {
  /** The connection, or inside a transaction the transaction's connection. */
  readonly db: Kysely<Database>;
  readonly inTransaction: boolean;

  /**
   * Runs `fn` in one write transaction (or in the current one) with a scope bound to it — what
   * `MetadataStore.transaction` hands out.
   */
  transaction<T>(fn: (tx: StoreScope) => Promise<T>): Promise<T>;
  /**
   * A write transaction for one repository's multi-statement write; unlike `transaction` it moves
   * no change token unless `write` is used inside.
   */
  writeTx<T>(fn: (tx: StoreScope) => Promise<T>): Promise<T>;
  /**
   * Runs a write to `topic`'s tables: its change token moves (in this process at once, in others
   * at the latest a second after the commit).
   */
  write<T>(topic: ChangeTopic, fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Changes whenever `topic`'s tables may have changed, here or in another process. From memory. */
  changeToken(topic: ChangeTopic): string;
  /**
   * Inside a transaction: waits until no other transaction holds `lock` for `key`, and holds it
   * until this one ends. Outside a transaction it does nothing.
   */
  serialise(lock: LockName, key: string): Promise<void>;

  /** Whether the database still refuses updates and deletes of audit records. */
  auditLogProtected(): Promise<boolean>;
  /**
   * SQLite: appends on the prepared hot path when the connection is free; undefined when the
   * shared code should append (in a transaction, or on another engine).
   */
  appendAuditNow?(records: readonly NewAuditRecord[], seal: AuditSeal): AuditRecord[] | undefined;
  /** SQLite outside a transaction: the thread that writes recorded-prediction batches. */
  readonly monitoringWriter?:
    | { write(batch: MonitoringBatchRecord, requests: readonly MonitoringRequestRecord[]): Promise<void> }
    | undefined;

  /** Throws GalenError `unavailable` when the database does not answer now (readiness). */
  probe(): Promise<void>;
  close(): Promise<void>;
}

export const parseJson = (text: string): JsonObject => JSON.parse(text) as JsonObject;

export const parseJsonOrNull = (text: string | null): JsonObject | null =>
  text === null ? null : parseJson(text);
