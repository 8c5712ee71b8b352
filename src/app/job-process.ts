/**
 * Runs a job in a child process (`job-worker.js`), so training's CPU-bound work never holds the
 * serving thread and a cancel can stop it outright. The parent sends the job and the configuration
 * over the IPC channel; the child reports progress, log lines and its outcome back the same way.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GalenConfig } from '../config/index.js';
import { GalenError, childEnvironment } from '../core/index.js';
import type { JobLauncher, JobOutcome } from '../jobs/index.js';
import type { JobRecord } from '../store/index.js';
import type { WorkerMessage, WorkerStart } from './job-worker.js';

/** After SIGTERM, how long a run has before SIGKILL. */
const KILL_GRACE_MS = 3000;

/**
 * The compiled worker script. Under the test runner this module is TypeScript in src/; the worker
 * then runs from the build in dist/, which the tests' global setup (test/global-setup.ts) rebuilds
 * whenever src/ is newer.
 */
export function jobWorkerPath(): string {
  const here = fileURLToPath(import.meta.url);
  const built = here.endsWith('.ts')
    ? here.replace(`${sep}src${sep}app${sep}job-process.ts`, `${sep}dist${sep}app${sep}job-worker.js`)
    : here.replace(/job-process\.js$/, 'job-worker.js');
  if (!existsSync(built)) {
    // A broken installation, not a passing state: no retry will find the file.
    throw new GalenError('internal', `the job worker ${built} is missing: build Galen first (npm run build)`);
  }
  return built;
}

export function childProcessLauncher(config: GalenConfig): JobLauncher {
  // The child needs the data folder and runtime settings (the master key among them, to read
  // and write encrypted artifacts: it travels over IPC), never the admin key. Its environment has
  // no GALEN_* variable: the admin key and master key there would be readable in /proc.
  const { adminKey: _adminKey, ...childConfig } = config;
  return {
    launch(job: JobRecord, events) {
      const child = fork(jobWorkerPath(), [], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        execArgv: [],
        serialization: 'advanced',
        env: childEnvironment(),
      });
      let outcome: JobOutcome | undefined;
      child.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'progress':
            events.progress(message.fraction, message.stage);
            break;
          case 'log':
            events.log(message.level, message.message);
            break;
          case 'outcome':
            outcome = message.outcome;
            break;
        }
      });
      const done = new Promise<{ outcome?: JobOutcome; exit: string }>((resolve) => {
        let settled = false;
        const settle = (exit: string): void => {
          if (settled) return;
          settled = true;
          resolve(outcome ? { outcome, exit } : { exit });
        };
        child.once('exit', (code, signal) => settle(signal ? `killed by ${signal}` : `exit code ${code}`));
        child.once('error', (err) => settle(`could not run: ${err.message}`));
      });
      const start: WorkerStart = {
        type: 'start',
        job: {
          id: job.id,
          kind: job.kind,
          request: job.request,
          createdBy: job.createdBy,
          createdRole: job.createdRole,
        },
        config: childConfig,
      };
      child.send(start);
      return {
        done,
        kill() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          }, KILL_GRACE_MS).unref();
        },
      };
    },
  };
}
