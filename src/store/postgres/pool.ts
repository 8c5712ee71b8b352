/**
 * The `pg` pool a Postgres store runs on: `int8` (counts, sums, the `bigint` columns SQLite's
 * INTEGER becomes) read back as numbers, not strings, so records are the same on both engines;
 * and an `error` listener, without which an idle connection the server ends would crash the
 * process.
 */
import pg from 'pg';
import { GalenError } from '../../core/index.js';

/** Where a Postgres store reports what it survives (pino's shape). */
export interface StoreLogger {
  warn(facts: Record<string, unknown>, message: string): void;
  error(facts: Record<string, unknown>, message: string): void;
}

const INT8 = 20;
const NUMERIC = 1700;

/** An `int8` as a number, refusing one a double cannot hold exactly. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new GalenError(
      'internal',
      `the database returned ${text}, beyond the integers Galen handles (2^53)`,
    );
  }
  return value;
}

/** Per pool, not `pg.types` (global to the process). `numeric` only comes from `sum(bigint)`. */
const types: pg.CustomTypesConfig = {
  getTypeParser: (oid: number, format?: 'text' | 'binary'): unknown => {
    if (oid === INT8) return parseInt8;
    if (oid === NUMERIC) return Number;
    return pg.types.getTypeParser(oid, format) as unknown;
  },
};

export function createPool(url: string, poolSize: number, logger: StoreLogger | undefined): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types,
    // A database that does not answer fails a request in 10 s instead of queueing it forever.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (err) => {
    // An idle connection was ended (database restart, failover, pg_terminate_backend): the pool
    // drops it and opens another on the next query.
    logger?.warn({ err: err.message }, 'an idle metadata database connection was closed');
  });
  return pool;
}

/** The listener's own connection settings: the pool's database, nothing pooled. */
export function clientConfig(url: string): pg.ClientConfig {
  return { connectionString: url, types, connectionTimeoutMillis: 10_000 };
}
