/**
 * The model runtime: loads ONNX Runtime sessions (in worker threads, see session-pool.ts),
 * warms them up, runs them under a per-model concurrency limit, keeps per-version statistics,
 * and unloads gracefully (a session is released only after every call that already reached it
 * has finished).
 */
import { availableParallelism } from 'node:os';
import { hrtime } from 'node:process';
import type ort from 'onnxruntime-node';
import { GalenError } from '../core/index.js';
import type { ServingSettings, Signature, Tensor, TensorSpec } from '../core/index.js';
import { DynamicBatcher, canBatch } from './dynamic-batcher.js';
import { Semaphore } from './semaphore.js';
import { InlineSession } from './inline-session.js';
import { SessionPool, SessionRunError } from './session-pool.js';
import { sessionOptions } from './session-options.js';
import type { ModelSource, WireSessionMetadata } from './session-worker.js';
import { addDuration, emptyStats } from './stats.js';
import type { VersionStats } from './stats.js';
import { datatypeOfOrt, fromWire, toWire, zeroTensor } from './tensor-convert.js';

export interface RuntimeOptions {
  /** Calls that may run at once per group (model); the rest wait in FIFO order. */
  maxConcurrentPerGroup: number;
  /** ONNX Runtime worker threads; every loaded version has a session in each. 0 = one per CPU core. */
  workers?: number | undefined;
  /** ONNX Runtime intra-op threads per session; 0 = the CPU cores divided among the workers. */
  intraOpThreads: number;
  /**
   * ONNX Runtime's CPU memory arena (default off): on, every session keeps the memory of the
   * largest run it has seen until it is released (see session-options.ts).
   */
  cpuMemArena?: boolean | undefined;
  /**
   * Runs expected to take at most this long (µs, from the version's measured time per row) run
   * on the main thread instead of a worker; 0 = always in workers. Needs `warmup`.
   */
  inlineMaxMicros?: number | undefined;
  warmup: boolean;
  /** Batching and queueing for every model, unless `configure` sets other values for a group. */
  serving: ServingDefaults;
  /** Told of every model execution: its key, size in rows and compute time (for metrics). */
  onExecution?: ((key: string, rows: number, computeNs: number) => void) | undefined;
}

/** Every serving setting with a value: the server defaults, or a group's effective settings. */
export type ServingDefaults = Required<{ -readonly [K in keyof ServingSettings]: ServingSettings[K] }>;

/** A reservation of one loaded session for one call (see `ModelRuntime.acquire`). */
export interface Lease {
  readonly signature: Signature;
  /**
   * Runs the call. `timeoutMicros` (> 0) shortens the model's queue timeout for this call: a
   * call still queued after that long is refused with `unavailable` and never runs. An `internal`
   * call (Galen's own: explanations, monitoring references) shares the session and its
   * concurrency limit but is neither merged into client batches nor counted in the version's
   * statistics, which describe client traffic as Triton's do.
   */
  run(
    inputs: readonly Tensor[],
    outputNames: readonly string[],
    timeoutMicros?: number,
    internal?: boolean,
  ): Promise<RunResult>;
  release(): void;
}

export interface RunResult {
  outputs: Tensor[];
  queueNs: number;
  computeNs: number;
}

interface Entry {
  readonly key: string;
  readonly group: string;
  /** The session's id in the worker pool. */
  readonly sid: number;
  /** A main-thread session, for versions cheap enough to run inline (see inline-session.ts). */
  inline: InlineSession | undefined;
  /** Moving average of compute time per row (ns), from warm-up and every execution. */
  nsPerRow: number;
  readonly signature: Signature;
  batcher: DynamicBatcher | undefined;
  /** The settings in force for this version (its group's). */
  serving: ServingDefaults;
  inFlight: number;
  draining: Promise<void> | undefined;
  resolveDrained: (() => void) | undefined;
  readonly loadedAt: number;
  warmupError: string | undefined;
}

const nowNs = (): bigint => hrtime.bigint();

