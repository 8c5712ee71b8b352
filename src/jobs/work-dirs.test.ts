/**
 * A training run's files: the arrays reach the real Python trainer through unlinked files (no
 * name on any file system once it starts), the trainer's environment holds none of Galen's
 * secrets, and folders left by a killed process are swept. Real python3 and numpy, real files,
 * real /proc.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAINER_SCRIPT, runTrainer } from '../deep/pytorch-backend.js';
import { writeLabels, writeNpy } from './deep-data.js';
import {
  closeAll,
  makeInputsDir,
  makeWorkDir,
  removeWorkDir,
  sweepWorkDirs,
  writeTrainerSpec,
} from './work-dirs.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** A spec like the mlp's: one vector input of 3 features, two splits, binary labels. */
function spec(): Parameters<typeof writeTrainerSpec>[2] {
  return {
    version: 1,
    seed: 1,
    threads: 1,
    architecture: 'mlp',
    classes: 2,
    inputs: [
      {
        name: 'features',
        kind: 'vector',
        features: 3,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        train: 'train_features.npy',
        validation: 'validation_features.npy',
      },
    ],
    labels: { train: 'train_labels.npy', validation: 'validation_labels.npy' },
    training: { epochs: 1 },
    augment: null,
    network: { hidden: 4, layers: 1, dropout: 0 },
    export: { onnx: 'network.onnx', opset: 17, referenceCount: 2, reference: 'reference.npy' },
  };
}

async function writeArrays(dir: string): Promise<void> {
  const x = (rows: number, base: number) => ({
    dtype: 'float32' as const,
    shape: [rows, 3],
    data: Float32Array.from({ length: rows * 3 }, (_, i) => base + i),
  });
  await writeNpy(dir, 'train_features.npy', x(4, 0));
  await writeNpy(dir, 'validation_features.npy', x(2, 100));
  await writeLabels(dir, 'train_labels.npy', [0, 1, 0, 1]);
  await writeLabels(dir, 'validation_labels.npy', [1, 0]);
}

/** Children of this process whose command line contains `marker`. */
function childrenWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const SECRETS = {
  GALEN_ADMIN_KEY: 'admin-key-that-must-not-leak-0123456789',
  GALEN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  GALEN_PREVIOUS_MASTER_KEYS: Buffer.alloc(32, 8).toString('base64'),
  GALEN_DEID_KEY_FILE: '/secret/deid.key',
  CDS_CLIENT_SECRET: 'cds-secret',
};

