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

export const KNOWN_FAILURES: readonly KnownFailure[] = [
  {
    owner: 'HTTP edge',
    description:
      'headers over 16 KiB answer Fastify\'s default 431 body {"error","message","statusCode"}: no "code", not an OperationOutcome on FHIR/CDS routes, and no limit named',
    matches: (_c, problem) => problem.startsWith('status 431 '),
  },
];
