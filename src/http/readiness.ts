/**
 * What `/v2/health/ready` (and gRPC `ServerReady`) answers: ready only while the server is serving
 * (not starting — its aliased models still loading — and not draining on SIGTERM), its metadata
 * store answers (`store.probe()`: SQLite file or PostgreSQL) and its artifact store can be used
 * (`artifacts.probe()`: the folder is writable, or the bucket answers).
 *
 * The probes run in the background at most once a second, each given at most 2 s, and the answer
 * is the latest result: a busy prober costs nothing, a readiness call never waits on a database or
 * a bucket, and a store that stops answering is seen within about a second.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ServerState } from './server-state.js';

const PROBE_CACHE_MS = 1000;
const PROBE_TIMEOUT_MS = 2000;

export type Readiness = { ready: true } | { ready: false; reason: string };

/** One dependency readiness probes: `reason` is what the client is told when `probe` fails. */
export interface ReadinessCheck {
  readonly reason: string;
  probe(): Promise<void>;
}

function withinTimeout(probe: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  return Promise.race([probe, late]).finally(() => clearTimeout(timer));
}

/** The server's readiness now, from the latest probes. */
export interface ServerReadiness {
  (): Readiness;
  /** The same, once the first round of probes has finished (at once after that). */
  settled(): Promise<Readiness>;
}

/** A readiness check over `checks` (probed from now on) and the server's `state`. */
export function createReadiness(
  checks: readonly ReadinessCheck[],
  state: ServerState,
  logger: FastifyBaseLogger,
): ServerReadiness {
  let checkedAt = -Infinity;
  let probing = false;
  const FIRST = 'checking the stores';
  /** The failing check's reason; undefined when every check passed. */
  let problem: string | undefined = FIRST;

  const probeAll = async (): Promise<void> => {
    const failures = await Promise.all(
      checks.map((check) =>
        withinTimeout(check.probe()).then(
          () => undefined,
          (err: unknown) => ({
            reason: check.reason,
            detail: err instanceof Error ? err.message : String(err),
          }),
        ),
      ),
    );
    const failed = failures.find((f) => f !== undefined);
    const before = problem;
    problem = failed?.reason;
    if (failed && before !== failed.reason) {
      // The detail (host, path, driver message) goes to the log, never to the client.
      logger.error({ problem: failed.detail }, `not ready: ${failed.reason}`);
    } else if (!failed && before !== undefined && before !== FIRST) {
      logger.info(`ready again (was: ${before})`);
    }
  };
  const refresh = (): Promise<void> => {
    probing = true;
    checkedAt = performance.now();
    return probeAll().finally(() => (probing = false));
  };
  const firstRound = refresh();

  const now = (): Readiness => {
    if (!state.ready) {
      return { ready: false, reason: state.draining ? 'shutting down' : 'starting' };
    }
    if (!probing && performance.now() - checkedAt >= PROBE_CACHE_MS) void refresh();
    return problem === undefined ? { ready: true } : { ready: false, reason: problem };
  };
  return Object.assign(now, { settled: () => firstRound.then(now) });
}