describe('training run folders and the trainer process', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'galen-work-test-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('makes 0700 run folders named after the job and this process', async () => {
    const dir = await makeWorkDir('mlp', 'job-1', { root: join(root, 'tmp', 'training') });
    expect(statSync(join(root, 'tmp', 'training')).mode & 0o777).toBe(0o700);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(dir).toContain(`galen-mlp-job-1-${process.pid}-`);
    await removeWorkDir(dir);
    expect(existsSync(dir)).toBe(false);
  });

  it.skipIf(!hasNumpy)(
    'hands the arrays over unlinked; the real trainer code reads them through /dev/fd',
    async () => {
      const work = await makeWorkDir('mlp', 'job-2', { root });
      const arrays = await makeInputsDir(work, { root, memoryBacked: true });
      // With a master key the arrays are written to memory (/dev/shm), not under the data folder.
      if (existsSync('/dev/shm')) expect(arrays.startsWith('/dev/shm/galen-inputs-')).toBe(true);
      await writeArrays(arrays);
      const { specPath, fds } = await writeTrainerSpec(work, arrays, spec());
      try {
        // No array has a name any more, in either folder.
        expect(readdirSync(arrays).filter((f) => f.endsWith('.npy'))).toEqual([]);
        expect(readdirSync(work)).toEqual(['spec.json']);
        const written = JSON.parse(readFileSync(specPath, 'utf8'));
        expect(written.inputs[0].train).toBe('/dev/fd/3');
        expect(written.labels.validation).toBe('/dev/fd/6');
        // The trainer's own spec parser and loader, in a real python3 with numpy.
        const code = [
          'import json, sys',
          `sys.path.insert(0, ${JSON.stringify(join(TRAINER_SCRIPT, '..'))})`,
          'import numpy as np, galen_trainer as g',
          'd = g.load_data(g.parse_spec(sys.argv[1]), np)',
          "print(json.dumps({k: {'x': d[k]['arrays'][0].tolist(), 'y': d[k]['labels'].tolist()} for k in d}))",
        ].join('\n');
        const out = await new Promise<string>((resolve, reject) => {
          const child = spawn('python3', ['-c', code, specPath], {
            stdio: ['ignore', 'pipe', 'pipe', ...fds],
          });
          let text = '';
          let err = '';
          child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
          child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
          child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(err))));
        });
        const data = JSON.parse(out);
        expect(data.train.y).toEqual([0, 1, 0, 1]);
        expect(data.validation.x).toEqual([
          [100, 101, 102],
          [103, 104, 105],
        ]);
      } finally {
        closeAll(fds);
        await removeWorkDir(work);
        await removeWorkDir(arrays);
      }
    },
  );

  it("starts the trainer without Galen's secrets in its environment, holding the arrays by descriptor only", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, SECRETS);
    const work = await makeWorkDir('mlp', 'job-3', { root });
    const fifo = join(work, 'blocked-spec.json');
    try {
      await writeArrays(work);
      const { specPath, fds } = await writeTrainerSpec(work, work, spec());
      // A FIFO as the spec keeps the real trainer waiting at its first read while we look at it.
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const run = runTrainer('python3', fifo, () => undefined, fds);
      closeAll(fds);
      let pids: number[] = [];
      for (let i = 0; i < 200 && pids.length === 0; i++) {
        pids = childrenWith(fifo);
        if (pids.length === 0) await new Promise((r) => setTimeout(r, 25));
      }
      expect(pids).toHaveLength(1);
      const pid = pids[0]!;
      // The kernel fills in the environment just after the command line during exec, so an
      // empty read here means "not yet": read again until it is written.
      let environ: string[] = [];
      for (let i = 0; i < 200 && environ.join('') === ''; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 5));
        environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      }
      const names = environ.map((e) => e.slice(0, e.indexOf('=')));
      expect(names).toContain('PATH');
      for (const [name, value] of Object.entries(SECRETS)) {
        expect(names).not.toContain(name);
        expect(environ.join('\n')).not.toContain(value);
      }
      // Its fds 3–6 are the arrays, already unlinked.
      for (const fd of [3, 4, 5, 6])
        expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toMatch(/\.npy \(deleted\)$/);
      expect(readdirSync(work).sort()).toEqual(['blocked-spec.json', 'spec.json']);
      // Let it go: it reads the spec and ends (without torch it reports a missing library).
      await writeFile(fifo, readFileSync(specPath));
      await run.done.catch(() => undefined);
    } finally {
      for (const name of Object.keys(SECRETS)) delete process.env[name];
      Object.assign(process.env, saved);
      await removeWorkDir(work);
    }
  });

  it('sweeps the folders of a process that is gone, and keeps those of live ones', async () => {
    const training = join(root, 'sweep');
    await mkdir(training, { recursive: true });
    const gone = spawnSync('true').pid;
    const dead = join(training, `galen-deep-job-9-${gone}-AbC123`);
    await mkdir(dead);
    await writeFile(join(dead, 'train_pixels.npy'), 'patient pixels');
    const live = await makeWorkDir('deep', 'job-10', { root: training });
    const unrelated = join(training, 'something-else');
    await mkdir(unrelated);
    const removed = await sweepWorkDirs(training);
    expect(removed).toContain(dead);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
    await removeWorkDir(live);
  });
});
