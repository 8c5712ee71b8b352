/**
 * Dynamic batching for one model version with a dynamic batch axis. Calls that arrive while
 * the model's slots are busy (or within `maxQueueDelayMicros`) are merged along dimension 0
 * into one ONNX Runtime run, and each caller gets back exactly its own rows. Calls whose other
 * dimensions, datatypes or requested outputs differ are never merged. The queue is bounded:
 * when it is full a call is refused at once with `unavailable` instead of growing memory.
 */
import { hrtime } from 'node:process';
import type { Signature, Tensor } from '../core/index.js';
import type { RunResult } from './model-runtime.js';
import { queueFullError, queueTimeoutError } from './queue-errors.js';
import type { Semaphore } from './semaphore.js';
import { concatRows, splitRows } from './tensor-rows.js';

export interface BatchingOptions {
  /** Most rows one merged run may hold. */
  maxBatchSize: number;
  /** Batch sizes to form when enough rows wait (ascending, each ≤ maxBatchSize); [] = as large as possible. */
  preferredBatchSizes: readonly number[];
  /**
   * How long the oldest queued call may wait for others to join before its batch runs even
   * though slots are free. 0: never wait on purpose; calls merge only while the model is busy.
   */
  maxQueueDelayMicros: number;
  /** Most calls waiting at once; beyond it calls are refused with `unavailable`. */
  maxQueueLength: number;
}

interface Pending {
  readonly inputs: readonly Tensor[];
  readonly outputNames: readonly string[];
  readonly rows: number;
  /** Calls with equal keys can share a run. */
  readonly key: string;
  readonly enqueuedAt: bigint;
  /** Fires when the call has waited its queue timeout. */
  timer: NodeJS.Timeout | undefined;
  resolve(result: RunResult): void;
  reject(err: unknown): void;
}

/** Whether a signature has a dynamic first dimension on every input and output. */
export function canBatch(signature: Signature): boolean {
  const dynamicFirst = (shape: readonly number[]): boolean => shape.length > 0 && shape[0] === -1;
  return (
    signature.inputs.length > 0 &&
    signature.inputs.every((s) => dynamicFirst(s.shape)) &&
    signature.outputs.every((s) => dynamicFirst(s.shape))
  );
}

