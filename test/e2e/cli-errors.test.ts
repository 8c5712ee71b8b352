/**
 * The built CLI reports a missing input, an existing output and a busy port as one line on
 * stderr with exit code 1, never a stack trace; `--force` overwrites; `--debug` shows the stack.
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import type { CliResult } from '../helpers/galen-process.js';

let dir: string;
let dataDir: string;
/** A path that does not exist (usable while the cases are collected, before `dir` is made). */
const missing = (name: string): string => join(tmpdir(), 'galen-cli-errors-no-such-folder', name);

/** Exactly one line on stderr, matching `pattern`, no stack frames, exit code 1. */
function expectOneLine(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.code).toBe(1);
}

describe('CLI errors', () => {
  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'galen-cli-errors-'));
    dataDir = join(dir, 'data');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['train', ['train', '--data', missing('a.csv'), '--target', 'y', '--name', 'm'], 'a.csv'],
    [
      'train --url',
      ['train', '--url', 'http://127.0.0.1:9', '--data', missing('a.csv'), '--target', 'y', '--name', 'm'],
      'a.csv',
    ],
    ['models register', ['models', 'register', 'x', missing('m.onnx')], 'm.onnx'],
    ['datasets upload', ['datasets', 'upload', missing('d.csv'), '--name', 'd'], 'd.csv'],
    ['deid fhir', ['deid', 'fhir', missing('b.json'), missing('out.json')], 'b.json'],
    ['explain --image', ['explain', 'm', '--image', missing('i.png')], 'i.png'],
  ])('%s names the missing input in one line', async (_, args, file) => {
    const result = await runCli(args, dataDir, 30_000, { GALEN_KEY: 'k' });
    expectOneLine(result, new RegExp(`^galen: cannot read \\S*${file.replace('.', '\\.')}: no such file$`));
  });

  it('models register names a folder given as the file', async () => {
    const result = await runCli(['models', 'register', 'x', dir], dataDir);
    expectOneLine(result, /^galen: cannot read \S+: it is a folder$/);
  });

  it('deid csv refuses an existing output unless --force', async () => {
    const input = join(dir, 'in.csv');
    const rules = join(dir, 'rules.json');
    const output = join(dir, 'out.csv');
    await writeFile(input, 'id,age\n1,40\n2,50\n');
    await writeFile(rules, JSON.stringify({ columns: { id: 'remove', age: 'keep' } }));
    await writeFile(output, 'keep me\n');
    const refused = await runCli(['deid', 'csv', input, output, '--rules', rules], dataDir);
    expectOneLine(
      refused,
      /^galen: cannot write \S*out\.csv: it already exists \(use --force to overwrite\)$/,
    );
    expect(await readFile(output, 'utf8')).toBe('keep me\n');

    const forced = await runCli(['deid', 'csv', input, output, '--rules', rules, '--force'], dataDir);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(await readFile(output, 'utf8')).toMatch(/^age\n/);
  });

  it('serve on a busy port says so in one line', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const result = await runCli(['serve', '--host', '127.0.0.1', '--port', String(port)], dataDir, 30_000, {
        GALEN_ADMIN_KEY: 'cli-errors-admin-key-0123456789abcdef',
        GALEN_GRPC_ENABLED: 'false',
      });
      expectOneLine(
        result,
        new RegExp(`^galen: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use$`),
      );
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('a usage error is one line and exit code 2', async () => {
    const result = await runCli(['models', 'register', 'x'], dataDir);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^error: missing required argument/),
    ]);
    expect(result.code).toBe(2);
  });

  it('--debug shows the stack', async () => {
    const result = await runCli(['--debug', 'deid', 'fhir', missing('b.json'), join(dir, 'o.json')], dataDir);
    expect(result.stderr).toMatch(/^\s+at /m);
    expect(result.code).toBe(1);
  });
});
