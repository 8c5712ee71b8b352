/**
 * `galen models list` as a user reads it: a long description is shortened at a word boundary and
 * marked with …, never cut mid-word.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, matMulModel, runCli } from '../helpers/galen-process.js';

let dir: string;

beforeAll(async () => {
  assertCliBuilt();
  dir = await mkdtemp(join(tmpdir(), 'galen-models-list-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('galen models list', () => {
  it('shortens a long description at a word boundary, with …', async () => {
    const file = join(dir, 'model.onnx');
    await writeFile(file, matMulModel(3, 1).bytes);
    const description =
      'Predicts coronary artery disease from routine measurements taken at a cardiology visit';
    const registered = await runCli(
      ['models', 'register', 'cad', file, '--model-description', description],
      join(dir, 'data'),
    );
    expect(registered.code, registered.stderr).toBe(0);

    const list = await runCli(['models', 'list'], join(dir, 'data'));
    expect(list.code, list.stderr).toBe(0);
    const row = list.stdout.split('\n').find((l) => l.startsWith('cad '));
    const shown = row?.slice(row.indexOf('Predicts')).trim() ?? '';
    expect(shown).toMatch(/…$/);
    expect(shown.length).toBeLessThanOrEqual(60);
    expect(shown.length).toBeGreaterThan(40);
    const words = description.split(' ');
    for (const word of shown.slice(0, -1).split(' ')) expect(words).toContain(word);
  });
});
