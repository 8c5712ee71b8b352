/**
 * The child process a training job runs in (started by `job-process.ts`). It opens the same data
 * folder as its parent (SQLite is shared safely across processes), trains, evaluates and registers
 * through the ordinary domain services, and reports over the IPC channel. If the parent goes away
 * it stops too, so a job never runs unsupervised.
 */
import { readDeidKey } from '../config/index.js';
import type { GalenConfig } from '../config/index.js';
import { GalenError } from '../core/index.js';
import { jobActor, removeWorkDirsNow, trainModel, trainingWorkRoot } from '../jobs/index.js';
import type { JobOutcome, TrainModelRequest } from '../jobs/index.js';
import type { JobLogRecord, JobRecord, JsonObject } from '../store/index.js';
import { createLogger, stderrDestination } from '../observability/index.js';
import type { Actor } from '../core/index.js';
import { optimizeRequestOf } from '../optimize/index.js';
import { createGalen } from './galen.js';
import type { Galen } from './galen.js';

export interface WorkerStart {
  type: 'start';
  job: Pick<JobRecord, 'id' | 'kind' | 'request' | 'createdBy' | 'createdRole'>;
  config: GalenConfig;
}

export type WorkerMessage =
  | { type: 'progress'; fraction: number; stage: string }
  | { type: 'log'; level: JobLogRecord['level']; message: string }
  | { type: 'outcome'; outcome: JobOutcome };

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** The pseudonymisation key, read only for a job whose de-identification rules pseudonymise. */
function deidKeyFor(request: TrainModelRequest, config: GalenConfig): Uint8Array | undefined {
  const columns = (request.deid?.['columns'] ?? {}) as Record<string, unknown>;
  if (!Object.values(columns).includes('pseudonymize')) return undefined;
  try {
    return readDeidKey(config);
  } catch (err) {
    throw new GalenError('precondition_failed', (err as Error).message);
  }
}

async function run(start: WorkerStart): Promise<JobOutcome> {
  // One job's queries are few: a small pool keeps workers × jobs from exhausting PostgreSQL's connections.
  const config: GalenConfig = {
    ...start.config,
    runtime: { ...start.config.runtime, workers: 1 },
    database: { ...start.config.database, poolSize: Math.min(2, start.config.database.poolSize) },
  };
  const galen = await createGalen(
    config,
    createLogger(config.logLevel === 'silent' ? 'silent' : 'warn', stderrDestination()),
  );
  try {
    const actor = jobActor(start.job as JobRecord);
    if (start.job.kind === 'optimize') return await optimize(galen, start.job.request, actor);
    const request = start.job.request as unknown as TrainModelRequest;
    const deps = {
      ...galen,
      python: config.jobs.python,
      deidKey: deidKeyFor(request, config),
      // Under the data folder (swept by the server), and off disk when data is encrypted at rest.
      work: {
        root: trainingWorkRoot(config.dataDir),
        memoryBacked:
          config.encryption.masterKey !== undefined || config.encryption.masterKeyFile !== undefined,
      },
    };
    const { version, metrics } = await trainModel(deps, request, actor, {
      job: start.job.id,
      onProgress: (fraction, stage) => void send({ type: 'progress', fraction, stage }),
      onLog: (level, message) => void send({ type: 'log', level, message }),
    });
    const test = metrics['test'] as JsonObject;
    await send({
      type: 'log',
      level: 'info',
      message: `registered model "${version.model}" version ${version.version}; held-out ${Object.entries(
        test,
      )
        .map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v)}`)
        .join(', ')}`,
    });
    return {
      state: 'succeeded',
      result: {
        model: version.model,
        version: version.version,
        trained: version.lineage.parameters?.['model'],
        metrics: { test },
      },
    };
  } catch (err) {
    if (err instanceof GalenError)
      return { state: 'failed', error: { code: err.code, message: err.message } };
    return {
      state: 'failed',
      error: {
        code: 'internal',
        message: `${start.job.kind === 'optimize' ? 'the solve' : 'training'} failed: ${(err as Error).message}`,
      },
    };
  } finally {
    await galen.close();
  }
}

/** An optimisation job: the same solve as a request answered at once, with the job's longer time limit. */
async function optimize(galen: Galen, request: JsonObject, actor: Actor): Promise<JobOutcome> {
  void send({ type: 'progress', fraction: 0.05, stage: 'solving' });
  const answer = await galen.optimize.run(optimizeRequestOf(request), actor, true);
  await send({
    type: 'log',
    level: 'info',
    message: `${answer.status} in ${answer.solveSeconds} s${answer.objective === undefined ? '' : `, objective ${answer.objective}`}${answer.gap === undefined ? '' : `, gap ${answer.gap}`}`,
  });
  return { state: 'succeeded', result: answer as unknown as JsonObject };
}

let reported = false;
// Without its parent nobody would record the outcome: stop.
process.on('disconnect', () => process.exit(reported ? 0 : 1));
// A cancel stops this process with SIGTERM: remove the run's files on the way out. The PyTorch
// trainer sees its stdin close and stops too.
process.once('SIGTERM', () => {
  removeWorkDirsNow();
  process.exit(143);
});
process.once('message', (start: WorkerStart) => {
  void run(start).then(async (outcome) => {
    await send({ type: 'outcome', outcome });
    reported = true;
    process.disconnect();
  });
});