/** Reads a signature from a session's metadata, refusing inputs OIP cannot carry. */
function signatureOf(metadata: WireSessionMetadata): Signature {
  const inputs: TensorSpec[] = [];
  const outputs: TensorSpec[] = [];
  const unservedOutputs: { name: string; reason: string }[] = [];
  for (const meta of metadata.inputs) {
    if (!meta.isTensor) {
      throw new GalenError(
        'invalid_input',
        `input "${meta.name}" is not a tensor (a sequence or map); Galen serves tensor inputs only`,
      );
    }
    const datatype = datatypeOfOrt(meta.type ?? '');
    if (datatype === undefined) {
      throw new GalenError(
        'invalid_input',
        `input "${meta.name}" has element type ${meta.type}, which the Open Inference Protocol cannot carry`,
      );
    }
    inputs.push({
      name: meta.name,
      datatype,
      shape: (meta.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    });
  }
  for (const meta of metadata.outputs) {
    const datatype = meta.isTensor ? datatypeOfOrt(meta.type ?? '') : undefined;
    if (!meta.isTensor || datatype === undefined) {
      unservedOutputs.push({
        name: meta.name,
        reason: meta.isTensor
          ? `element type ${meta.type ?? 'unknown'} has no OIP datatype`
          : 'not a tensor (a sequence or map, e.g. a ZipMap); export without it to serve this output',
      });
      continue;
    }
    outputs.push({
      name: meta.name,
      datatype,
      shape: (meta.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    });
  }
  if (outputs.length === 0) {
    throw new GalenError(
      'invalid_input',
      'the model has no tensor output that the Open Inference Protocol can carry',
    );
  }
  return unservedOutputs.length > 0 ? { inputs, outputs, unservedOutputs } : { inputs, outputs };
}

export class ModelRuntime {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private readonly groups = new Map<string, Semaphore>();
  private readonly stats = new Map<string, VersionStats>();
  /** Per-group serving settings over `options.serving`. */
  private readonly overrides = new Map<string, ServingSettings>();

  private readonly pool: SessionPool;
  /** Options of main-thread (inline) sessions; the pool holds those of worker sessions. */
  private readonly inlineOptions: ort.InferenceSession.SessionOptions;

  constructor(private readonly options: RuntimeOptions) {
    const workers = options.workers && options.workers > 0 ? options.workers : availableParallelism();
    const threads =
      options.intraOpThreads > 0
        ? options.intraOpThreads
        : Math.max(1, Math.floor(availableParallelism() / workers));
    const { worker, inline } = sessionOptions({
      intraOpThreads: threads,
      cpuMemArena: options.cpuMemArena ?? false,
    });
    this.inlineOptions = inline;
    this.pool = new SessionPool(workers, worker);
  }

  /** The server-wide serving settings (what a group gets when it overrides nothing). */
  servingDefaults(): ServingDefaults {
    return { ...this.options.serving };
  }

  /** A group's settings: the defaults with its overrides applied. */
  servingOf(group: string): ServingDefaults {
    const overrides = Object.fromEntries(
      Object.entries(this.overrides.get(group) ?? {}).filter(([, v]) => v !== undefined),
    );
    return { ...this.options.serving, ...overrides };
  }

  /**
   * Sets a group's serving settings (over the defaults) and applies them to its loaded versions
   * at once; calls already queued stay queued.
   */
  configure(group: string, settings: ServingSettings): void {
    this.overrides.set(group, settings);
    for (const entry of this.entries.values()) {
      if (entry.group !== group) continue;
      entry.serving = this.servingOf(group);
      this.applyBatching(entry);
    }
  }

  /** Gives an entry a batcher when its settings and signature allow one, else none. */
  private applyBatching(entry: Entry): void {
    const s = entry.serving;
    if (!s.batching || s.maxBatchSize < 2 || !canBatch(entry.signature)) {
      entry.batcher = undefined; // a replaced batcher still finishes the calls it queued
      return;
    }
    const options = {
      maxBatchSize: s.maxBatchSize,
      preferredBatchSizes: s.preferredBatchSizes,
      maxQueueDelayMicros: s.maxQueueDelayMicros,
      maxQueueLength: s.maxQueueLength,
    };
    if (entry.batcher) {
      entry.batcher.reconfigure(options);
      return;
    }
    entry.batcher = new DynamicBatcher(
      options,
      this.semaphoreFor(entry.group),
      (inputs, outputNames, owned) => this.runOnce(entry, inputs, outputNames, owned),
      (rows, computeNs) => this.recordExecution(entry.key, rows, computeNs),
    );
  }

  private async createSession(model: ModelSource): Promise<{ sid: number; metadata: WireSessionMetadata }> {
    try {
      return await this.pool.open(model);
    } catch (err) {
      if (!(err instanceof SessionRunError)) throw err;
      // ONNX Runtime names the file it read: a server path the client should not see.
      const path = typeof model === 'string' ? model : '';
      const reason = err.message
        .replace(path ? `Load model from ${path} failed:` : /^Load model from .* failed:/, '')
        .replaceAll(path || '\u0000', 'the model file')
        .replace(/\s+/g, ' ')
        .trim();
      throw new GalenError('invalid_input', `ONNX Runtime cannot load this model: ${reason}`, { cause: err });
    }
  }

  /** Loads the model only to read and check its signature; refuses what ONNX Runtime cannot load. */
  async inspect(model: ModelSource): Promise<Signature> {
    const { sid, metadata } = await this.createSession(model);
    try {
      return signatureOf(metadata);
    } finally {
      await this.pool.closeSession(sid);
    }
  }

  /** Loads `model` (a path, or the file's bytes) under `key` (deduplicating concurrent loads) and warms it up. */
  async load(
    key: string,
    group: string,
    model: ModelSource,
  ): Promise<{ signature: Signature; warmupError?: string }> {
    const existing = this.entries.get(key);
    if (existing && !existing.draining) return this.describe(existing);
    if (existing?.draining) await existing.draining.then(() => this.releaseEntry(existing));
    const pending = this.loading.get(key);
    if (pending) return this.describe(await pending);
    const promise = (async () => {
      const { sid, metadata } = await this.createSession(model);
      let signature: Signature;
      try {
        signature = signatureOf(metadata);
      } catch (err) {
        await this.pool.closeSession(sid);
        throw err;
      }
      const entry: Entry = {
        key,
        group,
        sid,
        inline: undefined,
        nsPerRow: Number.POSITIVE_INFINITY,
        signature,
        batcher: undefined,
        serving: this.servingOf(group),
        inFlight: 0,
        draining: undefined,
        resolveDrained: undefined,
        loadedAt: Date.now(),
        warmupError: undefined,
      };
      if (this.options.warmup) entry.warmupError = await this.warmup(entry);
      const inlineMaxNs = (this.options.inlineMaxMicros ?? 0) * 1000;
      if (entry.nsPerRow <= inlineMaxNs) entry.inline = await InlineSession.open(model, this.inlineOptions);
      this.applyBatching(entry);
      this.entries.set(key, entry);
      if (!this.stats.has(key)) this.stats.set(key, emptyStats());
      return entry;
    })();
    this.loading.set(key, promise);
    try {
      return this.describe(await promise);
    } finally {
      this.loading.delete(key);
    }
  }

  private describe(entry: Entry): { signature: Signature; warmupError?: string } {
    return entry.warmupError === undefined
      ? { signature: entry.signature }
      : { signature: entry.signature, warmupError: entry.warmupError };
  }

  /**
   * Runs on zeros, with dynamic dimensions set to 1, once per worker, so no first real call is
   * the slow one.
   */
  private async warmup(entry: Entry): Promise<string | undefined> {
    const inputs = entry.signature.inputs.map((spec) =>
      zeroTensor(
        spec.name,
        spec.datatype,
        spec.shape.map((d) => (d === -1 ? 1 : d)),
      ),
    );
    const outputs = entry.signature.outputs.map((o) => o.name);
    try {
      // Runs sent together go to different workers (each picks the least busy one). Then a few
      // more, to measure what one row costs (the first runs of a session are slower).
      await Promise.all(
        Array.from({ length: this.pool.workerCount }, () =>
          this.pool.run(entry.sid, inputs.map(toWire), outputs),
        ),
      );
      for (let i = 0; i < 3; i++) {
        const { computeNs } = await this.pool.run(entry.sid, inputs.map(toWire), outputs);
        entry.nsPerRow = Math.min(entry.nsPerRow, computeNs);
      }
      return undefined;
    } catch (err) {
      // Some graphs reject all-zero inputs (e.g. shapes that must agree); that is not a load failure.
      return (err instanceof Error ? err.message : String(err)).slice(0, 500);
    }
  }

  isLoaded(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.draining === undefined;
  }

  loadedKeys(): string[] {
    return [...this.entries.values()].filter((e) => !e.draining).map((e) => e.key);
  }

  signatureOf(key: string): Signature | undefined {
    return this.entries.get(key)?.signature;
  }

  /**
   * Unloads `key` once its in-flight calls finish; new calls are refused from now on.
   * Resolves when the session has been released.
   */
  async unload(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    if (!entry.draining) {
      entry.draining = new Promise<void>((resolve) => {
        entry.resolveDrained = resolve;
        if (entry.inFlight === 0) resolve();
      });
    }
    await entry.draining;
    await this.releaseEntry(entry);
  }

  private async releaseEntry(entry: Entry): Promise<void> {
    if (this.entries.get(entry.key) !== entry) return; // already released
    this.entries.delete(entry.key);
    await Promise.all([this.pool.closeSession(entry.sid), entry.inline?.release()]);
  }

  /**
   * Reserves the loaded session for one call, or returns undefined when `key` is not loaded or
   * is draining. While a lease is held the session is not released; `release` must follow.
   */
  acquire(key: string): Lease | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.draining) return undefined;
    entry.inFlight++;
    let released = false;
    return {
      signature: entry.signature,
      run: (inputs, outputNames, timeoutMicros, internal) =>
        internal
          ? this.runInternal(entry, inputs, outputNames, timeoutMicros)
          : this.runEntry(entry, inputs, outputNames, timeoutMicros),
      release: () => {
        if (released) return;
        released = true;
        entry.inFlight--;
        if (entry.inFlight === 0) entry.resolveDrained?.();
      },
    };
  }

  /**
   * One ONNX Runtime run, with no queueing or bookkeeping. `owned` inputs were made by the
   * runtime (a merged batch): their memory moves to the worker instead of being copied.
   */
  private async runOnce(
    entry: Entry,
    inputs: readonly Tensor[],
    outputNames: readonly string[],
    owned = false,
  ): Promise<{ outputs: Tensor[]; computeNs: number }> {
    const feeds = inputs.map(toWire);
    const rows = inputs[0]?.shape[0] ?? 1;
    const inlineMaxNs = (this.options.inlineMaxMicros ?? 0) * 1000;
    if (entry.inline && entry.nsPerRow * Math.max(1, rows) <= inlineMaxNs) {
      const result = await entry.inline.run(feeds, outputNames);
      this.learnCost(entry, rows, result.computeNs);
      return { outputs: result.outputs.map(fromWire), computeNs: result.computeNs };
    }
    const transfer: ArrayBuffer[] = [];
    if (owned) {
      for (const f of feeds) {
        if (ArrayBuffer.isView(f.data) && f.data.buffer instanceof ArrayBuffer) transfer.push(f.data.buffer);
      }
    }
    const result = await this.pool.run(entry.sid, feeds, outputNames, transfer);
    this.learnCost(entry, rows, result.computeNs);
    return { outputs: result.outputs.map(fromWire), computeNs: result.computeNs };
  }

  /** Updates the version's cost per row, which decides where its next runs go. */
  private learnCost(entry: Entry, rows: number, computeNs: number): void {
    const perRow = computeNs / Math.max(1, rows);
    entry.nsPerRow = Number.isFinite(entry.nsPerRow) ? 0.9 * entry.nsPerRow + 0.1 * perRow : perRow;
  }

  private recordExecution(key: string, rows: number, computeNs: number): void {
    const stats = this.stats.get(key) ?? emptyStats();
    this.stats.set(key, stats);
    stats.executionCount++;
    addDuration((stats.batches[rows] ??= { count: 0, ns: 0 }), computeNs);
    this.options.onExecution?.(key, rows, computeNs);
  }

  /**
   * Runs one call under the group's concurrency limit, merged with others by the version's
   * batcher when it has one. Inputs must already be validated.
   */
  private async runEntry(
    entry: Entry,
    inputs: readonly Tensor[],
    outputNames: readonly string[],
    requestTimeoutMicros = 0,
  ): Promise<RunResult> {
    const stats = this.stats.get(entry.key) ?? emptyStats();
    const queuedAt = nowNs();
    const modelTimeout = entry.serving.queueTimeoutMicros;
    const timeoutMicros =
      requestTimeoutMicros > 0 && (modelTimeout === 0 || requestTimeoutMicros < modelTimeout)
        ? requestTimeoutMicros
        : modelTimeout;
    try {
      let result: RunResult;
      if (entry.batcher) {
        result = await entry.batcher.submit(inputs, outputNames, timeoutMicros);
      } else {
        const semaphore = this.semaphoreFor(entry.group);
        await semaphore.acquire({ maxWaiting: entry.serving.maxQueueLength, timeoutMicros });
        const startedAt = nowNs();
        try {
          const { outputs, computeNs } = await this.runOnce(entry, inputs, outputNames);
          this.recordExecution(entry.key, inputs[0]?.shape[0] ?? 1, computeNs);
          result = { outputs, queueNs: Number(startedAt - queuedAt), computeNs };
        } finally {
          semaphore.release();
        }
      }
      stats.inferenceCount += inputs[0]?.shape[0] ?? 1;
      stats.lastInference = Date.now();
      addDuration(stats.success, Number(nowNs() - queuedAt));
      addDuration(stats.queue, result.queueNs);
      addDuration(stats.computeInfer, result.computeNs);
      return result;
    } catch (err) {
      addDuration(stats.fail, Number(nowNs() - queuedAt));
      throw asRunError(err);
    }
  }

  /**
   * One of Galen's own calls: run alone under the group's concurrency limit (it is already a
   * batch, often of thousands of rows), and left out of the version's statistics.
   */
  private async runInternal(
    entry: Entry,
    inputs: readonly Tensor[],
    outputNames: readonly string[],
    requestTimeoutMicros = 0,
  ): Promise<RunResult> {
    const queuedAt = nowNs();
    const semaphore = this.semaphoreFor(entry.group);
    const modelTimeout = entry.serving.queueTimeoutMicros;
    await semaphore.acquire({
      maxWaiting: entry.serving.maxQueueLength,
      timeoutMicros: requestTimeoutMicros > 0 ? requestTimeoutMicros : modelTimeout,
    });
    const startedAt = nowNs();
    try {
      const { outputs, computeNs } = await this.runOnce(entry, inputs, outputNames);
      return { outputs, queueNs: Number(startedAt - queuedAt), computeNs };
    } catch (err) {
      throw asRunError(err);
    } finally {
      semaphore.release();
    }
  }

  /** Counts a call that failed before it reached the session (e.g. validation), as Triton does. */
  recordFailure(key: string, ns: number): void {
    const stats = this.stats.get(key) ?? emptyStats();
    this.stats.set(key, stats);
    addDuration(stats.fail, ns);
  }

  /** Forgets a key's statistics (for throw-away keys, such as a training run's evaluation). */
  forgetStats(key: string): void {
    this.stats.delete(key);
  }

  statsOf(key: string): VersionStats {
    return structuredClone(this.stats.get(key) ?? emptyStats());
  }

  private semaphoreFor(group: string): Semaphore {
    let semaphore = this.groups.get(group);
    if (!semaphore) {
      semaphore = new Semaphore(this.options.maxConcurrentPerGroup);
      this.groups.set(group, semaphore);
    }
    return semaphore;
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((key) => this.unload(key)));
    await this.pool.close();
  }
}

/** What a failed run reports: inputs were validated against the signature, so what remains is the model's own check. */
function asRunError(err: unknown): GalenError {
  if (err instanceof GalenError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new GalenError('invalid_input', `the model could not run on this input: ${reason}`, { cause: err });
}
