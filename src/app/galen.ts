/**
 * The composition root: builds every domain service from the configuration, once, and closes
 * them in order. Edges (HTTP, CLI) receive a `Galen` and call its services.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readMasterKeys } from '../config/index.js';
import type { GalenConfig } from '../config/index.js';
import { systemClock } from '../core/index.js';
import type { Clock, Tensor } from '../core/index.js';
import { ExplainService } from '../explain/index.js';
import { JobService, pytorchBackend, trainingWorkRoot } from '../jobs/index.js';
import { MonitorService } from '../monitoring/index.js';
import { GalenMetrics } from '../observability/index.js';
import type { Logger } from '../observability/index.js';
import { DatasetRegistry, ModelRegistry } from '../registry/index.js';
import { MoleculeToolkit } from '../molecules/index.js';
import { OptimizeService, SolverPool, optimizeRequestOf, servedPredict } from '../optimize/index.js';
import { OutboundClient } from '../outbound/index.js';
import { Preprocessor } from '../preprocessing/index.js';
import { RecommendService } from '../recommend/index.js';
import { ModelRuntime } from '../runtime/index.js';
import { ApiKeys, AuditLog, CdsClientAuth, OidcVerifier } from '../security/index.js';
import { InferenceService, ModelManager, parseVersionKey } from '../serving/index.js';
import { ArtifactCipher } from '../store/index.js';
import type { ArtifactStore, MetadataStore } from '../store/index.js';
import { ArtifactSweeper } from './artifact-sweeper.js';
import { childProcessLauncher } from './job-process.js';
import { openStores } from './stores.js';
import { versionMetadataReaders } from './version-metadata.js';

export interface Galen {
  readonly config: GalenConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: MetadataStore;
  readonly artifacts: ArtifactStore;
  readonly runtime: ModelRuntime;
  readonly registry: ModelRegistry;
  readonly datasets: DatasetRegistry;
  /** Removes unfinished uploads and unreferenced artifacts; a server calls `sweeper.start()`. */
  readonly sweeper: ArtifactSweeper;
  readonly keys: ApiKeys;
  /** The master key's cipher (encryption at rest), when one is set: for rows stored sealed. */
  readonly cipher: ArtifactCipher | undefined;
  /** OIDC bearer tokens, when `oidc` is configured. */
  readonly oidc: OidcVerifier | undefined;
  /** CDS Hooks clients (EHRs) trusted to call CDS services with signed JWTs. */
  readonly cdsClients: CdsClientAuth;
  /** The guarded client every outbound request goes through (FHIR fetches, JWKS, OIDC, webhooks). */
  readonly outbound: OutboundClient;
  readonly audit: AuditLog;
  readonly metrics: GalenMetrics;
  readonly models: ModelManager;
  readonly inference: InferenceService;
  /** Per-prediction explanations and explainers. */
  readonly explain: ExplainService;
  /** Sampled predictions, labels, drift and alerts; a server calls `monitoring.start()` to judge rules on a timer. */
  readonly monitoring: MonitorService;
  /**
   * Training jobs; a server (unless `jobs.runInServer` is false) and `galen worker` call
   * `jobs.start()` to run them (the CLI only submits and reads).
   */
  readonly jobs: JobService;
  readonly optimize: OptimizeService;
  readonly molecules: MoleculeToolkit;
  readonly recommend: RecommendService;
  close(): Promise<void>;
}

/**
 * Opens the data folder and builds the services. Does not load models or listen anywhere.
 *
 * @example
 * const galen = await createGalen(loadConfig(), createLogger('info'));
 */
