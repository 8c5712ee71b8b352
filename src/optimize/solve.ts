/**
 * Solving off the serving thread: a small pool of solver threads (`solver-thread.ts`), each running
 * one solve at a time, with a bounded queue in front. A solve that runs well past its time limit
 * (HiGHS checks its clock between steps, but one step of a huge model can be long) is stopped by
 * ending its thread, and answered as `unavailable`; the next solve gets a new thread.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { GalenError } from '../core/index.js';
import type { OptimizationModel } from './model.js';
import { solverMain } from './solver-thread.js';
import type { SolveOptions, SolveReply, SolveRequest, SolveResult } from './solver-thread.js';

export interface SolverPoolOptions {
  /** Solves run at once, each on a thread of its own (default 1). */
  threads?: number;
  /** Solves that may wait for a thread; beyond them a solve is refused as busy (default 16). */
  maxQueued?: number;
}

const HIGHS_PATH = createRequire(import.meta.url).resolve('highs');
const SOURCE = `(${solverMain.toString()})(require)`;

/** How long past its time limit (doubled: the conflict search has a budget of its own) a solve may run. */
const OVERRUN_GRACE_MS = 5000;

interface Waiting {
  model: OptimizationModel;
  options: SolveOptions;
  resolve: (result: SolveResult) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  busy: boolean;
}

export class SolverPool {
  private readonly slots: Slot[];
  private readonly queue: Waiting[] = [];
  private readonly maxQueued: number;
  private next = 0;
  private closed = false;

  constructor(options: SolverPoolOptions = {}) {
    this.slots = Array.from({ length: Math.max(1, options.threads ?? 1) }, () => ({
      worker: undefined,
      busy: false,
    }));
    this.maxQueued = options.maxQueued ?? 16;
  }

  /** Solves running and waiting now. */
  load(): { running: number; queued: number } {
    return { running: this.slots.filter((s) => s.busy).length, queued: this.queue.length };
  }

  /**
   * Solves `model` within its time limit on a solver thread. Outcomes (infeasible, unbounded, time
   * limit) are statuses; a full queue, an overrun or a solver fault is `unavailable`.
   */
  solve(model: OptimizationModel, options: SolveOptions): Promise<SolveResult> {
    if (this.closed) return Promise.reject(new GalenError('unavailable', 'the solver is shut down'));
    if (this.queue.length >= this.maxQueued && !this.slots.some((s) => !s.busy)) {
      return Promise.reject(
        new GalenError(
          'unavailable',
          `the solver is busy: ${this.slots.length} solve(s) running and ${this.queue.length} waiting; try again later, or submit the solve as a job`,
        ),
      );
    }
    return new Promise<SolveResult>((resolve, reject) => {
      this.queue.push({ model, options, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const waiting = this.queue.shift();
      if (!waiting) return;
      this.start(slot, waiting);
    }
  }

  private start(slot: Slot, waiting: Waiting): void {
    slot.busy = true;
    const worker = (slot.worker ??= new Worker(SOURCE, {
      eval: true,
      workerData: { highsPath: HIGHS_PATH },
    }));
    worker.ref();
    const id = ++this.next;
    let settled = false;
    const finish = (outcome: { result: SolveResult } | { error: GalenError }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      slot.busy = false;
      if ('result' in outcome) {
        worker.unref();
        waiting.resolve(outcome.result);
      } else {
        // The thread may be mid-solve or broken: never reuse it.
        if (slot.worker === worker) slot.worker = undefined;
        void worker.terminate();
        waiting.reject(outcome.error);
      }
      this.pump();
    };
    const onMessage = (reply: SolveReply): void => {
      if (reply.id !== id) return;
      if ('result' in reply) finish({ result: reply.result });
      else finish({ error: new GalenError('unavailable', `the solver failed: ${reply.error}`) });
    };
    const onError = (err: Error): void =>
      finish({ error: new GalenError('unavailable', `the solver thread failed: ${err.message}`) });
    const onExit = (): void =>
      finish({ error: new GalenError('unavailable', 'the solver thread stopped during the solve') });
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    const limitMs = waiting.options.timeLimitSeconds * 2000 + OVERRUN_GRACE_MS;
    const timer = setTimeout(
      () =>
        finish({
          error: new GalenError(
            'unavailable',
            `the solve ran ${Math.round(limitMs / 1000)} s, well past its ${waiting.options.timeLimitSeconds} s time limit, and was stopped`,
          ),
        }),
      limitMs,
    );
    worker.postMessage({ id, model: waiting.model, options: waiting.options } satisfies SolveRequest);
  }

  /** Refuses what is waiting and ends the threads (a solve under way is abandoned). */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiting of this.queue.splice(0))
      waiting.reject(new GalenError('unavailable', 'the solver is shut down'));
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = undefined;
        if (worker) await worker.terminate();
      }),
    );
  }
}
