/**
 * The README and every guide in docs/guides, run as a reader runs them: each ```sh block in
 * order, from the repository folder, against `galen serve --demo` on a fresh data folder, checking
 * every output the text shows and that nothing was written into the repository. See
 * guide-runner.ts for the conventions. The documents are dealt to a few test files (`shard` of
 * `shards`, alternately in name order) so the test runner runs them side by side.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CHILD_ADMIN_KEY, GalenProcesses, assertCliBuilt } from './galen-process.js';
import { guideScript, guideSteps, outputDifferences, splitOutput } from './guide-runner.js';
import type { Addresses, GuideStep } from './guide-runner.js';
import { pytorchAvailable } from './pytorch.js';
import { probePyTorch } from '../../src/deep/pytorch-backend.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const GUIDES = join(ROOT, 'docs/guides');

/** The README and the guides, in name order. */
async function allDocuments(): Promise<string[]> {
  const guides = (await readdir(GUIDES).catch(() => [] as string[])).filter((f) => f.endsWith('.md'));
  return ['README.md', ...guides.sort().map((f) => `docs/guides/${f}`)];
}

/**
 * Files of the repository that git would report (untracked or changed), ignored ones aside. Source
 * files being edited meanwhile (a developer's work tree) are left out: no guide writes those.
 */
function repositoryChanges(): Set<string> {
  const out = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: ROOT });
  const editing = /^(src|test|bench|docs)\/.*\.(ts|md)$/;
  return new Set(
    out
      .toString()
      .split('\n')
      .filter((line) => line !== '' && !editing.test(line.slice(3))),
  );
}

function runBash(script: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/**
 * The environment of the reader's shell: theirs, with the data folder the server uses, and
 * `python3` being the Python that has PyTorch when that is not the first on the PATH (Debian's
 * beside a pyenv one), as a reader following the guides would have arranged.
 */
async function shellEnv(dataDir: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GALEN_')) env[k] = v;
  const backend = await probePyTorch(process.env['GALEN_PYTHON']);
  if (backend.available) {
    const bin = join(dataDir, 'bin');
    await mkdir(bin);
    await symlink(
      backend.python.includes('/') ? backend.python : which(backend.python),
      join(bin, 'python3'),
    );
    env['PATH'] = `${bin}:${env['PATH'] ?? ''}`;
  }
  return { ...env, GALEN_DATA_DIR: dataDir, GALEN_LOG_LEVEL: 'warn' };
}

function which(command: string): string {
  return execFileSync('bash', ['-c', `command -v ${command}`])
    .toString()
    .trim();
}

function describeFailure(steps: readonly GuideStep[], outputs: readonly string[], stderr: string): string {
  const failed = steps[outputs.length - 1];
  const where = failed ? `the block at line ${failed.block.line}:\n${failed.block.code}` : 'before any block';
  return `${where}\n--- stderr (end) ---\n${stderr.slice(-3000)}`;
}

/**
 * Runs the documents dealt to `shard` (0-based) of `shards`; GALEN_GUIDE=docs/guides/x.md runs
 * that one only, in whichever file it falls (while writing it).
 */
export async function describeGuides(shard: number, shards: number): Promise<void> {
  const only = process.env['GALEN_GUIDE'];
  const documents = (await allDocuments()).filter((d, i) => i % shards === shard && (!only || d === only));
  describe('the README and the guides run as written', () => {
    const processes = new GalenProcesses();
    afterEach(() => processes.killAll());
    if (documents.length === 0) it.skip('(no document in this shard)', () => undefined);
    it.each(documents)('%s', { timeout: 900_000 }, (document) => runDocument(document, processes));
  });
}

async function runDocument(document: string, processes: GalenProcesses): Promise<void> {
  {
    assertCliBuilt();
    const text = await readFile(join(ROOT, document), 'utf8');
    if (text.includes('<!-- guide: needs pytorch -->') && !(await pytorchAvailable())) {
      process.stderr.write(
        `${document}: not run, the PyTorch backend is missing (GALEN_REQUIRE_PYTORCH=1 fails instead)\n`,
      );
      return;
    }
    const steps = guideSteps(text);
    expect(steps.length, `${document} has no sh block to run`).toBeGreaterThan(0);

    const dataDir = await mkdtemp(join(tmpdir(), 'galen-guide-'));
    try {
      // The reader's key file: the server writes it on a first start without GALEN_ADMIN_KEY.
      await writeFile(join(dataDir, 'admin.key'), `${CHILD_ADMIN_KEY}\n`, { mode: 0o600 });
      const server = await processes.start(dataDir, { GALEN_GRPC_ENABLED: 'true' }, ['--demo']);
      let grpcLine: string | undefined;
      for (let i = 0; i < 100 && !grpcLine; i++) {
        grpcLine = server.logLines.find((l) => l.includes('OIP v2 over gRPC on'));
        if (!grpcLine) await new Promise((r) => setTimeout(r, 50));
      }
      const at: Addresses = {
        http: new URL(server.url).host,
        grpc: grpcLine ? String(JSON.parse(grpcLine).address) : '127.0.0.1:8081',
        dataDir,
      };
      const before = repositoryChanges();
      const run = await runBash(guideScript(steps, at), await shellEnv(dataDir), 850_000);
      const outputs = splitOutput(run.stdout, steps.length);
      expect(run.code, describeFailure(steps, outputs, run.stderr)).toBe(0);
      expect(outputs).toHaveLength(steps.length);

      const problems = steps.flatMap((step, i) =>
        step.shown
          ? outputDifferences(step.shown, outputs[i]!).map((p) => `${document}:${step.shown!.line}: ${p}`)
          : [],
      );
      expect(problems).toEqual([]);

      const written = [...repositoryChanges()].filter((line) => !before.has(line));
      expect(written, `${relative(ROOT, document)} wrote into the repository`).toEqual([]);
    } finally {
      await processes.killAll();
      await rm(dataDir, { recursive: true, force: true });
    }
  }
}
