/**
 * Vitest global setup: keeps dist/ as new as src/. Some end-to-end tests run the compiled program
 * (the `galen` CLI as a child process, and the job worker every server forks from dist/app/), so
 * after an edit to src/ they would otherwise test stale code. Before a run, and before every rerun
 * in watch mode, this rebuilds (`tsc -p tsconfig.build.json`, as `npm run build`) when any source
 * file is newer than its compiled file; when nothing changed it only compares file times.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** A lock held while building, so test runs started together in one work tree build once. */
const LOCK = join(
  tmpdir(),
  `galen-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
const LOCK_STALE_MS = 5 * 60_000;

/** Every TypeScript file under `dir` that compiles to a file of its own (not tests, not .d.ts). */
function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (/(?<!\.test|\.d)\.ts$/.test(entry.name)) files.push(path);
  }
  return files;
}

/** The source files (relative to the root) whose compiled file in dist/ is missing or older. */
export function staleSources(root = ROOT): string[] {
  const src = join(root, 'src');
  return sourceFiles(src).filter((file) => {
    const built = join(root, 'dist', relative(src, file)).replace(/\.ts$/, '.js');
    return !existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs;
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withBuildLock<T>(fn: () => T): Promise<T> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A run killed mid-build leaves its lock behind; a build never takes minutes.
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
        rmdirSync(LOCK);
      } else {
        await sleep(250);
      }
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(LOCK);
  }
}

/** Rebuilds dist/ when it is older than src/; says so on stderr, with any type errors tsc reports. */
export async function buildIfStale(root = ROOT): Promise<void> {
  if (staleSources(root).length === 0) return;
  await withBuildLock(() => {
    const stale = staleSources(root); // another run may have built while this one waited
    if (stale.length === 0) return;
    const started = Date.now();
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
      cwd: root,
      encoding: 'utf8',
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const first = relative(root, stale[0]!);
    process.stderr.write(
      `galen tests: dist/ was older than src/ (${stale.length} file(s), e.g. ${first}); rebuilt in ${seconds} s\n`,
    );
    if (result.status !== 0) {
      // tsc still writes dist/ on type errors, so the tests run the edited code; typecheck reports them.
      process.stderr.write(
        `galen tests: tsc reported errors (dist/ was written anyway):\n${result.stdout}${result.stderr}\n`,
      );
    }
    const left = staleSources(root);
    if (left.length > 0) {
      throw new Error(
        `could not bring dist/ up to date with src/ (still older: ${left.slice(0, 3).join(', ')})`,
      );
    }
  });
}

export default async function setup(project: TestProject): Promise<void> {
  await buildIfStale();
  project.onTestsRerun(() => buildIfStale());
}
