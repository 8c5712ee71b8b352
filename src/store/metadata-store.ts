/**
 * The metadata store: everything Galen keeps in SQL goes through it, on embedded SQLite or on
 * PostgreSQL, without callers knowing which.
 */
import type { Repositories, UnitOfWork } from './repositories.js';

/**
 * Every repository on one connection, plus transactions over all of them (`BEGIN IMMEDIATE` in
 * SQLite, `BEGIN` on one pooled connection in Postgres). Composition roots hold this; services
 * receive only the repositories they use (`./repositories.ts`).
 */
export interface MetadataStore extends Repositories, UnitOfWork<MetadataStore> {
  /**
   * Resolves when the database answers now; else throws GalenError `unavailable` saying why
   * (readiness). Never waits on a write lock.
   */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/** The `prevHash` of the first audit record. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);
