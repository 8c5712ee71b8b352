/**
 * What `/v2/health/ready` answers: ready only while the server is serving (not starting, not
 * draining on SIGTERM) and its metadata store can be read. The store probe opens the database
 * afresh (cheap, never waiting on a lock) and its result is kept for a second, so a busy prober
 * costs nothing and an unreachable store is seen within a second.
 */
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { probeSqliteDatabase } from '../store/index.js';
import type { ServerState } from './server-state.js';

const STORE_PROBE_CACHE_MS = 1000;

export type Readiness = { ready: true } | { ready: false; reason: string };

/** A readiness check for the server whose data folder is `dataDir`. */
export function createReadiness(
  dataDir: string,
  state: ServerState,
  logger: FastifyBaseLogger,
): () => Readiness {
  const database = join(dataDir, 'galen.db');
  let checkedAt = -Infinity;
  let problem: string | undefined;
  return () => {
    if (!state.ready) {
      return { ready: false, reason: state.draining ? 'shutting down' : 'starting' };
    }
    const now = performance.now();
    if (now - checkedAt >= STORE_PROBE_CACHE_MS) {
      const before = problem;
      problem = probeSqliteDatabase(database);
      checkedAt = now;
      if (problem !== undefined && before === undefined) {
        logger.error({ problem }, 'not ready: the metadata store cannot be read');
      } else if (problem === undefined && before !== undefined) {
        logger.info('ready again: the metadata store can be read');
      }
    }
    return problem === undefined
      ? { ready: true }
      : { ready: false, reason: 'the metadata store cannot be read' };
  };
}
