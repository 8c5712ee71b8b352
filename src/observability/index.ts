/** Observability: Prometheus metrics and the JSON logger. */
export { GalenMetrics } from './metrics.js';
export type { InferenceObservation } from './metrics.js';
export { createLogger, stderrDestination } from './logger.js';
export type { Logger } from './logger.js';
