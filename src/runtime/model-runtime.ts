/**
 * The model runtime: loads ONNX Runtime sessions, warms them up, runs them under a per-model
 * concurrency limit, keeps per-version statistics, and unloads gracefully (a session is
 * released only after every call that already reached it has finished).
 */
import { hrtime } from 'node:process';
import ort from 'onnxruntime-node';
import { GalenError } from '../core/index.js';
import type { Signature, Tensor, TensorSpec } from '../core/index.js';
import { DynamicBatcher, canBatch } from './dynamic-batcher.js';
import type { BatchingOptions } from './dynamic-batcher.js';
import { Semaphore } from './semaphore.js';
import { addDuration, emptyStats } from './stats.js';
import type { VersionStats } from './stats.js';
import { datatypeOfOrt, fromOrtTensor, toOrtTensor, zeroTensor } from './tensor-convert.js';

export interface RuntimeOptions {
  /** Calls that may run at once per group (model); the rest wait in FIFO order. */
  maxConcurrentPerGroup: number;
  /** ONNX Runtime intra-op threads per session; 0 lets ONNX Runtime decide. */
  intraOpThreads: number;
  warmup: boolean;
  /** Dynamic batching for versions whose inputs and outputs all have a dynamic first dimension; undefined = off. */
  batching?: BatchingOptions | undefined;
  /** Told of every model execution: its key, size in rows and compute time (for metrics). */
  onExecution?: ((key: string, rows: number, computeNs: number) => void) | undefined;
}

/** A reservation of one loaded session for one call (see `ModelRuntime.acquire`). */
export interface Lease {
  readonly signature: Signature;
  run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<RunResult>;
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
  readonly session: ort.InferenceSession;
  readonly signature: Signature;
  batcher: DynamicBatcher | undefined;
  inFlight: number;
  draining: Promise<void> | undefined;
  resolveDrained: (() => void) | undefined;
  readonly loadedAt: number;
  warmupError: string | undefined;
}

const nowNs = (): bigint => hrtime.bigint();

