/** Server-wide state the health endpoints report. */
export interface ServerState {
  /** True once start-up loading has finished, false again while shutting down. */
  ready: boolean;
  /** True from SIGTERM on: readiness says "shutting down" rather than "starting". */
  draining?: boolean;
}
