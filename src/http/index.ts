/** The HTTP edge: OIP v2, Triton's repository and statistics extensions, the native API, metrics. */
export { buildHttpServer } from './server.js';
export type { HttpServer } from './server.js';
export type { ServerState } from './server-state.js';
