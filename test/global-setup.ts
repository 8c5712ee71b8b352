/**
 * Vitest global setup: keeps dist/ as new as src/. Some end-to-end tests run the compiled program
 * (the `galen` CLI as a child process, and the job worker every server forks from dist/app/), so
 * after an edit to src/ they would otherwise test stale code. Before a run, and before every rerun
 * in watch mode, each source file newer than its compiled file is compiled again.
 *
 * Only those files, and without type checking (`npm run typecheck` does that): Galen compiles with
 * `isolatedModules`, so TypeScript's one-file transpile writes the same JavaScript and source map
 * as `tsc -p tsconfig.build.json`, in milliseconds per file instead of a whole-program build.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** A lock held while compiling, so test runs started together in one work tree compile once. */
const LOCK = join(
  tmpdir(),
  `galen-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
const LOCK_STALE_MS = 60_000;

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

const builtPath = (root: string, source: string): string =>
  join(root, 'dist', relative(join(root, 'src'), source)).replace(/\.ts$/, '.js');

/** The source files whose compiled file in dist/ is missing or older. */
export function staleSources(root = ROOT): string[] {
  return sourceFiles(join(root, 'src')).filter((file) => {
    const built = builtPath(root, file);
    return !existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs;
  });
}

/** tsconfig.build.json's options, for one-file transpiles of this ES-module package. */
function buildOptions(root: string): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  })!;
  // NodeNext emits ES modules for a package of "type": "module"; a one-file transpile cannot read
  // package.json, so it is told.
  return {
    ...parsed.options,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
}

/** Compiles `sources` into dist/ as `tsc -p tsconfig.build.json` would (JavaScript and source map). */
function compile(root: string, sources: readonly string[]): void {
  const compilerOptions = buildOptions(root);
  for (const source of sources) {
    // Read once: a file edited while this runs is older than its output only if this read saw it.
    const { outputText, sourceMapText } = ts.transpileModule(readFileSync(source, 'utf8'), {
      compilerOptions,
      fileName: source,
    });
    const built = builtPath(root, source);
    mkdirSync(dirname(built), { recursive: true });
    writeFileSync(built, outputText);
    if (sourceMapText !== undefined) writeFileSync(`${built}.map`, sourceMapText);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withBuildLock(fn: () => void): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A run killed while compiling leaves its lock behind; compiling never takes a minute.
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) rmdirSync(LOCK);
      else await sleep(100);
    }
  }
  try {
    fn();
  } finally {
    rmdirSync(LOCK);
  }
}

/** Compiles into dist/ every source file newer than its compiled file; says so on stderr. */
export async function buildIfStale(root = ROOT): Promise<void> {
  if (staleSources(root).length === 0) return;
  await withBuildLock(() => {
    const stale = staleSources(root); // another run may have compiled them while this one waited
    if (stale.length === 0) return;
    const started = Date.now();
    compile(root, stale);
    const shown = stale.slice(0, 3).map((f) => relative(root, f));
    process.stderr.write(
      `galen tests: compiled ${stale.length} source file(s) newer than dist/ ` +
        `(${shown.join(', ')}${stale.length > 3 ? ', …' : ''}) in ${Date.now() - started} ms\n`,
    );
  });
}

export default async function setup(project: TestProject): Promise<void> {
  await buildIfStale();
  project.onTestsRerun(() => buildIfStale());
}
