/** The HTTP edge: OIP v2, Triton's repository and statistics extensions, the native API, metrics. */
export { buildHttpServer } from './server.js';
export type { HttpServer } from './server.js';
export type { ServerState } from './server-state.js';
export { startWorkerHealthServer } from './worker-health.js';
export type { WorkerHealthOptions, WorkerHealthServer } from './worker-health.js';
