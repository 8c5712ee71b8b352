/**
 * The metadata store: everything Galen keeps in SQL goes through it, so a Postgres adapter can
 * replace the embedded SQLite one without touching callers.
 */
import type { Repositories, UnitOfWork } from './repositories.js';

/**
 * Every repository on one connection, plus transactions over all of them (`BEGIN IMMEDIATE` in
 * SQLite). Composition roots hold this; services receive only the repositories they use
 * (`./repositories.ts`).
 */
export interface MetadataStore extends Repositories, UnitOfWork<MetadataStore> {
  close(): Promise<void>;
}

/** The `prevHash` of the first audit record. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);
