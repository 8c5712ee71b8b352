/**
 * Training jobs: submitted, queued and run one (or `concurrency`) at a time away from the serving
 * thread, with their state, progress and log kept in the metadata store so any process sharing
 * it can read them, a cancel, and a defined outcome after a crash or restart.
 *
 * States: queued → running → succeeded | failed | cancelled (queued → cancelled too). The process
 * that runs a job owns it (`host:pid`) and refreshes a heartbeat. A running job whose owner is gone
 * (its pid is dead on this host, or its heartbeat is stale) is recovered: if its model version was
 * already registered (the version's lineage names the job) it succeeded; otherwise it is queued
 * again and rerun from the start — training is seeded, so the rerun gives the same model — up to
 * `maxAttempts` starts, after which it fails. A server that stops gracefully queues its running
 * jobs again at once.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { GalenError, assertCan, httpStatusOf, isRole } from '../core/index.js';
import type { Actor, Clock, ErrorCode } from '../core/index.js';
import { roleCan } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import type { DatasetRegistry, ModelRegistry } from '../registry/index.js';
import { checkName } from '../registry/index.js';
import { parseTargetExpression } from '../datasets/index.js';
import { isNumberTarget } from '../training/index.js';
import { parseTableDeidConfig } from '../deid/index.js';
import { JOB_STATES } from '../store/index.js';
import type {
  ArtifactCipher,
  JobLogRecord,
  JobRecord,
  JobState,
  JobRepository,
  JsonObject,
} from '../store/index.js';
import { PYTORCH_INSTALL_HINT, backendMissing } from '../deep/pytorch-backend.js';
import type { PyTorchBackend } from '../deep/pytorch-backend.js';
import { tableSchemaOf } from '../registry/index.js';
import type { DatasetVersion } from '../registry/index.js';
import type { TrainModelRequest } from './train-model.js';
import { checkDeidRules } from './training-table.js';
import { checkMoleculeRequest } from './train-molecules.js';
import { pinRecommenderRequest } from './train-recommender.js';
import { checkDeepData, checkDeepOptions, classOrder, isDeepArchitecture } from './train-deep.js';
import { sweepWorkDirs } from './work-dirs.js';
import { resealJobs, sealedJobStore } from './sealed-jobs.js';
import type { JobStore } from './sealed-jobs.js';
import type { DeepArchitecture } from './train-deep.js';

/** What a finished run reports. */
export type JobOutcome =
  | { state: 'succeeded'; result: JsonObject }
  | { state: 'failed'; error: { code: ErrorCode; message: string } };

/** Where a run reports to while it works (called from the launcher). */
export interface JobEvents {
  progress(fraction: number, stage: string): void;
  log(level: JobLogRecord['level'], message: string): void;
}

/** A run under way; `done` settles when the run ends, however it ends. */
export interface RunningJob {
  /** Undefined when the run ended without saying how (it crashed or was killed). */
  readonly done: Promise<{ outcome?: JobOutcome; exit: string }>;
  kill(): void;
}

/** Starts a job's work somewhere other than the serving thread (a child process). */
export interface JobLauncher {
  launch(job: JobRecord, events: JobEvents): RunningJob;
}

export interface JobServiceOptions {
  launcher: JobLauncher;
  /** Jobs run at once by this process (default 1). */
  concurrency?: number;
  /** Starts allowed per job before an interrupted job is failed instead of rerun (default 3). */
  maxAttempts?: number;
  /** How often this process says its running jobs are alive, and checks for cancels (default 5 s). */
  heartbeatMs?: number;
  /** A running job whose heartbeat is older than this is taken to be orphaned (default 60 s). */
  staleMs?: number;
  /**
   * How often a started service looks in the store for jobs queued by other processes (an API
   * replica started with `--no-worker`) and for cancels of its own runs (default 1 s).
   */
  pollMs?: number;
  /**
   * Records how each job ended in the audit log, as its submitter (`job.finish`): a version
   * registered by a job is a change like any other.
   */
  audit?: (entry: JobAuditEntry) => Promise<unknown>;
  /** The PyTorch backend deep jobs need, probed when the service starts. */
  deepBackend?: () => Promise<PyTorchBackend>;
  /** Whether the server has a de-identification key (`deid.keyFile`), which `pseudonymize` rules need. */
  deidKey?: boolean;
  /** Checks an optimisation request before it is queued (the model or template input, the limits). */
  checkOptimization?: (request: JsonObject, actor: Actor) => void;
  /**
   * The folder job workers keep training runs' files in (`trainingWorkRoot(dataDir)`): folders
   * of dead workers are swept at start and on every heartbeat.
   */
  workRoot?: string;
  /** With a master key: job requests and results are stored encrypted. */
  cipher?: ArtifactCipher | undefined;
}