export async function createGalen(
  config: GalenConfig,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<Galen> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const masterKeys = readMasterKeys(config);
  const cipher = masterKeys.current && new ArtifactCipher(masterKeys.current, masterKeys.previous);
  const { store, artifacts } = await openStores(config, logger, cipher);
  // Built before the runtime so the runtime can report executions; the gauge reads it at scrape time.
  const metrics = new GalenMetrics(() => runtime.loadedKeys().length);
  const runtime = new ModelRuntime({
    maxConcurrentPerGroup: config.runtime.maxConcurrentPerModel,
    workers: config.runtime.workers,
    intraOpThreads: config.runtime.intraOpThreads,
    cpuMemArena: config.runtime.cpuMemArena,
    inlineMaxMicros: config.runtime.inlineMaxMicros,
    warmup: config.runtime.warmup,
    serving: {
      batching: config.runtime.batching,
      maxBatchSize: config.runtime.maxBatchSize,
      preferredBatchSizes: config.runtime.preferredBatchSizes,
      maxQueueDelayMicros: config.runtime.maxQueueDelayMicros,
      maxQueueLength: config.runtime.maxQueueLength,
      queueTimeoutMicros: config.runtime.queueTimeoutMicros,
    },
    onExecution: (key, rows) => {
      const { model, version } = parseVersionKey(key);
      metrics.observeExecution(model, String(version), rows);
    },
  });
  const registry = new ModelRegistry(store, artifacts, runtime, clock, versionMetadataReaders, cipher);
  const sweeper = new ArtifactSweeper(() => registry.sweepArtifacts(), config.artifacts.sweepSeconds, logger);
  const datasets = new DatasetRegistry(store, artifacts, clock, config.imageArchives);
  const keys = new ApiKeys(store, clock, config.adminKey);
  const outbound = new OutboundClient(config.outbound);
  const cdsClients = new CdsClientAuth(config.cds.clients, store, clock, {
    publicUrl: config.cds.publicUrl,
    outbound,
  });
  const oidc = config.oidc && new OidcVerifier(config.oidc, clock, outbound);
  const audit = new AuditLog(store, clock, {
    bufferedActions: new Set(config.audit.bufferInference ? ['infer'] : []),
    onBufferedError: (err, records) =>
      logger.error({ err, records }, 'could not write buffered audit records; they will be retried'),
  });
  const models = new ModelManager(registry, artifacts, runtime, logger);
  const monitoring: MonitorService = new MonitorService({
    store,
    registry,
    metrics,
    logger,
    clock,
    cipher,
    options: config.monitoring,
    outbound,
    run: async (version, inputs, outputs): Promise<Tensor[]> =>
      (
        await inference.infer({
          model: version.model,
          version: String(version.version),
          inputs,
          outputs,
          protocol: 'monitoring',
          internal: true,
        })
      ).outputs,
  });
  const molecules = new MoleculeToolkit();
  const inference = new InferenceService(
    registry,
    models,
    runtime,
    metrics,
    monitoring,
    new Preprocessor(molecules),
    config.tensors,
  );
  const explain = new ExplainService(registry, inference);
  const solvers = new SolverPool({ threads: config.optimize.threads, maxQueued: config.optimize.maxQueued });
  const optimize = new OptimizeService(
    solvers,
    servedPredict(inference),
    config.optimize,
    (problem, status, seconds) => metrics.observeSolve(problem, status, seconds),
  );
  const jobs = new JobService(store, registry, datasets, clock, logger, {
    launcher: childProcessLauncher(config),
    concurrency: config.jobs.concurrency,
    maxAttempts: config.jobs.maxAttempts,
    heartbeatMs: config.jobs.heartbeatSeconds * 1000,
    staleMs: config.jobs.staleSeconds * 1000,
    audit: (entry) => audit.record(entry),
    // Checked at submit only where jobs run: an API replica (`--no-worker`) may have no PyTorch
    // while its workers do; a worker without it fails the job saying how to install it.
    ...(config.jobs.runInServer && { deepBackend: () => pytorchBackend(config.jobs.python) }),
    deidKey: config.deid.keyFile !== undefined,
    checkOptimization: (request, actor) => optimize.check(optimizeRequestOf(request), actor, true),
    workRoot: trainingWorkRoot(config.dataDir),
    cipher,
  });
  return {
    config,
    logger,
    clock,
    store,
    artifacts,
    runtime,
    registry,
    datasets,
    sweeper,
    keys,
    cipher,
    oidc,
    cdsClients,
    outbound,
    audit,
    metrics,
    models,
    inference,
    explain,
    monitoring,
    jobs,
    optimize,
    molecules,
    recommend: new RecommendService(inference),
    async close() {
      await sweeper.close();
      await jobs.close();
      await solvers.close();
      await molecules.close();
      await monitoring.close();
      await runtime.close();
      await audit.flush();
      await store.close();
      outbound.close();
    },
  };
}

/** Where a generated first admin key is written. */
export const adminKeyPath = (dataDir: string): string => join(dataDir, 'admin.key');

/**
 * Makes sure an admin can sign in: with `GALEN_ADMIN_KEY` set nothing is stored; otherwise, on
 * the first start (no admin key at all), one is generated and written to `<dataDir>/admin.key`
 * with mode 0600. Returns the generated key so the caller can print it once.
 */
export async function bootstrapAdminKey(galen: Galen): Promise<string | undefined> {
  if (await galen.keys.hasAdmin()) return undefined;
  const { key } = await galen.keys.create({ name: 'bootstrap admin', role: 'admin', createdBy: 'bootstrap' });
  const path = adminKeyPath(galen.config.dataDir);
  await writeFile(path, `${key}\n`, { mode: 0o600, flag: existsSync(path) ? 'w' : 'wx' });
  await chmod(path, 0o600);
  return key;
}
