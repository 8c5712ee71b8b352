/**
 * Writes recorded-prediction batches on a thread of its own, through its own connection to the
 * database file: the SQLite work (the batch, and the request-id index with its random keys) then
 * runs beside the main thread instead of between its requests. WAL mode lets the two connections
 * share the file; a busy database makes this thread wait, not the server.
 *
 * Like the ONNX Runtime workers, the thread runs from the source text of one self-contained
 * function, so the same code runs from `src/` under the test runner and from `dist/`.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { GalenError } from '../core/index.js';
import type { MonitoringBatchRecord, MonitoringRequestRecord } from './records.js';

interface WriteRequest {
  id: number;
  batch: MonitoringBatchRecord;
  requests: readonly MonitoringRequestRecord[];
}

interface WriteReply {
  id: number;
  error?: string;
}

/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any */
/** The thread's main function: it uses nothing from its surroundings, only its `require` argument. */
function writerMain(require: (id: string) => any): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const Database = require(workerData.sqlitePath);
  const db = new Database(workerData.path, { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const insertBatch = db.prepare(
    'INSERT INTO monitoring_batches (model, version, first_at, last_at, rows, payload) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const upsertRequest = db.prepare(
    `INSERT INTO monitoring_requests (model, request_key, version, at, rows) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (model, request_key) DO UPDATE SET version = excluded.version, at = excluded.at, rows = excluded.rows`,
  );
  const write = db.transaction((message: WriteRequest) => {
    const b = message.batch;
    insertBatch.run(b.model, b.version, b.firstAt, b.lastAt, b.rows, b.payload);
    for (const r of message.requests) upsertRequest.run(r.model, r.requestKey, r.version, r.at, r.rows);
  });
  parentPort.on('message', (message: WriteRequest | 'close') => {
    if (message === 'close') {
      db.close();
      parentPort.close();
      return;
    }
    try {
      write.immediate(message);
      parentPort.postMessage({ id: message.id } satisfies WriteReply);
    } catch (err) {
      parentPort.postMessage({ id: message.id, error: (err as Error).message } satisfies WriteReply);
    }
  });
}
/* eslint-enable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any */

const SQLITE_PATH = createRequire(import.meta.url).resolve('better-sqlite3');
const SOURCE = `(${writerMain.toString()})(require)`;

export class MonitoringWriter {
  private worker: Worker | undefined;
  private next = 0;
  /** Waiters per thread: a crashed thread fails only its own writes. */
  private readonly pending = new Map<
    Worker,
    Map<number, { resolve: () => void; reject: (err: Error) => void }>
  >();
  private closed = false;

  constructor(private readonly path: string) {}

  private start(): Worker {
    const worker = new Worker(SOURCE, {
      eval: true,
      workerData: { path: this.path, sqlitePath: SQLITE_PATH },
    });
    const waiters = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
    this.pending.set(worker, waiters);
    worker.on('message', (reply: WriteReply) => {
      const waiter = waiters.get(reply.id);
      waiters.delete(reply.id);
      if (waiters.size === 0) worker.unref(); // idle: the thread does not keep the process alive
      if (reply.error === undefined) waiter?.resolve();
      else
        waiter?.reject(new GalenError('unavailable', `could not store recorded predictions: ${reply.error}`));
    });
    const lost = (err: Error): void => {
      for (const waiter of waiters.values()) waiter.reject(err);
      waiters.clear();
      this.pending.delete(worker);
      if (this.worker === worker) this.worker = undefined; // the next write starts a new thread
    };
    worker.on('error', lost);
    // The next write starts a new thread: a retry can succeed.
    worker.on('exit', () =>
      lost(new GalenError('unavailable', 'the monitoring writer thread stopped', { retryAfterSeconds: 1 })),
    );
    return worker;
  }

  /** Writes a batch and its request index in one transaction; resolves once it is committed. */
  write(batch: MonitoringBatchRecord, requests: readonly MonitoringRequestRecord[]): Promise<void> {
    if (this.closed) {
      // Only while the server shuts down: another replica (or this one, restarted) takes the retry.
      return Promise.reject(
        new GalenError('unavailable', 'the metadata store is closed', { retryAfterSeconds: 1 }),
      );
    }
    this.worker ??= this.start();
    const worker = this.worker;
    const waiters = this.pending.get(worker)!;
    const id = ++this.next;
    worker.ref(); // a write in flight keeps the process alive until it is committed
    return new Promise<void>((resolve, reject) => {
      waiters.set(id, { resolve, reject });
      worker.postMessage({ id, batch, requests } satisfies WriteRequest);
    });
  }

  /** Closes the thread's connection once the writes sent before are done. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref(); // held until the thread has closed its connection and exited
    worker.postMessage('close');
    await exited;
  }
}