const MAX_ACTIVE_OPTIMIZATIONS_PER_KEY = 4;
/**
 * How long a key over its optimisation quota is told to wait: about what a small job takes from
 * queue to done (its process starts in a second or two); a longer solve frees its slot later, and
 * the next refusal says to wait again.
 */
const OPTIMIZATION_QUOTA_RETRY_SECONDS = 5;

/**
 * Whether `actor` may see and cancel `job`: the key that submitted it, or a key that manages
 * every job (`jobs:manage`, admins). A job's request, log and result name datasets, targets and
 * (for an optimisation) patients' admissions, and a cancel throws away another person's work, so
 * sharing a permission such as `data:read` is not enough. To anyone else the job does not exist.
 */
function visibleTo(actor: Actor, job: JobRecord): boolean {
  return roleCan(actor.role, 'jobs:manage') || job.createdBy === actor.keyId;
}

export interface JobAuditEntry {
  keyId: string;
  role: string;
  action: 'job.finish';
  model: string | null;
  version: number | null;
  status: number;
  durationMs: number;
  detail: JsonObject;
}

/** A job as callers see it. */
export type Job = Omit<JobRecord, 'owner' | 'heartbeatAt'>;

/** Whether a started service's job loop still turns (see {@link JobService.loopHealth}). */
export type JobLoopHealth = { alive: true } | { alive: false; reason: string };

/** Training requests as submitted (TrainModelRequest without in-process hooks). */
export type TrainJobRequest = TrainModelRequest;

const TERMINAL: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];
/** Queued jobs a claim looks at, oldest first; those other workers took meanwhile are skipped. */
const CLAIM_PAGE = 20;
const PROGRESS_WRITE_MS = 500;
/** How often a wait looks at the store again, for jobs run by another process sharing it. */
const WAIT_POLL_MS = 1000;
/** How often a started service looks for queued jobs and for cancels of its runs. */
const QUEUE_POLL_MS = 1000;

const toJob = ({ owner: _owner, heartbeatAt: _heartbeat, ...job }: JobRecord): Job => job;

