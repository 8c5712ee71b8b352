/** `galen keys …` and `galen audit …`: API keys and the audit log's chain check. */
import { Command, InvalidArgumentError } from 'commander';
import { ROLES, isRole } from '../core/index.js';
import type { Role } from '../core/index.js';
import { CLI_ACTOR, audited, print, table, withGalen } from './local-context.js';
import type { CliOptions } from './local-context.js';

function anchor(value: string): { seq: number; hash: string } {
  const match = /^([1-9][0-9]*):([0-9a-f]{64})$/.exec(value);
  if (!match) throw new InvalidArgumentError('an anchor is <seq>:<sha256 hex>, as printed by audit verify');
  return { seq: Number(match[1]), hash: match[2]! };
}

function role(value: string): Role {
  if (!isRole(value)) throw new InvalidArgumentError(`roles are ${ROLES.join(', ')}`);
  return value;
}

export function keysCommand(global: () => CliOptions): Command {
  const keys = new Command('keys').description('manage API keys');

  keys
    .command('create')
    .description('create an API key; it is printed once and never stored in the clear')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .requiredOption('--name <name>', 'who or what uses the key')
    .action(async (o: { role: Role; name: string }) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const created = await audited(galen, 'key.create', { detail: { role: o.role } }, () =>
          galen.keys.create({ name: o.name, role: o.role, createdBy: CLI_ACTOR.keyId }),
        );
        print(
          created,
          opts.json,
          () =>
            `${created.key}\n(id ${created.info.id}, role ${created.info.role}; shown once, store it now)`,
        );
      });
    });

  keys
    .command('list')
    .description('list API keys (ids and roles, never secrets)')
    .action(async () => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const list = await galen.keys.list();
        print(list, opts.json, () =>
          table(
            ['ID', 'ROLE', 'NAME', 'CREATED', 'REVOKED'],
            list.map((k) => [k.id, k.role, k.name, k.createdAt, k.revokedAt ?? '-']),
          ),
        );
      });
    });

  keys
    .command('revoke')
    .description('revoke an API key')
    .argument('<id>', 'key id (see keys list)')
    .action(async (id: string) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const info = await audited(galen, 'key.revoke', { detail: { keyId: id } }, () =>
          galen.keys.revoke(id),
        );
        print(info, opts.json, () => `revoked key ${id}`);
      });
    });

  return keys;
}

export function auditCommand(global: () => CliOptions): Command {
  const audit = new Command('audit').description('read and verify the audit log');

  audit
    .command('verify')
    .description("check the audit log's hash chain; exits 1 if any record was altered, removed or reordered")
    .option(
      '--anchor <seq:hash>',
      'a head printed by an earlier verify: also proves nothing was cut off or rewritten since',
      anchor,
    )
    .action(async (o: { anchor?: { seq: number; hash: string } }) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const result = await galen.audit.verify(o.anchor ? { anchor: o.anchor } : {});
        const head = result.head ? `${result.head.seq}:${result.head.hash}` : 'none (empty log)';
        print(result, opts.json, () =>
          result.ok
            ? `audit log intact: ${result.records} records, hash chain verified${o.anchor ? `, anchor ${o.anchor.seq} matches` : ''}
` +
              `head: ${head}
(keep the head outside this machine; verify --anchor <head> later detects records cut off the end)`
            : `audit log BROKEN at record ${result.brokenAt}: ${result.reason} (${result.records} records verified before it)`,
        );
        if (!result.ok) process.exitCode = 1;
      });
    });

  audit
    .command('list')
    .description(
      'print audit records, oldest first: the newest --limit records (as tail does), or with --after the records after that sequence number',
    )
    .option('--after <seq>', 'start after this sequence number (page forward)', (v) => Number.parseInt(v, 10))
    .option('--limit <n>', 'how many (max 1000)', (v) => Number.parseInt(v, 10), 100)
    .action(async (o: { after?: number; limit: number }) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const records = await galen.audit.list({
          limit: o.limit,
          // Without a starting point a user wants what happened last, not the log's first page.
          ...(o.after !== undefined ? { afterSeq: o.after } : { newest: true }),
        });
        print(records, opts.json, () =>
          table(
            ['SEQ', 'TIME', 'KEY', 'ROLE', 'ACTION', 'MODEL', 'VERSION', 'STATUS', 'MS'],
            records.map((r) => [
              String(r.seq),
              r.time,
              r.keyId ?? '-',
              r.role ?? '-',
              r.action,
              r.model ?? '-',
              r.version === null ? '-' : String(r.version),
              String(r.status),
              r.durationMs.toFixed(1),
            ]),
          ),
        );
      });
    });

  return audit;
}
