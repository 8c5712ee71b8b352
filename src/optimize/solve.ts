/**
 * Solving off the serving thread: HiGHS runs on a small pool of solver threads
 * (`solver-thread.ts`), each running one solve at a time, with a bounded queue in front. A solve
 * that runs well past its time limit (HiGHS checks its clock between steps, but one step of a
 * huge model can be long) is stopped by ending its thread, and answered as `unavailable`.
 */
import { createRequire } from 'node:module';
import { GalenError, ThreadPool } from '../core/index.js';
import type { OptimizationModel } from './model.js';
import { solverMain } from './solver-thread.js';
import type { SolveOptions, SolveRequest, SolveResult, ThreadSolveResult } from './solver-thread.js';

export interface SolverPoolOptions {
  /** Solves run at once, each on a thread of its own (default 1). */
  threads?: number;
  /** Solves that may wait for a thread; beyond them a solve is refused as busy (default 16). */
  maxQueued?: number;
}

/** How long past its time limit (doubled: the conflict search has a budget of its own) a solve may run. */
const OVERRUN_GRACE_MS = 5000;

export class SolverPool {
  private readonly pool: ThreadPool;

  constructor(options: SolverPoolOptions = {}) {
    this.pool = new ThreadPool({
      what: 'the solver',
      source: `(${solverMain.toString()})(require)`,
      workerData: { highsPath: createRequire(import.meta.url).resolve('highs') },
      threads: options.threads,
      maxQueued: options.maxQueued,
      taskName: 'solve',
      busyHint: 'or submit the solve as a job',
    });
  }

  /** Solves running and waiting now. */
  load(): { running: number; queued: number } {
    return this.pool.load();
  }

  /**
   * Solves `model` within its time limit on a solver thread. Outcomes (infeasible, unbounded, time
   * limit) are statuses; a full queue, an overrun or a solver fault is `unavailable`.
   */
  async solve(model: OptimizationModel, options: SolveOptions): Promise<SolveResult> {
    const deadlineMs = options.timeLimitSeconds * 2000 + OVERRUN_GRACE_MS;
    const result = await this.pool.run<ThreadSolveResult>({ model, options } satisfies SolveRequest, {
      deadlineMs,
      overrun: `the solve ran ${Math.round(deadlineMs / 1000)} s, well past its ${options.timeLimitSeconds} s time limit, and was stopped`,
    });
    if (result.status === 'unsolvable') {
      throw new GalenError(
        'invalid_input',
        `${result.reason}; check that a quadratic objective is convex (positive semidefinite when minimising, negative semidefinite when maximising) and the coefficients are of sensible size`,
      );
    }
    return result;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