function isOwnerDead(owner: string | null): boolean {
  if (owner === null) return true;
  const [host, pid] = owner.split(':');
  if (host !== hostname() || pid === undefined) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

interface Active {
  run: RunningJob;
  cancelling: boolean;
  lastProgressWrite: number;
  pendingProgress?: { fraction: number; stage: string } | undefined;
  /** The stage last reported, written or not: a stage is logged once, when it begins. */
  lastStage?: string;
  writes: Promise<unknown>;
}

export class JobService {
  private readonly owner = `${hostname()}:${process.pid}`;
  private readonly active = new Map<string, Active>();
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** performance.now() when the heartbeat and the queue poll last finished a round. */
  private lastTickAt = 0;
  private lastPollAt = 0;
  /** Only a started service claims queued jobs: the CLI and `serve --no-worker` only queue them. */
  private started = false;
  private pumping: Promise<void> | undefined;
  private repump = false;
  private closed = false;
  private readonly settledWaiters = new Map<string, (() => void)[]>();

  /** The jobs table, requests and results sealed under the master key (see sealed-jobs.ts). */
  private readonly store: JobStore;

  constructor(
    private readonly rawStore: JobRepository,
    private readonly registry: ModelRegistry,
    private readonly datasets: DatasetRegistry,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: JobServiceOptions,
  ) {
    this.store = sealedJobStore(rawStore, options.cipher);
    this.concurrency = options.concurrency ?? 1;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.heartbeatMs = options.heartbeatMs ?? 5000;
    this.staleMs = options.staleMs ?? 60_000;
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /**
   * Recovers orphaned jobs, then starts running queued ones (this process's and any other's that
   * share the store: found within `pollMs`), the heartbeat and the poll for cancels.
   */
  async start(): Promise<void> {
    // Probed in the background: importing torch takes seconds, and only deep jobs need it.
    void this.options
      .deepBackend?.()
      .then((backend) =>
        backend.available
          ? this.logger.info(
              { executable: backend.python, ...backend.versions },
              'PyTorch backend found: deep models can be trained',
            )
          : this.logger.info(
              { reason: backend.reason },
              `no PyTorch backend: tabular training works, deep models cannot be trained until you ${PYTORCH_INSTALL_HINT}`,
            ),
      );
    await this.sweepWork();
    await this.recoverOrphans();
    this.started = true;
    this.lastTickAt = this.lastPollAt = performance.now();
    this.timer = setInterval(() => void this.tick(), this.heartbeatMs);
    this.timer.unref();
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs ?? QUEUE_POLL_MS);
    this.pollTimer.unref();
    this.pump();
  }

  /**
   * Queues a training run after checking what can be checked at once (permissions, names, that
   * the datasets and the target column exist), so a bad request fails now rather than as a job.
   */
  async submitTraining(request: TrainJobRequest, actor: Actor): Promise<Job> {
    assertCan(actor, 'data:read', 'train on datasets');
    assertCan(actor, 'model:write', 'register trained models');
    checkName('model', request.model);
    const dataset = await this.datasets.get(request.dataset, request.datasetVersion, actor);
    if (isDeepArchitecture(request.modelKind) && request.deid !== undefined) {
      throw new GalenError(
        'invalid_input',
        'de-identification rules apply to tables; this is a deep architecture',
      );
    }
    if (request.recommender !== undefined)
      request = {
        ...request,
        recommender: await pinRecommenderRequest(this.datasets, request, dataset, actor),
      };
    else if (request.molecules !== undefined)
      checkMoleculeRequest(
        request,
        tableSchemaOf(dataset).columns.map((c) => c.name),
        `dataset ${dataset.name}:${dataset.version}`,
      );
    else if (isDeepArchitecture(request.modelKind)) await this.checkDeep(request, dataset);
    else this.checkTabular(request, dataset);
    if (request.modelKind === 'mlp') {
      // Refused now, not by a failed job (and whether or not the PyTorch backend is installed).
      const target = tableSchemaOf(dataset).columns.find((c) => c.name === request.target);
      if (target && request.overrides?.[request.target] === undefined && isNumberTarget(target)) {
        throw new GalenError(
          'invalid_input',
          `the mlp predicts classes, and target "${request.target}" is a number: use linear or gbdt`,
        );
      }
      await this.checkBackend(request);
    }
    if (request.testDataset !== undefined) await this.datasets.get(request.testDataset, undefined, actor);
    // Pin the dataset version, so a later upload cannot change what a queued or rerun job trains on.
    return this.queue(
      'train',
      { ...request, datasetVersion: dataset.version },
      actor,
      `queued: train ${request.modelKind} on ${dataset.name}:${dataset.version} to predict "${request.target}" as model "${request.model}"`,
    );
  }

  /**
   * Queues an optimisation solve too long to answer at once (`OptimizeRequest` of the optimize
   * module: a model or a template's input, a time limit up to `optimize.maxJobSeconds`). Its
   * answer is the job's result.
   */
  async submitOptimization(request: JsonObject, actor: Actor): Promise<Job> {
    assertCan(actor, 'infer', 'run optimisations');
    if (!this.options.checkOptimization)
      throw new GalenError('not_implemented', 'this server does not run optimisation jobs');
    this.options.checkOptimization(request, actor);
    // One key cannot fill the job queue with solves (they share it with training).
    const active = (
      await Promise.all(
        (['queued', 'running'] as const).map((state) =>
          this.store.listJobs({ state, kinds: ['optimize'], createdBy: actor.keyId, limit: 1000 }),
        ),
      )
    ).flat().length;
    if (active >= MAX_ACTIVE_OPTIMIZATIONS_PER_KEY) {
      throw new GalenError(
        'too_many_requests',
        `this key has ${active} optimisation jobs queued or running, the most one key may have; wait for one to finish`,
        { retryAfterSeconds: OPTIMIZATION_QUOTA_RETRY_SECONDS },
      );
    }
    const problem =
      typeof request['template'] === 'string' ? `the ${request['template']} template` : 'a model';
    return this.queue('optimize', request, actor, `queued: solve ${problem}`);
  }

  /** Stores a new queued job with its first log line, and starts it when there is room. */
  private async queue(kind: string, request: JsonObject, actor: Actor, message: string): Promise<Job> {
    const now = this.now();
    const record: JobRecord = {
      id: `job-${randomUUID()}`,
      kind,
      state: 'queued',
      request,
      progress: 0,
      stage: 'queued',
      result: null,
      error: null,
      attempts: 0,
      cancelRequested: false,
      owner: null,
      heartbeatAt: null,
      createdAt: now,
      createdBy: actor.keyId,
      createdRole: actor.role,
      startedAt: null,
      finishedAt: null,
    };
    await this.store.insertJob(record);
    await this.store.appendJobLog(record.id, [{ time: now, level: 'info', message }]);
    this.pump();
    return toJob(record);
  }

  /** Throws `not_found` unless `actor` may see (and so cancel) `job`. */
  private assertJob(actor: Actor, job: JobRecord): void {
    if (!visibleTo(actor, job)) throw new GalenError('not_found', `there is no job "${job.id}"`);
  }

  /** A tabular request: the target column (or comparison) and positive class exist. */
  private checkTabular(request: TrainJobRequest, dataset: DatasetVersion): void {
    const columns = tableSchemaOf(dataset).columns;
    if (request.deid !== undefined)
      this.checkDeid(
        request,
        columns.map((c) => c.name),
      );
    const column = columns.find((c) => c.name === request.target);
    // A comparison such as `num > 0` is checked too: its column must exist.
    const expression = column
      ? undefined
      : parseTargetExpression(
          request.target,
          columns.map((c) => c.name),
        );
    if (!column && !expression) {
      throw new GalenError(
        'invalid_input',
        `dataset ${dataset.name}:${dataset.version} has no column "${request.target}"; its columns are ${columns.map((c) => c.name).join(', ')}`,
      );
    }
    if (
      request.positive !== undefined &&
      column?.categories &&
      !column.categories.includes(request.positive)
    ) {
      throw new GalenError(
        'invalid_input',
        `"${request.positive}" is not a value of target "${request.target}" in ${dataset.name}:${dataset.version}; its values are ${column.categories.map((c) => `"${c}"`).join(', ')}`,
      );
    }
  }

  /** De-identification rules that fit the table and the request, checked before the job is queued. */
  private checkDeid(request: TrainJobRequest, columns: readonly string[]): void {
    checkDeidRules(parseTableDeidConfig(request.deid), columns, request, this.options.deidKey === true);
  }

  /** A deep request: data its architecture trains on, its labels, and (with its options) the backend. */
  private async checkDeep(request: TrainJobRequest, dataset: DatasetVersion): Promise<void> {
    checkDeepData(request.modelKind as DeepArchitecture, dataset);
    classOrder(
      (dataset.schema as { labels: Record<string, number> }).labels,
      request.positive,
      request.deep?.labelNames,
    );
    if (request.target !== 'label') {
      throw new GalenError(
        'invalid_input',
        `a deep model predicts its data's "label"; target "${request.target}" is not one`,
      );
    }
    await this.checkBackend(request);
  }

  /** Deep models and the mlp: their options, and the PyTorch backend (refused now, saying how to install it). */
  private async checkBackend(request: TrainJobRequest): Promise<void> {
    checkDeepOptions(request.deep);
    const backend = await this.options.deepBackend?.();
    if (backend && !backend.available) throw backendMissing(backend);
  }

  async get(id: string, actor: Actor): Promise<Job> {
    const job = await this.require(id);
    this.assertJob(actor, job);
    return toJob(job);
  }

  /**
   * The jobs `actor` may see, newest first: those it submitted, or every job with `jobs:manage`.
   * Any key may ask (a key that submitted nothing gets an empty list).
   */
  async list(
    options: { state?: string | undefined; limit?: number | undefined },
    actor: Actor,
  ): Promise<Job[]> {
    const state = options.state;
    if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
      throw new GalenError(
        'invalid_input',
        `state "${state}" is not a job state; use one of ${JOB_STATES.join(', ')}`,
      );
    }
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new GalenError('invalid_input', `limit is ${limit}; use an integer from 1 to 1000`);
    }
    return (
      await this.store.listJobs({
        ...(state !== undefined && { state: state as JobState }),
        ...(!roleCan(actor.role, 'jobs:manage') && { createdBy: actor.keyId }),
        limit,
      })
    ).map(toJob);
  }

  async logs(
    id: string,
    options: { afterSeq?: number | undefined; limit?: number | undefined },
    actor: Actor,
  ) {
    this.assertJob(actor, await this.require(id));
    return this.store.listJobLogs(id, { afterSeq: options.afterSeq ?? 0, limit: options.limit ?? 1000 });
  }

  /**
   * Cancels a queued job at once; asks a running one to stop (its process is killed). A job that
   * already finished is returned as it is.
   */
  async cancel(id: string, actor: Actor): Promise<Job> {
    const job = await this.require(id);
    this.assertJob(actor, job);
    if (TERMINAL.includes(job.state)) return toJob(job);
    const now = this.now();
    if (job.state === 'queued') {
      if (
        await this.store.updateJob(id, { state: 'cancelled', stage: 'cancelled', finishedAt: now }, [
          'queued',
        ])
      ) {
        await this.store.appendJobLog(id, [
          { time: now, level: 'info', message: `cancelled by ${actor.keyId} before it started` },
        ]);
        this.notifySettled(id);
        return toJob(await this.require(id));
      }
    }
    await this.store.updateJob(id, { cancelRequested: true }, ['running']);
    await this.store.appendJobLog(id, [
      { time: now, level: 'info', message: `cancel requested by ${actor.keyId}` },
    ]);
    this.stopActive(id);
    return toJob(await this.require(id));
  }

  /** Re-seals every job's request and result under the current master key; returns how many. */
  reseal(): Promise<number> {
    return resealJobs(this.rawStore, this.options.cipher);
  }

  /** Resolves when the job reaches succeeded, failed or cancelled (for tests and the CLI). */
  async waitUntilSettled(id: string, timeoutMs = 600_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.require(id);
      if (TERMINAL.includes(job.state)) return toJob(job);
      if (Date.now() > deadline) throw new GalenError('unavailable', `job ${id} is still ${job.state}`);
      await this.settledOrAfter(id, 250);
    }
  }

  /**
   * `actor`'s job once it has ended (succeeded, failed or cancelled), or as it is when `timeoutMs`
   * is up, `signal` aborts (the client left, the server is closing) or this service closes. A job
   * this process runs wakes the wait the moment it ends; one run by another process sharing the
   * store is seen within `WAIT_POLL_MS`.
   */
  async wait(id: string, timeoutMs: number, actor: Actor, signal?: AbortSignal): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.require(id);
      this.assertJob(actor, job);
      const left = deadline - Date.now();
      if (TERMINAL.includes(job.state) || left <= 0 || this.closed || signal?.aborted) return toJob(job);
      await this.settledOrAfter(id, Math.min(left, WAIT_POLL_MS), signal);
    }
  }

  /** Resolves when job `id` settles in this process, after `ms`, or when `signal` aborts. */
  private settledOrAfter(id: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const rest = (this.settledWaiters.get(id) ?? []).filter((w) => w !== done);
        if (rest.length > 0) this.settledWaiters.set(id, rest);
        else this.settledWaiters.delete(id);
        resolve();
      };
      // Not unref'd: in `galen jobs wait` (no server) this timer is all that keeps the process
      // alive until the job ends. A closing service wakes its waiters, so it holds nothing up.
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.settledWaiters.set(id, [...(this.settledWaiters.get(id) ?? []), done]);
    });
  }

  /** Stops the heartbeat and this process's runs; their jobs are queued again for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    // Waiters answer with the job as it is now rather than hold the close up.
    for (const id of [...this.settledWaiters.keys()]) this.notifySettled(id);
    const running = [...this.active.entries()];
    for (const [id, active] of running) {
      active.cancelling = true;
      const now = this.now();
      const job = await this.store.getJob(id);
      await this.store.updateJob(
        id,
        {
          state: 'queued',
          stage: 'queued again: the server stopped',
          progress: 0,
          owner: null,
          attempts: Math.max(0, (job?.attempts ?? 1) - 1),
        },
        ['running'],
      );
      await this.store.appendJobLog(id, [
        { time: now, level: 'warn', message: 'the server stopped; queued to run again at its next start' },
      ]);
      active.run.kill();
    }
    await Promise.allSettled(running.map(([, a]) => a.run.done.then(() => a.writes)));
    await this.pumping;
  }

  private async require(id: string): Promise<JobRecord> {
    const job = await this.store.getJob(id);
    if (!job) throw new GalenError('not_found', `there is no job "${id}"`);
    return job;
  }

  private notifySettled(id: string): void {
    const waiters = this.settledWaiters.get(id) ?? [];
    this.settledWaiters.delete(id);
    for (const resolve of waiters) resolve();
  }

  private stopActive(id: string): void {
    const active = this.active.get(id);
    if (!active || active.cancelling) return;
    active.cancelling = true;
    active.run.kill();
  }

  /** Starts queued jobs while there is room (one pass at a time). */
  private pump(): void {
    if (this.closed || !this.started) return;
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.repump = false;
        while (!this.closed && this.active.size < this.concurrency) {
          const job = await this.claimNext();
          if (!job) break;
          this.run(job);
        }
      } while (this.repump && !this.closed);
    })()
      .catch((err: unknown) => this.logger.error({ err }, 'could not start queued jobs'))
      .finally(() => (this.pumping = undefined));
  }

  private async claimNext(): Promise<JobRecord | undefined> {
    // The oldest first, a few at a time: every worker polls this each second, and a queue longer
    // than one page is still served in order (the newest 1,000, reversed, starved older jobs).
    const queued = await this.store.listJobs({ state: 'queued', oldestFirst: true, limit: CLAIM_PAGE });
    for (const job of queued) {
      const now = this.now();
      const claimed = await this.store.updateJob(
        job.id,
        {
          state: 'running',
          stage: 'starting',
          progress: 0,
          owner: this.owner,
          heartbeatAt: now,
          attempts: job.attempts + 1,
          startedAt: now,
        },
        ['queued'],
      );
      if (claimed) return (await this.store.getJob(job.id))!;
    }
    return undefined;
  }

  private run(job: JobRecord): void {
    const active: Active = {
      run: undefined as unknown as RunningJob,
      cancelling: false,
      lastProgressWrite: 0,
      writes: Promise.resolve(),
    };
    const write = (fn: () => Promise<unknown>): void => {
      active.writes = active.writes
        .then(fn)
        .catch((err: unknown) => this.logger.error({ err, job: job.id }, 'could not record job progress'));
    };
    const flushProgress = (): void => {
      const pending = active.pendingProgress;
      if (!pending) return;
      active.pendingProgress = undefined;
      active.lastProgressWrite = Date.now();
      write(() =>
        this.store.updateJob(
          job.id,
          { progress: pending.fraction, stage: pending.stage, heartbeatAt: this.now() },
          ['running'],
        ),
      );
    };
    const events: JobEvents = {
      progress: (fraction, stage) => {
        const changedStage = active.lastStage !== stage;
        active.lastStage = stage;
        active.pendingProgress = { fraction: Math.min(1, Math.max(0, fraction)), stage };
        if (changedStage) events.log('info', stage);
        if (changedStage || Date.now() - active.lastProgressWrite >= PROGRESS_WRITE_MS) flushProgress();
      },
      log: (level, message) => {
        const time = this.now();
        write(() => this.store.appendJobLog(job.id, [{ time, level, message }]));
      },
    };
    write(() =>
      this.store.appendJobLog(job.id, [
        {
          time: this.now(),
          level: 'info',
          message: `started (attempt ${job.attempts} of ${this.maxAttempts}) by ${this.owner}`,
        },
      ]),
    );
    try {
      active.run = this.options.launcher.launch(job, events);
    } catch (err) {
      active.run = {
        done: Promise.resolve({ exit: `could not start: ${(err as Error).message}` }),
        kill: () => undefined,
      };
    }
    this.active.set(job.id, active);
    this.logger.info({ job: job.id, kind: job.kind, attempt: job.attempts }, `job ${job.id} started`);
    void active.run.done
      .then(async ({ outcome, exit }) => {
        flushProgress();
        await active.writes;
        await this.finish(job, outcome, exit, active.cancelling);
      })
      .catch((err: unknown) => this.logger.error({ err, job: job.id }, 'could not record how a job ended'))
      .finally(() => {
        this.active.delete(job.id);
        this.notifySettled(job.id);
        this.pump();
      });
  }

  /** Records how a run ended, unless the job has moved on (e.g. requeued by a graceful stop). */
  private async finish(
    job: JobRecord,
    outcome: JobOutcome | undefined,
    exit: string,
    cancelling: boolean,
  ): Promise<void> {
    const current = await this.store.getJob(job.id);
    if (!current || current.state !== 'running' || current.owner !== this.owner) return;
    // A run killed while registering may still have registered its version.
    const result = outcome?.state === 'succeeded' ? outcome.result : await this.registeredVersion(current);
    if (result) {
      await this.settle(
        job.id,
        { state: 'succeeded', progress: 1, stage: 'succeeded', result },
        `succeeded: ${describeResult(result)}`,
      );
      return;
    }
    if (cancelling || current.cancelRequested) {
      await this.settle(job.id, { state: 'cancelled', stage: 'cancelled' }, 'cancelled');
      return;
    }
    const error =
      outcome?.state === 'failed'
        ? outcome.error
        : { code: 'internal' as const, message: `the job process ended unexpectedly (${exit})` };
    await this.settle(
      job.id,
      { state: 'failed', stage: 'failed', error },
      `failed: ${error.message}`,
      'error',
    );
  }

  private async settle(
    id: string,
    patch: Partial<JobRecord>,
    message: string,
    level: JobLogRecord['level'] = 'info',
  ): Promise<void> {
    const now = this.now();
    if (!(await this.store.updateJob(id, { ...patch, owner: null, finishedAt: now }, ['running']))) return;
    await this.store.appendJobLog(id, [{ time: now, level, message }]);
    this.logger.info({ job: id, state: patch.state }, `job ${id} ${String(patch.state)}: ${message}`);
    const job = await this.store.getJob(id);
    if (job) await this.auditFinish(job);
  }

  private async auditFinish(job: JobRecord): Promise<void> {
    if (!this.options.audit) return;
    const error = job.error as { code?: ErrorCode } | null;
    const version = job.result?.['version'];
    await this.options.audit({
      keyId: job.createdBy,
      role: job.createdRole,
      action: 'job.finish',
      model: typeof job.request['model'] === 'string' ? job.request['model'] : null,
      version: typeof version === 'number' ? version : null,
      status: job.state === 'failed' ? httpStatusOf(error?.code ?? 'internal') : 200,
      durationMs:
        job.startedAt && job.finishedAt ? Date.parse(job.finishedAt) - Date.parse(job.startedAt) : 0,
      detail: { job: job.id, state: job.state, attempts: job.attempts },
    });
  }

  /** The version a job registered, found by the job id in its lineage. */
  private async registeredVersion(job: JobRecord): Promise<JsonObject | undefined> {
    const model = (job.request as { model?: string }).model;
    if (typeof model !== 'string') return undefined;
    try {
      const detail = await this.registry.getModel(model);
      const version = detail.versions.find((v) => v.lineage.parameters?.['job'] === job.id);
      return version && { model: version.model, version: version.version, metrics: version.metrics };
    } catch (err) {
      if (err instanceof GalenError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  /** Removes run folders left by job workers that were killed (they hold patient data). */
  private async sweepWork(): Promise<void> {
    if (this.options.workRoot === undefined) return;
    const removed = await sweepWorkDirs(this.options.workRoot);
    if (removed.length > 0)
      this.logger.info({ folders: removed.length }, 'removed training folders of stopped job workers');
  }

  /**
   * Once a `pollMs`: stops runs whose cancel another process recorded, and claims jobs another
   * process queued while this one has room. A slow store skips a round rather than piling them up.
   */
  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      for (const [id, active] of this.active) {
        const job = await this.store.getJob(id);
        if (job?.cancelRequested) this.stopActive(id);
        else if (job?.owner !== this.owner && !active.cancelling) {
          // Another process found this one's heartbeat stale (a paused host, a partition) and
          // queued the job again: its new run is the one that counts, so this one must not
          // register a second version.
          this.logger.warn(
            { job: id, owner: job?.owner ?? null, state: job?.state ?? 'gone' },
            `job ${id} was taken over by another process; stopping its run here`,
          );
          this.stopActive(id);
        }
      }
      if (this.active.size < this.concurrency) this.pump();
    } catch (err) {
      this.logger.warn({ err }, 'could not look for queued or cancelled jobs');
    } finally {
      this.polling = false;
      this.lastPollAt = performance.now();
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.sweepWork();
      const now = this.now();
      for (const id of this.active.keys()) {
        await this.store.updateJob(id, { heartbeatAt: now }, ['running']);
        if ((await this.store.getJob(id))?.cancelRequested) this.stopActive(id);
      }
      await this.recoverOrphans();
      this.pump();
    } catch (err) {
      this.logger.error({ err }, 'job heartbeat failed');
    } finally {
      this.lastTickAt = performance.now();
    }
  }

  /**
   * Whether this started service's heartbeat and queue poll each finished a round within three of
   * their periods: a round stuck on a store call that never returns (or a stopped service) makes it
   * not alive. A failed round still counts (the store's own health is probed apart). Cheap: reads
   * two numbers. `galen worker --health-port` answers it on `/healthz`.
   */
  loopHealth(): JobLoopHealth {
    if (!this.started) return { alive: false, reason: 'the job loop has not started' };
    if (this.closed) return { alive: false, reason: 'the job loop is stopping' };
    const now = performance.now();
    const late = (last: number, periodMs: number): boolean => now - last > 3 * periodMs;
    if (late(this.lastTickAt, this.heartbeatMs))
      return {
        alive: false,
        reason: `the job heartbeat has not finished a round for ${Math.round((now - this.lastTickAt) / 1000)} s`,
      };
    if (late(this.lastPollAt, this.options.pollMs ?? QUEUE_POLL_MS))
      return {
        alive: false,
        reason: `the queue poll has not finished a round for ${Math.round((now - this.lastPollAt) / 1000)} s`,
      };
    return { alive: true };
  }

  /** Settles or requeues running jobs whose owner is gone (done at start and on every heartbeat). */
  async recoverOrphans(): Promise<void> {
    const running = await this.store.listJobs({ state: 'running', limit: 1000 });
    for (const job of running) {
      if (job.owner === this.owner && this.active.has(job.id)) continue;
      const stale = job.heartbeatAt === null || this.clock.now() - Date.parse(job.heartbeatAt) > this.staleMs;
      if (job.owner !== this.owner && !isOwnerDead(job.owner) && !stale) continue;
      // Several processes recover (every worker, every heartbeat): act only if nobody has since
      // requeued it and had it claimed again, which would otherwise be requeued under its new runner.
      const fresh = await this.store.getJob(job.id);
      if (fresh?.state !== 'running' || fresh.owner !== job.owner || fresh.heartbeatAt !== job.heartbeatAt)
        continue;
      const now = this.now();
      const registered = await this.registeredVersion(job);
      const owner = job.owner ?? 'unknown';
      if (registered) {
        await this.settle(
          job.id,
          { state: 'succeeded', progress: 1, stage: 'succeeded', result: registered },
          `its process (${owner}) stopped after registering ${describeResult(registered)}; marked succeeded`,
          'warn',
        );
      } else if (job.cancelRequested) {
        await this.settle(
          job.id,
          { state: 'cancelled', stage: 'cancelled' },
          `cancelled (its process ${owner} stopped)`,
        );
      } else if (job.attempts < this.maxAttempts) {
        await this.store.updateJob(
          job.id,
          { state: 'queued', stage: 'queued again after an interruption', progress: 0, owner: null },
          ['running'],
        );
        await this.store.appendJobLog(job.id, [
          {
            time: now,
            level: 'warn',
            message: `its process (${owner}) stopped while it ran; queued to run again from the start (${job.attempts} of ${this.maxAttempts} starts used)`,
          },
        ]);
      } else {
        const message = `interrupted ${job.attempts} times (its process stopped while it ran); not retried again`;
        await this.settle(
          job.id,
          { state: 'failed', stage: 'failed', error: { code: 'internal', message } },
          message,
          'error',
        );
      }
      this.notifySettled(job.id);
    }
  }
}

function describeResult(result: JsonObject): string {
  if (typeof result['status'] === 'string')
    return `${String(result['problem'])} ${result['status']}${typeof result['objective'] === 'number' ? `, objective ${result['objective']}` : ''}`;
  return `model "${String(result['model'])}" version ${String(result['version'])}`;
}

/** The actor a job acts as: the key that submitted it, with that key's role then. */
export function jobActor(job: JobRecord): Actor {
  if (!isRole(job.createdRole))
    throw new GalenError('internal', `job ${job.id} has an unknown role "${job.createdRole}"`);
  return { keyId: job.createdBy, role: job.createdRole };
}
