/** The heading of the monitoring section of docs/benchmarks.md (written by `npm run bench:monitoring`). */
export const MONITORING_HEADING = '## Monitoring overhead (npm run bench:monitoring)';
