/**
 * Runs the artifact sweep at start and on a timer. Uploads interrupted by a crash leave staged
 * files, and complete files whose record was never written; both are removed only once older than
 * 10 minutes (a CLI in another process may be uploading into the same folder), so a server that
 * restarts often, or runs for months, needs the periodic run as well as the one at start.
 */
import type { Logger } from '../observability/index.js';

export type SweepResult = { staged: number; orphans: number };

export class ArtifactSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult> | undefined;
  private runs = 0;

  constructor(
    private readonly sweep: () => Promise<SweepResult>,
    /** Seconds between runs after the first; 0 = only at start. */
    private readonly intervalSeconds: number,
    private readonly logger: Logger,
  ) {}

  /** Sweeps runs completed so far (for tests and diagnostics). */
  get completedRuns(): number {
    return this.runs;
  }

  /**
   * Sweeps once now (a failure is thrown: the data folder is not as it should be), then every
   * `intervalSeconds` (a failure is logged and the next run tries again).
   */
  async start(): Promise<SweepResult> {
    const first = await this.runOnce();
    if (this.intervalSeconds > 0 && !this.timer) {
      this.timer = setInterval(() => {
        this.runOnce().catch((err: unknown) => this.logger.error({ err }, 'artifact sweep failed'));
      }, this.intervalSeconds * 1000);
      this.timer.unref();
    }
    return first;
  }

  /** One sweep; a call while one runs shares it. */
  runOnce(): Promise<SweepResult> {
    this.running ??= (async () => {
      try {
        const swept = await this.sweep();
        this.runs++;
        if (swept.staged + swept.orphans > 0)
          this.logger.info(swept, 'removed unfinished uploads and unreferenced artifacts');
        return swept;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops the timer and waits for a sweep under way. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
