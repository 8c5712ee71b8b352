/**
 * `galen optimize <input.json> [--template beds|roster|theatre]`: solve a model or a template's
 * input in this process on the local data folder (audited as the CLI), or on a server (`--url`,
 * key from GALEN_KEY; `--job` queues it there as a job and prints the job). `galen optimize
 * templates` lists the templates.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { GalenError } from '../core/index.js';
import type { OptimizeAnswer } from '../optimize/index.js';
import type { CliOptions } from './local-context.js';
import { CLI_ACTOR, audited, print, table, withGalen } from './local-context.js';
import { RemoteGalen } from './remote-client.js';

function seconds(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('a number of seconds above 0');
  return n;
}

function gap(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('a relative gap from 0 to 1');
  return n;
}

/** The answer for a person: status, objective, time, and the conflict or the solution's headline. */
function render(answer: OptimizeAnswer): string {
  const lines = [
    `${answer.problem}: ${answer.status}${answer.objective === undefined ? '' : `, objective ${answer.objective}`}${answer.gap === undefined ? '' : `, gap ${answer.gap}`} (${answer.solveSeconds} s solving, limit ${answer.timeLimitSeconds} s; ${answer.size.variables} variables, ${answer.size.constraints} constraints)`,
  ];
  if (answer.conflict) {
    lines.push(
      `conflicting constraints${answer.conflict.complete ? '' : ' (possibly more than needed)'}:`,
      ...answer.conflict.constraints.map((c) => `  ${c.name}${c.meaning ? `: ${c.meaning}` : ''}`),
      ...(answer.conflict.note ? [answer.conflict.note] : []),
    );
  } else if (answer.solution && answer.problem === 'model') {
    const values = Object.entries(answer.solution).filter(([, v]) => v !== 0);
    lines.push(
      table(
        ['variable', 'value'],
        values.slice(0, 50).map(([k, v]) => [k, String(v)]),
      ),
    );
    if (values.length > 50) lines.push(`… ${values.length - 50} more non-zero values (--json for all)`);
  } else if (answer.solution) {
    lines.push(renderPlan(answer.problem, answer.solution), '(--json prints the whole plan)');
  }
  return lines.join('\n');
}

/** A template's plan as a table: nurses by day, wards' free beds by day, or sessions and their cases. */
function renderPlan(problem: string, plan: Record<string, unknown>): string {
  /* The plan is the template's own answer, built by this program's templates. */
  const p = plan as {
    nurses?: { name: string; schedule: (string | null)[] }[];
    wards?: { name: string; free: number[] }[];
    unplaced?: string[];
    sessions?: { id: string; cases: string[]; utilisation: number }[];
    unscheduled?: string[];
  };
  switch (problem) {
    case 'roster':
      return table(
        ['nurse', ...(p.nurses?.[0]?.schedule ?? []).map((_, d) => `day ${d}`)],
        (p.nurses ?? []).map((n) => [n.name, ...n.schedule.map((s) => s ?? '-')]),
      );
    case 'beds':
      return [
        table(
          ['free beds', ...(p.wards?.[0]?.free ?? []).map((_, d) => `day ${d}`)],
          (p.wards ?? []).map((w) => [w.name, ...w.free.map(String)]),
        ),
        `unplaced: ${p.unplaced?.length ? p.unplaced.join(', ') : 'none'}`,
      ].join('\n');
    case 'theatre':
      return [
        table(
          ['session', 'cases', 'utilisation'],
          (p.sessions ?? []).map((s) => [s.id, s.cases.join(' '), `${Math.round(s.utilisation * 100)}%`]),
        ),
        `unscheduled: ${p.unscheduled?.length ? p.unscheduled.join(', ') : 'none'}`,
      ].join('\n');
    default:
      return '';
  }
}

export function optimizeCommand(global: () => CliOptions): Command {
  const optimize = new Command('optimize')
    .description(
      'solve an optimisation model, or a bed, roster or theatre template (HiGHS); "optimize templates" lists them',
    )
    .argument('<input>', 'a JSON file: the model, or the template\'s input (or "templates")')
    .option('--template <name>', 'beds, roster or theatre; absent: the file is a model')
    .option('--time-limit <seconds>', 'stop after this long with the best solution found', seconds)
    .option('--mip-gap <gap>', 'relative gap at which an integer solve may stop (0 to 1)', gap)
    .option('--url <url>', 'solve on this Galen server (API key from GALEN_KEY)')
    .option('--job', 'with --url: queue the solve as a job and print the job')
    .action(
      async (
        file: string,
        o: { template?: string; timeLimit?: number; mipGap?: number; url?: string; job?: boolean },
      ) => {
        if (file === 'templates') {
          const list =
            o.url !== undefined
              ? await RemoteGalen.connect(o.url).call<{ name: string; summary: string }[]>(
                  'GET',
                  '/api/v1/optimize/templates',
                )
              : await withGalen(global(), (galen) => Promise.resolve(galen.optimize.templates()));
          print(list, global().json, () =>
            table(
              ['template', 'what it plans'],
              list.map((t) => [t.name, t.summary]),
            ),
          );
          return;
        }
        let input: unknown;
        try {
          input = JSON.parse(await readFile(file, 'utf8'));
        } catch (err) {
          throw new GalenError('invalid_input', `${file} is not readable JSON: ${(err as Error).message}`);
        }
        const request = {
          ...(o.template !== undefined && { template: o.template }),
          input,
          ...(o.timeLimit !== undefined && { timeLimitSeconds: o.timeLimit }),
          ...(o.mipGap !== undefined && { mipGap: o.mipGap }),
        };
        if (o.job && o.url === undefined)
          throw new GalenError('invalid_input', '--job queues the solve on a server: give --url too');
        if (o.url !== undefined) {
          const remote = RemoteGalen.connect(o.url);
          if (o.job) {
            const job = await remote.call<{ id: string }>('POST', '/api/v1/optimize/jobs', request);
            print(job, global().json, () => `queued ${job.id}: follow it with GET /api/v1/jobs/${job.id}`);
            return;
          }
          const answer = await remote.call<OptimizeAnswer>('POST', '/api/v1/optimize', request);
          print(answer, global().json, () => render(answer));
          return;
        }
        const answer = await withGalen(global(), (galen) =>
          audited(galen, 'optimize.solve', { detail: { problem: o.template ?? 'model' } }, () =>
            galen.optimize.run(request, CLI_ACTOR),
          ),
        );
        print(answer, global().json, () => render(answer));
      },
    );
  return optimize;
}
