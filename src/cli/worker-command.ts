/**
 * `galen worker`: runs training, optimisation and other queued jobs from the shared store, each in
 * its own child process as the server would. It serves no API; with `--health-port` (or
 * `jobs.healthPort`) it answers `GET /healthz` there for liveness probes. API replicas started with
 * `galen serve --no-worker` queue the jobs; any number of workers on any hosts claim them (a
 * conditional update: one claimer wins), keep their heartbeat and follow cancels recorded by any
 * replica. SIGTERM or SIGINT: claim nothing more, queue the running jobs again, stop their
 * processes, exit 0. A health port that cannot be bound is fatal: a probe pointed at it would fail.
 */
import { hostname } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { createGalen, describeStores } from '../app/index.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { startWorkerHealthServer } from '../http/index.js';
import { createLogger } from '../observability/index.js';
import type { CliOptions } from './local-context.js';

function concurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64)
    throw new InvalidArgumentError('the concurrency is an integer from 1 to 64');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new InvalidArgumentError('the port is an integer from 1 to 65535, or 0 for no listener');
  return n;
}

export function workerCommand(global: () => CliOptions): Command {
  return new Command('worker')
    .description('run queued training and optimisation jobs from the shared store')
    .option('--concurrency <n>', 'jobs run at once (default: jobs.concurrency)', concurrency)
    .option(
      '--health-port <port>',
      'answer GET /healthz on this port, for liveness probes (default: jobs.healthPort; 0 = none)',
      port,
    )
    .action(async (o: { concurrency?: number; healthPort?: number }) => {
      const loaded = loadConfig({ file: global().config });
      const jobs = o.concurrency ?? loaded.jobs.concurrency;
      if (jobs < 1)
        throw new ConfigError([
          'jobs.concurrency is 0, and a worker runs at least one job at a time: give --concurrency <n> or set GALEN_JOBS_CONCURRENCY',
        ]);
      // A worker serves no model: one runtime thread is plenty (each job's process has its own).
      const config = {
        ...loaded,
        jobs: { ...loaded.jobs, concurrency: jobs, runInServer: true },
        runtime: { ...loaded.runtime, workers: 1 },
      };
      const logger = createLogger(config.logLevel);
      const galen = await createGalen(config, logger);
      // The job service's timers do not hold the process open; this does, until a signal.
      const alive = setInterval(() => undefined, 1 << 30);
      // Bound before any job is claimed: a port in use stops the worker with nothing to undo.
      const healthPort = o.healthPort ?? config.jobs.healthPort;
      const health =
        healthPort === 0
          ? undefined
          : await startWorkerHealthServer({
              host: config.host,
              port: healthPort,
              loop: () => galen.jobs.loopHealth(),
              probeStore: () => galen.store.probe(),
              logger,
            }).catch(async (err: unknown) => {
              await galen.close();
              clearInterval(alive);
              throw new Error(
                `cannot listen for health probes on ${config.host}:${healthPort}: ${err instanceof Error ? err.message : String(err)}`,
                { cause: err },
              );
            });
      await galen.jobs.start();
      logger.info(
        {
          worker: `${hostname()}:${process.pid}`,
          concurrency: jobs,
          ...(health && { health: `${health.address}/healthz` }),
          ...describeStores(config),
        },
        `Galen worker is running up to ${jobs} job(s) at a time`,
      );

      let stopping = false;
      const stop = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'worker stopping: claiming no more jobs; running jobs are queued again');
        try {
          await health?.close();
          await galen.close();
        } catch (err) {
          logger.error({ err }, 'worker stopping: could not close cleanly');
        }
        clearInterval(alive);
        logger.info('worker stopped');
        process.exit(0);
      };
      // Kept for the whole stop: a second signal must not kill the jobs being queued again.
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });
}