/** Reads a signature from a session's metadata, refusing inputs OIP cannot carry. */
function signatureOf(session: ort.InferenceSession): Signature {
  const inputs: TensorSpec[] = [];
  const outputs: TensorSpec[] = [];
  const unservedOutputs: { name: string; reason: string }[] = [];
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) {
      throw new GalenError(
        'invalid_input',
        `input "${meta.name}" is not a tensor (a sequence or map); Galen serves tensor inputs only`,
      );
    }
    const datatype = datatypeOfOrt(meta.type);
    if (datatype === undefined) {
      throw new GalenError(
        'invalid_input',
        `input "${meta.name}" has element type ${meta.type}, which the Open Inference Protocol cannot carry`,
      );
    }
    inputs.push({
      name: meta.name,
      datatype,
      shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    });
  }
  for (const meta of session.outputMetadata) {
    const datatype = meta.isTensor ? datatypeOfOrt(meta.type) : undefined;
    if (!meta.isTensor || datatype === undefined) {
      unservedOutputs.push({
        name: meta.name,
        reason: meta.isTensor
          ? `element type ${meta.type} has no OIP datatype`
          : 'not a tensor (a sequence or map, e.g. a ZipMap); export without it to serve this output',
      });
      continue;
    }
    outputs.push({
      name: meta.name,
      datatype,
      shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
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

  constructor(private readonly options: RuntimeOptions) {}

  private sessionOptions(): ort.InferenceSession.SessionOptions {
    return {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      logSeverityLevel: 3,
      ...(this.options.intraOpThreads > 0 && { intraOpNumThreads: this.options.intraOpThreads }),
    };
  }

  private async createSession(path: string): Promise<ort.InferenceSession> {
    try {
      return await ort.InferenceSession.create(path, this.sessionOptions());
    } catch (err) {
      // ONNX Runtime names the file it read: a server path the client should not see.
      const reason = (err instanceof Error ? err.message : String(err))
        .replace(`Load model from ${path} failed:`, '')
        .replaceAll(path, 'the model file')
        .replace(/\s+/g, ' ')
        .trim();
      throw new GalenError('invalid_input', `ONNX Runtime cannot load this model: ${reason}`, { cause: err });
    }
  }

  /** Loads the file only to read and check its signature; refuses what ONNX Runtime cannot load. */
  async inspect(path: string): Promise<Signature> {
    const session = await this.createSession(path);
    try {
      return signatureOf(session);
    } finally {
      await session.release();
    }
  }

  /** Loads `path` under `key` (deduplicating concurrent loads) and warms it up. */
  async load(
    key: string,
    group: string,
    path: string,
  ): Promise<{ signature: Signature; warmupError?: string }> {
    const existing = this.entries.get(key);
    if (existing && !existing.draining) return this.describe(existing);
    if (existing?.draining) await existing.draining.then(() => this.releaseEntry(existing));
    const pending = this.loading.get(key);
    if (pending) return this.describe(await pending);
    const promise = (async () => {
      const session = await this.createSession(path);
      let signature: Signature;
      try {
        signature = signatureOf(session);
      } catch (err) {
        await session.release();
        throw err;
      }
      const entry: Entry = {
        key,
        group,
        session,
        signature,
        batcher: undefined,
        inFlight: 0,
        draining: undefined,
        resolveDrained: undefined,
        loadedAt: Date.now(),
        warmupError: undefined,
      };
      if (this.options.warmup) entry.warmupError = await this.warmup(entry);
      const batching = this.options.batching;
      if (batching && batching.maxBatchSize > 1 && canBatch(signature)) {
        entry.batcher = new DynamicBatcher(
          batching,
          this.semaphoreFor(group),
          (inputs, outputNames) => this.runOnce(entry, inputs, outputNames),
          (rows, computeNs) => this.recordExecution(key, rows, computeNs),
        );
      }
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

  /** One run on zeros with dynamic dimensions set to 1, so the first real call is not the slow one. */
  private async warmup(entry: Entry): Promise<string | undefined> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of entry.signature.inputs) {
      feeds[spec.name] = toOrtTensor(
        zeroTensor(
          spec.name,
          spec.datatype,
          spec.shape.map((d) => (d === -1 ? 1 : d)),
        ),
      );
    }
    try {
      await entry.session.run(feeds);
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
    await entry.session.release();
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
      run: (inputs, outputNames) => this.runEntry(entry, inputs, outputNames),
      release: () => {
        if (released) return;
        released = true;
        entry.inFlight--;
        if (entry.inFlight === 0) entry.resolveDrained?.();
      },
    };
  }

  /** One ONNX Runtime run, with no queueing or bookkeeping. */
  private async runOnce(
    entry: Entry,
    inputs: readonly Tensor[],
    outputNames: readonly string[],
  ): Promise<Tensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const tensor of inputs) feeds[tensor.name] = toOrtTensor(tensor);
    const results = await entry.session.run(feeds, [...outputNames]);
    return outputNames.map((name) => {
      const value = results[name];
      if (!value) throw new GalenError('internal', `ONNX Runtime returned no value for output "${name}"`);
      return fromOrtTensor(name, value);
    });
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
  ): Promise<RunResult> {
    const stats = this.stats.get(entry.key) ?? emptyStats();
    const queuedAt = nowNs();
    try {
      let result: RunResult;
      if (entry.batcher) {
        result = await entry.batcher.submit(inputs, outputNames);
      } else {
        const semaphore = this.semaphoreFor(entry.group);
        await semaphore.acquire();
        const startedAt = nowNs();
        try {
          const outputs = await this.runOnce(entry, inputs, outputNames);
          const computeNs = Number(nowNs() - startedAt);
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
      if (err instanceof GalenError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      // Inputs were validated against the signature, so what remains is the model's own check.
      throw new GalenError('invalid_input', `the model could not run on this input: ${reason}`, {
        cause: err,
      });
    }
  }

  /** Counts a call that failed before it reached the session (e.g. validation), as Triton does. */
  recordFailure(key: string, ns: number): void {
    const stats = this.stats.get(key) ?? emptyStats();
    this.stats.set(key, stats);
    addDuration(stats.fail, ns);
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
  }
}
