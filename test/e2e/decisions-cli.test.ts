/**
 * The decision services from the CLI, on a local data folder: a molecule model trained from the
 * ESOL file with a scaffold split, a recommender trained from MIMIC-III demo prescriptions with
 * diagnoses uploaded first, and a recommendation asked for with exclusions.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { dataUrl } from '../helpers/data.js';

const DATA = dataUrl('').pathname;

describe('decision services from the CLI', () => {
  let dir: string;
  let dataDir: string;
  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'galen-decisions-'));
    dataDir = join(dir, 'data');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('trains a molecule model from SMILES with a scaffold split', async () => {
    const run = await runCli(
      [
        '--json',
        'train',
        '--data',
        `${DATA}molecules/esol_delaney.csv`,
        '--target',
        'measured log solubility in mols per litre',
        '--smiles',
        'smiles',
        '--split',
        'scaffold',
        '--name',
        'esol',
        '--no-progress',
      ],
      dataDir,
      120_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ model: 'esol', version: 1, trained: 'gbdt' });
    expect(out.metrics.test.rmse).toBeLessThan(0.6 * out.metrics.baseline.trainingMeanRmse);
    const refused = await runCli(
      [
        'train',
        '--data',
        `${DATA}molecules/esol_delaney.csv`,
        '--target',
        'smiles',
        '--split',
        'scaffold',
        '--name',
        'x',
      ],
      dataDir,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--split is for molecule models: give --smiles <column> too/);
  }, 150_000);

  it('trains a recommender from interaction and feature tables, and recommends with exclusions', async () => {
    const upload = await runCli(
      ['datasets', 'upload', `${DATA}ehr/mimic3_demo_DIAGNOSES_ICD.csv`, '--name', 'diagnoses'],
      dataDir,
    );
    expect(upload.code, upload.stderr).toBe(0);
    const options = join(dir, 'rec.json');
    await writeFile(
      options,
      JSON.stringify({
        user: 'HADM_ID',
        userFeatures: [
          { dataset: 'diagnoses', key: 'HADM_ID', feature: 'ICD9_CODE', prefix: 'dx:' },
          { dataset: 'diagnoses', key: 'HADM_ID', feature: 'ICD9_CODE', prefix: 'dx3:', truncate: 3 },
        ],
      }),
    );
    const train = await runCli(
      [
        '--json',
        'train',
        '--data',
        `${DATA}ehr/mimic3_demo_PRESCRIPTIONS.csv`,
        '--target',
        'DRUG',
        '--recommender',
        options,
        '--name',
        'drug-rec',
        '--no-progress',
      ],
      dataDir,
      120_000,
    );
    expect(train.code, train.stderr).toBe(0);
    const metrics = JSON.parse(train.stdout).metrics;
    expect(metrics.test['precision@5']).toBeGreaterThan(metrics.baselines.popularity['precision@5']);
    const top = await runCli(
      ['--json', 'recommend', 'drug-rec', '--features', 'dx:4280,dx3:428', '--k', '3'],
      dataDir,
    );
    expect(top.code, top.stderr).toBe(0);
    const first = JSON.parse(top.stdout).patients[0].recommendations[0].item as string;
    const without = await runCli(
      ['recommend', 'drug-rec', '--features', 'dx:4280,dx3:428', '--k', '3', '--exclude', first],
      dataDir,
    );
    expect(without.code, without.stderr).toBe(0);
    expect(without.stdout).toContain(`excluded:\n  ${first} (already prescribed)`);
  }, 150_000);
});
