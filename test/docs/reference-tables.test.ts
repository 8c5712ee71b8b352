/**
 * The reference parts of the guides follow the code: the CLI reference (docs/guides/cli.md) names
 * every command, argument and option the command tree has and no other; the settings table of
 * docs/guides/configuration.md is the one generated from the config schema; the role table of
 * docs/guides/security.md is the grant table.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { PERMISSIONS, ROLES, roleCan } from '../../src/core/index.js';
import {
  SETTINGS_TABLE_HEADER,
  settingRows,
  settingsTable,
  tableAfter,
} from '../helpers/config-reference.js';

const GUIDES = join(resolve(fileURLToPath(import.meta.url), '../../..'), 'docs/guides');
const guide = (name: string): string => readFileSync(join(GUIDES, name), 'utf8');

interface Section {
  readonly heading: string;
  readonly body: string;
}

/** The document cut at every heading. */
function sections(markdown: string): Section[] {
  const out: { heading: string; lines: string[] }[] = [];
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6} (.*)$/.exec(line);
    if (heading) out.push({ heading: heading[1]!, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out.map((s) => ({ heading: s.heading, body: s.lines.join('\n') }));
}

/** Every command of the tree with its full name (`galen models register`), depth first. */
function commands(command: Command, parent: string[] = []): { name: string; command: Command }[] {
  const path = [...parent, command.name()];
  return [{ name: path.join(' '), command }, ...command.commands.flatMap((c) => commands(c, path))];
}

/** The long flags in the first cell of the section's option table rows (`| \`--max-batch-size <n>\` |`). */
function documentedFlags(body: string): string[] {
  return body
    .split('\n')
    .filter((l) => /^\|\s*`-/.test(l))
    .map((l) => /--[a-z][a-z0-9-]*/.exec(l.split('|')[1]!)?.[0] ?? l);
}

const usage = (command: Command): string[] =>
  command.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));

describe('docs/guides/cli.md', () => {
  const doc = sections(guide('cli.md'));
  const program = buildProgram();
  const leaves = commands(program).filter((c) => c.command !== program && c.command.commands.length === 0);

  it.each(leaves.map((c) => [c.name, c.command] as const))('documents %s', (name, command) => {
    const section = doc.find(
      (s) => s.heading.startsWith(`\`${name}\``) || s.heading.startsWith(`\`${name} `),
    );
    expect(section, `cli.md has no heading "\`${name} …\`"`).toBeDefined();
    expect(section!.heading).toBe(`\`${[name, ...usage(command)].join(' ')}\``);
    const options = command.options.map((o) => o.long!).sort();
    expect(documentedFlags(section!.body).sort(), `the option table of ${name}`).toEqual(options);
  });

  it('documents the global options, and no command that does not exist', () => {
    const global = doc.find((s) => s.heading === 'Global options');
    expect(global).toBeDefined();
    expect(documentedFlags(global!.body).sort()).toEqual(program.options.map((o) => o.long!).sort());
    const names = new Set(leaves.map((c) => `\`${[c.name, ...usage(c.command)].join(' ')}\``));
    const headings = doc.filter((s) => s.heading.startsWith('`galen ')).map((s) => s.heading);
    expect(headings.filter((h) => !names.has(h))).toEqual([]);
  });
});

describe('docs/guides/configuration.md', () => {
  it('holds the settings table generated from the config schema', () => {
    const shown = tableAfter(guide('configuration.md'), '<!-- settings-table -->');
    const expected = [
      SETTINGS_TABLE_HEADER,
      ...settingRows().map((r) => [r.variable, r.setting, r.defaultValue, r.allowed, r.description]),
    ];
    expect(
      shown,
      `the table after <!-- settings-table --> differs from the schema; paste this and run prettier:\n${settingsTable()}`,
    ).toEqual(expected);
  });
});

describe('docs/guides/security.md', () => {
  it('holds the grant table: which role has which permission', () => {
    const rows = tableAfter(guide('security.md'), '<!-- permissions-table -->');
    expect(rows[0]!.slice(0, ROLES.length + 1)).toEqual(['permission', ...ROLES.map((r) => `\`${r}\``)]);
    const expected = PERMISSIONS.map((p) => [`\`${p}\``, ...ROLES.map((r) => (roleCan(r, p) ? '✓' : ''))]);
    expect(rows.slice(1).map((r) => r.slice(0, ROLES.length + 1))).toEqual(expected);
  });
});
