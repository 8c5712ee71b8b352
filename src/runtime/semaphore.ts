/** A counting semaphore with a FIFO wait queue: the per-model concurrency limit. */
import { queueFullError, queueTimeoutError } from './queue-errors.js';

export interface WaitLimits {
  /** Most callers that may wait; one more is refused at once with `unavailable`. */
  maxWaiting: number;
  /** Longest wait in µs before the caller is refused with `unavailable`; 0 = no limit. */
  timeoutMicros: number;
}

interface Waiter {
  grant(): void;
}

export class Semaphore {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private readonly limit: number) {}

  /** Takes a slot if one is free at once; never waits. */
  tryAcquire(): boolean {
    if (this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  async acquire(limits?: WaitLimits): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    if (limits && this.waiters.length >= limits.maxWaiting) throw queueFullError(limits.maxWaiting);
    await new Promise<void>((resolve, reject) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      if (limits && limits.timeoutMicros > 0) {
        timer = setTimeout(
          () => {
            const at = this.waiters.indexOf(waiter);
            if (at < 0) return;
            this.waiters.splice(at, 1);
            reject(queueTimeoutError((performance.now() - started) * 1000, limits.timeoutMicros));
          },
          Math.ceil(limits.timeoutMicros / 1000),
        );
      }
      this.waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next.grant();
    else this.active--;
  }
}