function mergeKey(inputs: readonly Tensor[], outputNames: readonly string[]): string {
  const parts = [...inputs]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`);
  return `${parts.join('|')}=>${outputNames.join(',')}`;
}

/** Runs the model once; `owned` inputs were built by the batcher and may be handed over, not copied. */
export type Execute = (
  inputs: readonly Tensor[],
  outputNames: readonly string[],
  owned: boolean,
) => Promise<{ outputs: Tensor[]; computeNs: number }>;

export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private dispatching = false;
  private wake: (() => void) | undefined;

  constructor(
    private options: BatchingOptions,
    private readonly slots: Semaphore,
    private readonly execute: Execute,
    /** Called once per model execution with its size in rows and its compute time. */
    private readonly onExecution: (rows: number, computeNs: number) => void,
  ) {}

  /** Applies new settings; calls already queued stay queued. */
  reconfigure(options: BatchingOptions): void {
    this.options = options;
    this.wake?.();
  }

  /**
   * Queues a call. With `timeoutMicros` > 0 a call still waiting after that long is refused
   * with `unavailable` (it never runs).
   */
  async submit(
    inputs: readonly Tensor[],
    outputNames: readonly string[],
    timeoutMicros = 0,
  ): Promise<RunResult> {
    // Nothing waiting, a slot free, no reason to wait for company: run now, without the queue.
    if (this.queue.length === 0 && this.options.maxQueueDelayMicros === 0 && this.slots.tryAcquire()) {
      try {
        const { outputs, computeNs } = await this.execute(inputs, outputNames, false);
        this.onExecution(inputs[0]?.shape[0] ?? 1, computeNs);
        return { outputs, queueNs: 0, computeNs };
      } finally {
        this.slots.release();
      }
    }
    if (this.queue.length >= this.options.maxQueueLength) throw queueFullError(this.options.maxQueueLength);
    return new Promise<RunResult>((resolve, reject) => {
      const pending: Pending = {
        inputs,
        outputNames,
        rows: inputs[0]?.shape[0] ?? 1,
        key: mergeKey(inputs, outputNames),
        enqueuedAt: hrtime.bigint(),
        timer: undefined,
        resolve,
        reject,
      };
      if (timeoutMicros > 0) {
        pending.timer = setTimeout(
          () => {
            const at = this.queue.indexOf(pending);
            if (at < 0) return; // already running
            this.queue.splice(at, 1);
            reject(queueTimeoutError(Number(hrtime.bigint() - pending.enqueuedAt) / 1000, timeoutMicros));
          },
          Math.ceil(timeoutMicros / 1000),
        );
      }
      this.queue.push(pending);
      if (this.headRows() >= this.fullBatch()) this.wake?.();
      void this.dispatch();
    });
  }

  /** Rows at which a batch need not wait for more: the largest preferred size, else the maximum. */
  private fullBatch(): number {
    return this.options.preferredBatchSizes.at(-1) ?? this.options.maxBatchSize;
  }

  /** Rows queued that could join the oldest call's batch. */
  private headRows(): number {
    const head = this.queue[0];
    if (!head) return 0;
    let rows = 0;
    for (const p of this.queue) if (p.key === head.key) rows += p.rows;
    return rows;
  }

  private async dispatch(): Promise<void> {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.queue.length > 0) {
        const delayNs = BigInt(this.options.maxQueueDelayMicros) * 1000n;
        const waited = hrtime.bigint() - this.queue[0]!.enqueuedAt;
        if (delayNs > waited && this.headRows() < this.fullBatch()) {
          // Node timers have millisecond resolution; shorter delays round up to 1 ms.
          const ms = Math.max(1, Math.ceil(Number(delayNs - waited) / 1e6));
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wake = undefined;
        }
        // While this waits for a free slot, more calls queue up and join the batch.
        await this.slots.acquire();
        if (this.queue.length === 0) {
          this.slots.release(); // every waiting call timed out meanwhile
          continue;
        }
        const batch = this.take();
        void this.run(batch).finally(() => this.slots.release());
      }
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * Removes the oldest call and later compatible ones: up to the largest preferred batch size
   * the waiting rows can fill, or else up to the maximum batch size.
   */
  private take(): Pending[] {
    const available = Math.min(this.headRows(), this.options.maxBatchSize);
    const limit =
      this.options.preferredBatchSizes.findLast((s) => s <= available) ?? this.options.maxBatchSize;
    const head = this.queue.shift()!;
    clearTimeout(head.timer);
    const batch = [head];
    let rows = head.rows;
    for (let i = 0; i < this.queue.length && rows < limit;) {
      const p = this.queue[i]!;
      if (p.key === head.key && rows + p.rows <= limit) {
        clearTimeout(p.timer);
        batch.push(p);
        rows += p.rows;
        this.queue.splice(i, 1);
      } else {
        i++;
      }
    }
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    const startedAt = hrtime.bigint();
    if (batch.length > 1) {
      try {
        const names = batch[0]!.inputs.map((t) => t.name);
        const merged = names.map((name) =>
          concatRows(batch.map((p) => p.inputs.find((t) => t.name === name)!)),
        );
        const { outputs, computeNs } = await this.execute(merged, batch[0]!.outputNames, true);
        const rows = batch.map((p) => p.rows);
        const pieces = outputs.map((o) => splitRows(o, rows));
        this.onExecution(
          rows.reduce((a, b) => a + b, 0),
          computeNs,
        );
        batch.forEach((p, i) =>
          p.resolve({
            outputs: pieces.map((piece) => piece[i]!),
            queueNs: Number(startedAt - p.enqueuedAt),
            computeNs,
          }),
        );
        return;
      } catch {
        // One call's rows may be what the model refused, or an output may not follow the batch
        // axis: run each call on its own so only the call at fault fails.
      }
    }
    for (const p of batch) {
      const began = hrtime.bigint();
      try {
        const { outputs, computeNs } = await this.execute(p.inputs, p.outputNames, false);
        this.onExecution(p.rows, computeNs);
        p.resolve({ outputs, queueNs: Number(began - p.enqueuedAt), computeNs });
      } catch (err) {
        p.reject(err);
      }
    }
  }
}
