/**
 * A small pool of worker threads for synchronous WebAssembly work (the HiGHS solver, RDKit): each
 * thread does one task at a time, a bounded queue waits in front, and a task that runs past its
 * deadline is stopped by ending its thread (the next task gets a new one).
 *
 * A thread runs from the source text of one self-contained function (`(${main.toString()})(require)`),
 * so the same code runs from `src/` under the test runner and from `dist/`. It receives
 * `{ id, task }` messages and answers `{ id, result }` or `{ id, error }`.
 */
import { Worker } from 'node:worker_threads';
import { GalenError } from './errors.js';

export interface ThreadPoolOptions {
  /** What the threads do, for messages ("the solver", "the molecule toolkit"). */
  what: string;
  /** `(${main.toString()})(require)`. */
  source: string;
  /** Given to each thread as `workerData`. */
  workerData?: unknown;
  /** Tasks run at once, each on a thread of its own (default 1). */
  threads?: number | undefined;
  /** Tasks that may wait for a thread; beyond them a task is refused as busy (default 16). */
  maxQueued?: number | undefined;
  /** What one task is called in messages (default "task"). */
  taskName?: string;
  /** What to suggest when refusing as busy. */
  busyHint?: string;
}

export type ThreadReply<R> = { id: number; result: R } | { id: number; error: string };

interface Waiting {
  task: unknown;
  deadlineMs: number | undefined;
  overrun: string;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  busy: boolean;
}

/**
 * The delay a caller refused by a full queue or a closing pool is told to wait. A task that failed
 * on its thread, or ran past its deadline, gets none: the same task would likely do so again.
 */
const BUSY_RETRY_AFTER_SECONDS = 1;

export class ThreadPool {
  private readonly slots: Slot[];
  private readonly queue: Waiting[] = [];
  private next = 0;
  private closed = false;

  constructor(private readonly options: ThreadPoolOptions) {
    this.slots = Array.from({ length: Math.max(1, options.threads ?? 1) }, () => ({
      worker: undefined,
      busy: false,
    }));
  }

  /** Tasks running and waiting now. */
  load(): { running: number; queued: number } {
    return { running: this.slots.filter((s) => s.busy).length, queued: this.queue.length };
  }

  /**
   * Runs `task` on a thread. A full queue, a thread failing and a task past `deadlineMs` are
   * `unavailable` (`overrun` says why for the last); an error the thread reports is `unavailable`
   * too, unless `taskError` turns it into something more exact.
   */
  run<R>(task: unknown, options: { deadlineMs?: number | undefined; overrun?: string } = {}): Promise<R> {
    const { what } = this.options;
    if (this.closed) return Promise.reject(this.shutDown());
    if (this.queue.length >= (this.options.maxQueued ?? 16) && !this.slots.some((s) => !s.busy)) {
      return Promise.reject(
        new GalenError(
          'unavailable',
          `${what} is busy: ${this.slots.length} ${this.options.taskName ?? 'task'}(s) running and ${this.queue.length} waiting; try again later${this.options.busyHint ? `, ${this.options.busyHint}` : ''}`,
          { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS },
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      this.queue.push({
        task,
        deadlineMs: options.deadlineMs,
        overrun: options.overrun ?? `${what} ran past its deadline and was stopped`,
        resolve: resolve as (result: unknown) => void,
        reject,
      });
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
    const worker = (slot.worker ??= new Worker(this.options.source, {
      eval: true,
      workerData: this.options.workerData,
    }));
    worker.ref();
    const id = ++this.next;
    let settled = false;
    const finish = (outcome: { result: unknown } | { error: GalenError }): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      slot.busy = false;
      if ('result' in outcome) {
        worker.unref();
        waiting.resolve(outcome.result);
      } else {
        // The thread may be mid-task or broken: never reuse it.
        if (slot.worker === worker) slot.worker = undefined;
        void worker.terminate();
        waiting.reject(outcome.error);
      }
      this.pump();
    };
    const { what } = this.options;
    const onMessage = (reply: ThreadReply<unknown>): void => {
      if (reply.id !== id) return;
      if ('result' in reply) finish({ result: reply.result });
      else finish({ error: new GalenError('unavailable', `${what} failed: ${reply.error}`) });
    };
    const onError = (err: Error): void =>
      finish({ error: new GalenError('unavailable', `${what} thread failed: ${err.message}`) });
    const onExit = (): void =>
      finish({ error: new GalenError('unavailable', `${what} thread stopped during its task`) });
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    const timer =
      waiting.deadlineMs === undefined
        ? undefined
        : setTimeout(
            () => finish({ error: new GalenError('unavailable', waiting.overrun) }),
            waiting.deadlineMs,
          );
    worker.postMessage({ id, task: waiting.task });
  }

  /** Refuses what is waiting and ends the threads (a task under way is abandoned). */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiting of this.queue.splice(0)) waiting.reject(this.shutDown());
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = undefined;
        if (worker) await worker.terminate();
      }),
    );
  }

  /** The refusal while the server shuts down: another replica (or this one, restarted) takes the retry. */
  private shutDown(): GalenError {
    return new GalenError('unavailable', `${this.options.what} is shut down`, {
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
    });
  }
}
