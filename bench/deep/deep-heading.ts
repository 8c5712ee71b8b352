/** The heading of the deep-model section of docs/benchmarks.md (written by `npm run bench:deep`). */
export const DEEP_HEADING = '## Deep models (npm run bench:deep)';
