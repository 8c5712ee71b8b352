/** Server-wide state the health endpoints report. */
export interface ServerState {
  /** True once start-up loading has finished, false again while shutting down. */
  ready: boolean;
}
