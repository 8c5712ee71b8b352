/**
 * `galen jobs`: training jobs in the local data folder (submitted to a server sharing it, or over
 * the API): list them, show one, wait for one to end (also on a server, `--url`), print its log,
 * cancel it. A server running the job stops it at its next heartbeat.
 */
import { Command, InvalidArgumentError } from 'commander';
import { GalenError } from '../core/index.js';
import type { Job } from '../jobs/index.js';
import { CLI_ACTOR, audited, print, table, withGalen } from './local-context.js';
import type { CliOptions } from './local-context.js';
import { RemoteGalen } from './remote-client.js';

/** The longest a server holds one `?wait=` request; longer waits ask again. */
const SERVER_WAIT_SECONDS = 60;

function seconds(value: string): number {
  if (!/^\d{1,7}$/.test(value))
    throw new InvalidArgumentError('expected a whole number of seconds, e.g. 600');
  return Number(value);
}

const ENDED: readonly string[] = ['succeeded', 'failed', 'cancelled'];

/** Follows a job on a server with long polls until it ends or `timeoutSeconds` are up. */
async function waitRemote(url: string, id: string, timeoutSeconds: number | undefined): Promise<Job> {
  const remote = RemoteGalen.connect(url);
  const deadline = timeoutSeconds === undefined ? Infinity : Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const job = await remote.call<Job>(
      'GET',
      `/api/v1/jobs/${encodeURIComponent(id)}?wait=${Math.min(left, SERVER_WAIT_SECONDS)}`,
    );
    if (ENDED.includes(job.state) || Date.now() >= deadline) return job;
  }
}

/** What `jobs wait` prints for a job that succeeded: what it made, and a training job's held-out metrics. */
function succeededText(job: Job): string {
  const result = job.result ?? {};
  if (typeof result['status'] === 'string')
    return `${job.id} succeeded: ${String(result['problem'])} ${result['status']}`;
  const lines = [
    `${job.id} succeeded: model "${String(result['model'])}" version ${String(result['version'])}`,
  ];
  const test = (result['metrics'] as { test?: Record<string, unknown> } | undefined)?.test;
  if (test) {
    const shown = Object.entries(test).filter((e): e is [string, number] => typeof e[1] === 'number');
    lines.push(
      `held-out: ${shown.map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(', ')}`,
    );
  }
  return lines.join('\n');
}

/** Why a job that did not succeed is not done, as the CLI's one error line. */
function notSucceeded(job: Job, timeoutSeconds: number | undefined): GalenError {
  switch (job.state) {
    case 'failed': {
      const error = job.error as { code?: string; message?: string } | null;
      return new GalenError(
        'internal',
        `job ${job.id} failed: ${error?.message ?? 'no reason was recorded'}`,
      );
    }
    case 'cancelled':
      return new GalenError('conflict', `job ${job.id} was cancelled`);
    case 'queued':
    case 'running':
    case 'succeeded':
      return new GalenError(
        'unavailable',
        `job ${job.id} is still ${job.state} (${job.stage}) after ${timeoutSeconds ?? 0} s`,
      );
  }
}

function limit(value: string): number {
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw new InvalidArgumentError('expected an integer from 1 to 1000');
  return Number(value);
}

export function jobsCommand(global: () => CliOptions): Command {
  const jobs = new Command('jobs').description('training jobs: list, show, wait, logs, cancel');

  jobs
    .command('list')
    .description('jobs, newest first')
    .option('--state <state>', 'only jobs in this state (queued, running, succeeded, failed, cancelled)')
    .option('--limit <n>', 'at most this many', limit, 50)
    .action(async (o: { state?: string; limit: number }) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const list = await galen.jobs.list({ state: o.state, limit: o.limit }, CLI_ACTOR);
        print(list, opts.json, () =>
          table(
            ['ID', 'STATE', 'PROGRESS', 'MODEL', 'CREATED', 'RESULT'],
            list.map((j) => [
              j.id,
              j.state,
              `${Math.round(j.progress * 100)}%`,
              String(j.request['model']),
              j.createdAt,
              j.result
                ? `version ${String(j.result['version'])}`
                : j.error
                  ? String(j.error['message']).slice(0, 60)
                  : j.stage,
            ]),
          ),
        );
      });
    });

  jobs
    .command('show')
    .description('one job, as JSON')
    .argument('<id>')
    .action(async (id: string) => {
      const opts = global();
      await withGalen(opts, async (galen) => print(await galen.jobs.get(id, CLI_ACTOR), true, () => ''));
    });

  jobs
    .command('logs')
    .description("a job's log")
    .argument('<id>')
    .action(async (id: string) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const lines = await galen.jobs.logs(id, {}, CLI_ACTOR);
        print(lines, opts.json, () =>
          lines.map((l) => `${l.time} ${l.level.padEnd(5)} ${l.message}`).join('\n'),
        );
      });
    });

  jobs
    .command('wait')
    .description(
      'wait until a job ends and print it: exits 0 when it succeeded, 1 when it failed, was cancelled or is still going at --timeout',
    )
    .argument('<id>')
    .option('--timeout <seconds>', 'give up after this long (default: wait as long as it takes)', seconds)
    .option('--url <url>', 'the job is on this Galen server (API key from GALEN_KEY)')
    .action(async (id: string, o: { timeout?: number; url?: string }) => {
      const opts = global();
      const job =
        o.url !== undefined
          ? await waitRemote(o.url, id, o.timeout)
          : await withGalen(opts, (galen) =>
              galen.jobs.wait(id, o.timeout === undefined ? Infinity : o.timeout * 1000, CLI_ACTOR),
            );
      if (opts.json) print(job, true, () => '');
      if (job.state !== 'succeeded') throw notSucceeded(job, o.timeout);
      if (!opts.json) print(job, false, () => succeededText(job));
    });

  jobs
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>')
    .action(async (id: string) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const job = await audited(galen, 'job.cancel', { detail: { job: id } }, () =>
          galen.jobs.cancel(id, CLI_ACTOR),
        );
        print(job, opts.json, () =>
          job.state === 'cancelled'
            ? `${id} cancelled`
            : `${id}: ${job.state}${job.cancelRequested ? ' (cancel requested)' : ''}`,
        );
      });
    });

  return jobs;
}
