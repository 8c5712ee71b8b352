/** Where things are: the repository root (found from this file, so it works from bench/ and dist-bench/bench/). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no Galen checkout (package.json and proto/) above ${from}`);
  }
}

/** The Galen checkout the benchmark runs in. */
export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the checkout. */
export const repoPath = (...parts: string[]): string => join(REPO_ROOT, ...parts);
