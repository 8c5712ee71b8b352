/**
 * `galen train` as other tools script it: CSV in, one JSON object out with the registered version
 * and its held-out metrics; bad input refused with the reason and nothing registered.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { createTestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

describe('galen train', () => {
  let dir: string;
  let train: string;
  let test: string;
  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'galen-train-cli-'));
    // The real WDBC file, its last 119 rows kept apart as the held-out test file.
    const lines = (await readFile(dataUrl('clinical/breast_cancer_wdbc.csv'), 'utf8')).trim().split('\n');
    train = join(dir, 'train.csv');
    test = join(dir, 'test.csv');
    await writeFile(train, [lines[0], ...lines.slice(1, 451)].join('\n'));
    await writeFile(test, [lines[0], ...lines.slice(451)].join('\n'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  /** Train on the first 450 WDBC rows, hold out the rest. */
  const args = () => [
    'train',
    '--data',
    train,
    '--test',
    test,
    '--target',
    'diagnosis',
    '--positive',
    'malignant',
  ];

  it('trains, evaluates on the --test file and registers, printing one JSON object', async () => {
    const out = await runCli(
      [...args(), '--model', 'auto', '--name', 'wdbc', '--seed', '7', '--json'],
      join(dir, 'data'),
      60_000,
    );
    expect(out.code, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result).toMatchObject({ model: 'wdbc', version: 1 });
    expect(['logistic', 'gbdt']).toContain(result.trained);
    expect(result.metrics.test.n).toBe(119);
    expect(result.metrics.test.auroc).toBeGreaterThan(0.97);
    expect(result.metrics.test.accuracy).toBeGreaterThan(0.9);
    expect(result.metrics.evaluatedOn).toMatch(/separate test data wdbc-test:1 \(119 rows\)/);
    expect(result.metrics.parityMaxAbsDiff).toBeLessThan(1e-5);

    const show = await runCli(['models', 'show', 'wdbc:1'], join(dir, 'data'));
    const version = JSON.parse(show.stdout);
    expect(version.lineage.datasetSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(version.signature.inputs).toContainEqual({
      name: 'mean_radius',
      datatype: 'FP32',
      shape: [-1, 1],
    });
  }, 90_000);

  it('refuses an unknown target with the reason and registers nothing', async () => {
    const out = await runCli(
      ['train', '--data', train, '--target', 'nope', '--name', 'bad'],
      join(dir, 'data'),
      60_000,
    );
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/"nope"/);
    const list = await runCli(['models', 'list', '--json'], join(dir, 'data'));
    expect(JSON.parse(list.stdout).map((m: any) => m.name)).not.toContain('bad');
  }, 90_000);

  it('trains as a job on a running server with --url, showing progress, and prints the same JSON', async () => {
    const server = await createTestServer();
    try {
      const key = await server.key('developer');
      const out = await runCli(
        [...args(), '--model', 'logistic', '--name', 'wdbc-remote', '--url', server.url, '--json'],
        join(dir, 'unused'),
        90_000,
        { GALEN_KEY: key },
      );
      expect(out.code, out.stderr).toBe(0);
      const result = JSON.parse(out.stdout);
      expect(result).toMatchObject({ model: 'wdbc-remote', version: 1, trained: 'logistic' });
      expect(result.job).toMatch(/^job-/);
      expect(result.metrics.test.n).toBe(119);
      expect(result.metrics.test.auroc).toBeGreaterThan(0.97);
      // Not a terminal: one progress line per stage on stderr, stdout only the JSON.
      expect(out.stderr).toMatch(/^\s*0% queued\n/);
      expect(out.stderr).toMatch(/^100% done$/m);
      const job = (await server.call('GET', `/api/v1/jobs/${result.job}`)).body;
      expect(job).toMatchObject({ state: 'succeeded', createdRole: 'developer' });

      const noKey = await runCli([...args(), '--name', 'x', '--url', server.url], join(dir, 'unused'));
      expect(noKey.code).not.toBe(0);
      expect(noKey.stderr).toMatch(/set GALEN_KEY/);
      const badTarget = await runCli(
        ['train', '--data', train, '--target', 'nope', '--name', 'x', '--url', server.url],
        join(dir, 'unused'),
        30_000,
        { GALEN_KEY: key },
      );
      expect(badTarget.code).not.toBe(0);
      expect(badTarget.stderr).toMatch(/target "nope" is not a column/);
    } finally {
      await server.close();
    }
  }, 120_000);
});
