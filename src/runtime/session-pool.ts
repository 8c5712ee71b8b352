/**
 * A fixed pool of ONNX Runtime worker threads. Each open session is loaded in every worker
 * (like Triton's model instances), and each run goes to the least busy worker, so runs of one
 * model and of different models proceed in parallel while the main thread stays free.
 *
 * A worker that dies (a native crash in ONNX Runtime surfaces as an exit) fails only the calls
 * it was handling; it is replaced and its sessions are opened again.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { GalenError } from '../core/index.js';
import { SESSION_WORKER_SOURCE } from './session-worker.js';
import type {
  ModelSource,
  WireSessionMetadata,
  WireTensor,
  WorkerReply,
  WorkerRequest,
} from './session-worker.js';

type Reply = WorkerReply & { ok: true };

interface Pending {
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Whether the worker exited on purpose (pool shut down). */
  stopping: boolean;
}

/** Raised for a run the model itself refused (ONNX Runtime's message), not a pool failure. */
export class SessionRunError extends Error {
  override readonly name = 'SessionRunError';
}

const ORT_PATH = createRequire(import.meta.url).resolve('onnxruntime-node');

export class SessionPool {
  private readonly workers: PoolWorker[] = [];
  /** Open sessions and where they came from, to open them again in a replacement worker. */
  private readonly sessions = new Map<number, { model: ModelSource }>();
  private nextId = 1;
  private nextSid = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly sessionOptions: object,
  ) {}

  get workerCount(): number {
    return this.size;
  }

  private ensureStarted(): void {
    // Another replica (or this server, restarted) takes the retry.
    if (this.closed)
      throw new GalenError('unavailable', 'the model runtime is shutting down', { retryAfterSeconds: 1 });
    while (this.workers.length < this.size) this.workers.push(this.spawn());
  }

  private spawn(): PoolWorker {
    const worker = new Worker(SESSION_WORKER_SOURCE, {
      eval: true,
      workerData: { ortPath: ORT_PATH },
      stdout: false,
      stderr: false,
    });
    const entry: PoolWorker = { worker, pending: new Map(), stopping: false };
    worker.unref(); // the server keeps the process alive, not idle workers
    worker.on('message', (reply: WorkerReply) => {
      const waiter = entry.pending.get(reply.id);
      if (!waiter) return;
      entry.pending.delete(reply.id);
      if (entry.pending.size === 0) worker.unref();
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new SessionRunError(reply.error));
    });
    worker.on('error', (err) => this.lost(entry, err.message));
    worker.on('exit', (code) => this.lost(entry, `exit code ${code}`));
    return entry;
  }

  /** A worker stopped: fail what it held, replace it, and reopen every session in the new one. */
  private lost(entry: PoolWorker, why: string): void {
    const index = this.workers.indexOf(entry);
    if (index < 0) return; // already handled (error is followed by exit)
    this.workers.splice(index, 1);
    for (const waiter of entry.pending.values()) {
      waiter.reject(
        new GalenError('internal', `an ONNX Runtime worker stopped while running this call (${why})`),
      );
    }
    entry.pending.clear();
    if (entry.stopping || this.closed) return;
    const replacement = this.spawn();
    this.workers.push(replacement);
    for (const [sid, { model }] of this.sessions) {
      // Requests are handled in order, so later runs on this worker find the session open.
      this.send(replacement, {
        op: 'open',
        id: this.nextId++,
        sid,
        model,
        options: this.sessionOptions,
      }).catch(() => undefined);
    }
  }

  private send(target: PoolWorker, request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      target.pending.set(request.id, { resolve, reject });
      target.worker.ref();
      target.worker.postMessage(request, transfer);
    });
  }

  /** Opens a session from `model` (a path, or the file's bytes) in every worker; resolves with ONNX Runtime's metadata. */
  async open(model: ModelSource): Promise<{ sid: number; metadata: WireSessionMetadata }> {
    this.ensureStarted();
    const sid = this.nextSid++;
    const replies = await Promise.allSettled(
      this.workers.map((w) =>
        this.send(w, { op: 'open', id: this.nextId++, sid, model, options: this.sessionOptions }),
      ),
    );
    const failed = replies.find((r) => r.status === 'rejected');
    if (failed) {
      await this.closeSession(sid);
      throw failed.reason;
    }
    this.sessions.set(sid, { model });
    const first = replies[0] as PromiseFulfilledResult<Reply>;
    return { sid, metadata: (first.value as { metadata: WireSessionMetadata }).metadata };
  }

  /** Runs a session on the least busy worker. Buffers in `transfer` move to the worker. */
  async run(
    sid: number,
    feeds: readonly WireTensor[],
    outputs: readonly string[],
    transfer: ArrayBuffer[] = [],
  ): Promise<{ outputs: WireTensor[]; computeNs: number }> {
    this.ensureStarted();
    let target = this.workers[0]!;
    for (const w of this.workers) if (w.pending.size < target.pending.size) target = w;
    const reply = await this.send(target, { op: 'run', id: this.nextId++, sid, feeds, outputs }, transfer);
    return reply as { outputs: WireTensor[]; computeNs: number } & Reply;
  }

  /** Releases a session in every worker. */
  async closeSession(sid: number): Promise<void> {
    this.sessions.delete(sid);
    await Promise.allSettled(this.workers.map((w) => this.send(w, { op: 'close', id: this.nextId++, sid })));
  }

  /** Stops every worker; calls still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = [...this.workers];
    for (const w of workers) w.stopping = true;
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
