/**
 * `galen jobs`: training jobs in the local data folder (submitted to a server sharing it, or over
 * the API): list them, show one, print its log, cancel it. A server running the job stops it at its
 * next heartbeat.
 */
import { Command, InvalidArgumentError } from 'commander';
import { CLI_ACTOR, audited, print, table, withGalen } from './local-context.js';
import type { CliOptions } from './local-context.js';

function limit(value: string): number {
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw new InvalidArgumentError('expected an integer from 1 to 1000');
  return Number(value);
}

export function jobsCommand(global: () => CliOptions): Command {
  const jobs = new Command('jobs').description('training jobs: list, show, logs, cancel');

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
