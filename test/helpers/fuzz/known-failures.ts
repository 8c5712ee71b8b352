/**
 * Fuzz findings in routes owned elsewhere, each reproducible (`GALEN_FUZZ_ONLY=<case id>` prints
 * the request and the answer), kept as `it.fails` in the fuzz suite until fixed: when its owner
 * fixes one, its `it.fails` fails, and the entry is removed here.
 */
import type { FuzzCase } from './fuzz-cases.js';

export interface KnownFailure {
  owner: string;
  description: string;
  matches(c: FuzzCase, problem: string): boolean;
}

export const KNOWN_FAILURES: readonly KnownFailure[] = [];
