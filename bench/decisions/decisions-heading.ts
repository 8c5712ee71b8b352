/** The heading of the decision-services section of docs/benchmarks.md (written by `npm run bench:decisions`). */
export const DECISIONS_HEADING = '## Decision services (npm run bench:decisions)';
