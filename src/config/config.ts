/**
 * Galen's settings: defaults, then an optional JSON config file, then `GALEN_*` environment
 * variables. Loaded once at start, validated, and passed down explicitly.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Type from 'typebox';
import type { Static } from 'typebox';
import { Settings } from 'typebox/system';
import Value from 'typebox/value';

/** A CDS client (an EHR) trusted to call Galen's CDS Hooks services with JWTs it signs. */
export const CdsClientSchema = Type.Object(
  {
    iss: Type.String({ minLength: 1, description: 'The `iss` claim the client puts in its JWTs.' }),
    jwksUrl: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description: "URL of the client's JSON Web Key Set (public keys), fetched and cached.",
      }),
    ),
    jwks: Type.Optional(
      Type.Object(
        { keys: Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1 }) },
        { description: "The client's public keys inline, instead of jwksUrl." },
      ),
    ),
    jku: Type.Array(Type.String({ pattern: '^https?://' }), {
      default: [],
      description: 'JWKS URLs the client may name in a JWT `jku` header; a `jku` not listed here is refused.',
    }),
    fhirServers: Type.Array(Type.String({ pattern: '^https?://' }), {
      default: [],
      description:
        "FHIR servers (base URLs, e.g. https://ehr.example/fhir) this client's calls may name as `fhirServer` for Galen to fetch missing prefetch data from; any other is refused before any request. Default: none (prefetch only).",
    }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', description: 'Address the HTTP server listens on.' }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'HTTP port (0 = any free port).',
    }),
    dataDir: Type.String({
      default: './.galen',
      description:
        'Folder for the SQLite database and model artifacts (with database.url and artifacts.url: the local artifact cache and training scratch files only).',
    }),
    adminKey: Type.Optional(
      Type.String({
        minLength: 24,
        description: 'The first admin API key; generated on first start when unset.',
      }),
    ),
    logLevel: Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ],
      { default: 'info', description: 'pino log level.' },
    ),
    audit: Type.Object(
      {
        bufferInference: Type.Boolean({
          default: true,
          description:
            'Write inference audit records behind the response (group commit, within milliseconds) instead of before it.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    database: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            pattern: '^postgres(ql)?://',
            description:
              'A PostgreSQL database for the metadata (models, jobs, keys, audit…), shared by every replica and worker: postgres://user:password@host:5432/database. Unset: the embedded SQLite database in dataDir.',
          }),
        ),
        poolSize: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 10,
          description: 'Connections each process keeps to the PostgreSQL database at most.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    artifacts: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            pattern: '^s3://',
            description:
              'An S3-compatible bucket for model files and datasets, shared by every replica and worker: s3://bucket or s3://bucket/prefix (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the rest of the AWS SDK default chain). Unset: files under dataDir/artifacts.',
          }),
        ),
        s3: Type.Object(
          {
            endpoint: Type.Optional(
              Type.String({
                pattern: '^https?://',
                description:
                  'Endpoint of an S3-compatible server other than AWS (e.g. http://minio:9000); only with artifacts.url.',
              }),
            ),
            region: Type.Optional(
              Type.String({
                minLength: 1,
                description:
                  "The bucket's region (default: the AWS SDK's, e.g. AWS_REGION); only with artifacts.url.",
              }),
            ),
            forcePathStyle: Type.Boolean({
              default: false,
              description:
                'Address the bucket as endpoint/bucket instead of bucket.endpoint (most S3-compatible servers need it).',
            }),
          },
          { default: {}, additionalProperties: false },
        ),
        cacheMaxBytes: Type.Integer({
          minimum: 0,
          default: 2 * 1024 * 1024 * 1024,
          description:
            'With artifacts.url: most bytes of model files and datasets kept in the local read-through cache (dataDir/cache/artifacts), least recently used dropped first.',
        }),
        sweepSeconds: Type.Integer({
          minimum: 0,
          maximum: 604_800,
          default: 3600,
          description:
            'How often a server removes unfinished uploads and artifacts no version refers to, once older than 10 minutes; it also does at start (0 = only at start).',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    jobs: Type.Object(
      {
        concurrency: Type.Integer({
          minimum: 0,
          maximum: 64,
          default: 1,
          description:
            'Training jobs this server (or `galen worker`, unless --concurrency says otherwise) runs at once, each in its own process (0 = run none; another process sharing the data folder may).',
        }),
        runInServer: Type.Boolean({
          default: true,
          description:
            'Whether `galen serve` runs queued jobs itself; false (or `galen serve --no-worker`): it only queues them, answers their state and passes cancels on, and `galen worker` processes run them.',
        }),
        heartbeatSeconds: Type.Number({
          minimum: 0.1,
          maximum: 300,
          default: 5,
          description:
            'How often a process running jobs records that they are alive, and recovers jobs whose process died.',
        }),
        staleSeconds: Type.Number({
          minimum: 1,
          maximum: 86_400,
          default: 60,
          description:
            'A running job whose heartbeat is older than this is taken as orphaned (its process on another host died) and queued again; at least 3 × heartbeatSeconds. A dead process on the same host is seen at once.',
        }),
        healthPort: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 0,
          description:
            '`galen worker` only: a port (on `host`) answering `GET /healthz` for liveness probes, 200 while its job loop turns and the metadata store answers, else 503 (0 = no listener).',
        }),
        maxAttempts: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 3,
          description:
            'Starts a job may have: a job interrupted by a crash or restart is rerun until this many.',
        }),
        python: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'The Python with torch and onnx that runs deep-model training (default: the first of python3 and /usr/bin/python3 that has them).',
          }),
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    grpc: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Serve OIP v2 over gRPC as well as HTTP.' }),
        port: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 8081,
          description: 'gRPC port (0 = any free port); it listens on `host` too.',
        }),
        maxMessageBytes: Type.Optional(
          Type.Integer({
            minimum: 1024,
            description:
              'Largest gRPC request message; larger ones get RESOURCE_EXHAUSTED (default: http.bodyLimitBytes).',
          }),
        ),
        maxConcurrentStreams: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 100,
          description: 'gRPC calls one connection may have open at once (HTTP/2 max concurrent streams).',
        }),
        maxContentsElements: Type.Integer({
          minimum: 1,
          default: 4_194_304,
          description:
            'Most elements a ModelInfer request may carry in typed `contents` lists, all inputs together, checked on the wire before decoding (larger tensors go in raw_input_contents). tensors.maxElements applies too when lower; bytes_contents strings are held to tensors.maxBytesElements.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    http: Type.Object(
      {
        bodyLimitBytes: Type.Integer({
          minimum: 1024,
          default: 64 * 1024 * 1024,
          description: 'Largest request body for inference and API calls.',
        }),
        uploadLimitBytes: Type.Integer({
          minimum: 1024,
          default: 2 * 1024 * 1024 * 1024,
          description: 'Largest model upload (native upload and repository load).',
        }),
        shutdownDelaySeconds: Type.Number({
          minimum: 0,
          maximum: 300,
          default: 0,
          description:
            'On SIGTERM, how long readiness answers 503 while requests are still accepted (so a load balancer stops sending) before the listener closes.',
        }),
        shutdownTimeoutSeconds: Type.Number({
          minimum: 1,
          maximum: 3600,
          default: 30,
          description:
            'On SIGTERM, how long in-flight requests may take to finish once the listener has closed; connections still open then are closed.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    cds: Type.Object(
      {
        clients: Type.Array(CdsClientSchema, {
          default: [],
          description:
            'CDS clients (EHRs) trusted to call CDS Hooks services: [{"iss": …, "jwksUrl": …}]. With none, every CDS service call is refused.',
        }),
        publicUrl: Type.Optional(
          Type.String({
            pattern: '^https?://[^/]+$',
            description:
              'Scheme and host the EHR calls Galen by (e.g. https://galen.example.org); a CDS client JWT `aud` must be this plus the path called. Required when cds.clients is set (never taken from the Host header).',
          }),
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    encryption: Type.Object(
      {
        masterKey: Type.Optional(
          Type.String({
            description: 'Base64 of 32 random bytes: encrypts model files and datasets at rest.',
          }),
        ),
        masterKeyFile: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'A file holding the master key (base64), instead of masterKey.',
          }),
        ),
        previousKeys: Type.Array(Type.String(), {
          default: [],
          description:
            'Earlier master keys (base64), still accepted for reading until `galen encryption rotate` has re-encrypted everything.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    deid: Type.Object(
      {
        keyFile: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'A file of ≥ 16 secret bytes: enables pseudonymous de-identification over the API (stable pseudonyms).',
          }),
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    monitoring: Type.Object(
      {
        sampleRate: Type.Number({
          minimum: 0,
          maximum: 1,
          default: 1,
          description:
            "Share of predictions recorded for monitoring (their model inputs and outputs, no identifiers); a model's own setting wins.",
        }),
        window: Type.String({
          pattern: '^P(\\d+D)?(T(\\d+H)?(\\d+M)?)?$',
          default: 'P1D',
          description: 'Window of the monitoring gauges and the default report window (ISO 8601 duration).',
        }),
        evaluateSeconds: Type.Integer({
          minimum: 0,
          maximum: 86400,
          default: 60,
          description:
            'How often alert rules are judged and monitoring gauges updated (0 = only on request).',
        }),
        retentionDays: Type.Integer({
          minimum: 1,
          maximum: 3660,
          default: 90,
          description: 'Days sampled predictions and their labels are kept.',
        }),
        allowPrivateWebhooks: Type.Boolean({
          default: false,
          description:
            'Let alert webhooks go to loopback, private and link-local addresses (refused by default).',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    optimize: Type.Object(
      {
        threads: Type.Integer({
          minimum: 1,
          maximum: 64,
          default: 1,
          description: 'Solver threads: optimisation solves run at once, each on a thread of its own.',
        }),
        maxQueued: Type.Integer({
          minimum: 0,
          maximum: 10_000,
          default: 16,
          description: 'Solves that may wait for a solver thread; more are refused as busy (503).',
        }),
        defaultSeconds: Type.Number({
          exclusiveMinimum: 0,
          maximum: 3600,
          default: 10,
          description: 'Time limit of a solve that gives none.',
        }),
        maxSeconds: Type.Number({
          exclusiveMinimum: 0,
          maximum: 3600,
          default: 60,
          description: 'Longest time limit a solve answered at once may ask for; longer ones are jobs.',
        }),
        maxJobSeconds: Type.Number({
          exclusiveMinimum: 0,
          maximum: 86_400,
          default: 3600,
          description: 'Longest time limit an optimisation job may ask for.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    tls: Type.Optional(
      Type.Object(
        {
          certFile: Type.String({
            minLength: 1,
            description: 'PEM certificate chain for the HTTP and gRPC listeners.',
          }),
          keyFile: Type.String({ minLength: 1, description: 'PEM private key of that certificate.' }),
        },
        { additionalProperties: false, description: 'Serve HTTPS and gRPC over TLS.' },
      ),
    ),
    oidc: Type.Optional(
      Type.Object(
        {
          issuer: Type.String({ pattern: '^https?://', description: 'The `iss` of accepted tokens.' }),
          audience: Type.String({ minLength: 1, description: 'The `aud` tokens must name (Galen).' }),
          jwksUrl: Type.Optional(
            Type.String({
              pattern: '^https?://',
              description: "The issuer's JWKS (default: jwks_uri of its discovery document).",
            }),
          ),
          roleClaim: Type.String({
            default: 'roles',
            description: 'Where the roles are in the token, as a dot path (e.g. realm_access.roles).',
          }),
          roleMap: Type.Record(Type.String(), Type.String(), {
            default: {},
            description: 'Claim values → Galen roles, e.g. {"galen-dev": "developer"}.',
          }),
        },
        {
          additionalProperties: false,
          description: 'OIDC / JWT bearer tokens accepted as well as API keys.',
        },
      ),
    ),
    outbound: Type.Object(
      {
        allowPrivateNetworks: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Addresses or CIDR networks (e.g. "10.1.0.0/16", "127.0.0.1") that outbound requests (FHIR fetches, JWKS, OIDC discovery, alert webhooks) may reach although loopback, private, link-local or otherwise not public. Default: none.',
        }),
        allowHttpHosts: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Host names or IPs outbound requests may reach over plain http; all others need https. Default: none.',
        }),
        connectTimeoutMs: Type.Integer({
          minimum: 100,
          maximum: 60_000,
          default: 3000,
          description: 'Longest wait for an outbound connection.',
        }),
        timeoutMs: Type.Integer({
          minimum: 100,
          maximum: 300_000,
          default: 10_000,
          description: 'Longest outbound request, answer included.',
        }),
        maxResponseBytes: Type.Integer({
          minimum: 1024,
          maximum: 1024 * 1024 * 1024,
          default: 10 * 1024 * 1024,
          description: 'Largest outbound answer read (counted while streaming).',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    tensors: Type.Object(
      {
        maxElements: Type.Integer({
          minimum: 1,
          default: 16_777_216,
          description:
            'Most tensor elements one inference request may declare, all inputs together (checked before anything is decoded).',
        }),
        maxBytesElements: Type.Integer({
          minimum: 1,
          default: 262_144,
          description:
            'Most BYTES elements (strings, files) one inference request may declare; also the most gRPC `bytes_contents` strings, counted on the wire before decoding.',
        }),
        maxBytesElementSize: Type.Integer({
          minimum: 1,
          default: 16 * 1024 * 1024,
          description: 'Largest single BYTES element of an inference request, in bytes.',
        }),
        maxDecodedBytes: Type.Integer({
          minimum: 1024,
          default: 256 * 1024 * 1024,
          description: "Most bytes an inference request's decoded input tensors may take.",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    imageArchives: Type.Object(
      {
        maxEntries: Type.Integer({
          minimum: 1,
          default: 100_000,
          description: 'Most files (entries) an image dataset zip or npz may hold.',
        }),
        maxEntryBytes: Type.Integer({
          minimum: 1024,
          default: 512 * 1024 * 1024,
          description:
            'Largest file of an image dataset archive once decompressed, in bytes (counted while inflating).',
        }),
        maxTotalBytes: Type.Integer({
          minimum: 1024,
          default: 1024 * 1024 * 1024,
          description: 'Most bytes an image dataset archive may decompress to, all files together.',
        }),
        maxRatio: Type.Integer({
          minimum: 1,
          default: 100,
          description:
            'Most bytes an image dataset archive may decompress to per byte of the archive (beyond the first 16 MiB): refuses zip bombs.',
        }),
        maxImages: Type.Integer({
          minimum: 1,
          default: 1_000_000,
          description: 'Most images an image dataset may hold.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    runtime: Type.Object(
      {
        maxConcurrentPerModel: Type.Integer({
          minimum: 1,
          default: 2,
          description: 'Inference calls that run at once per model; further calls wait in its queue.',
        }),
        workers: Type.Integer({
          minimum: 0,
          default: 0,
          description:
            'ONNX Runtime worker threads; each loaded version has a session in every worker (0 = one per CPU core).',
        }),
        intraOpThreads: Type.Integer({
          minimum: 0,
          default: 0,
          description: 'ONNX Runtime intra-op threads per session (0 = CPU cores divided among the workers).',
        }),
        cpuMemArena: Type.Boolean({
          default: false,
          description:
            "ONNX Runtime's CPU memory arena. On, every session (each version in each worker) keeps the memory of its largest run until it unloads; off, a run's memory is freed when it ends (runs with intermediates over 32 MiB cost up to ~1.6× the CPU).",
        }),
        inlineMaxMicros: Type.Integer({
          minimum: 0,
          maximum: 100_000,
          default: 200,
          description:
            'Runs expected to take at most this long (µs) run on the main thread, skipping the hand-off to a worker (0 = never).',
        }),
        warmup: Type.Boolean({
          default: true,
          description: 'Run one inference on zeros when a version loads.',
        }),
        preloadAliased: Type.Boolean({ default: true, description: 'Load every aliased version at start.' }),
        batching: Type.Boolean({
          default: true,
          description:
            'Merge concurrent calls along the batch axis for models whose first dimension is dynamic.',
        }),
        maxBatchSize: Type.Integer({
          minimum: 1,
          maximum: 4096,
          default: 32,
          description: 'Most rows in one merged run.',
        }),
        preferredBatchSizes: Type.Array(Type.Integer({ minimum: 1 }), {
          default: [],
          description: 'Batch sizes to form when enough calls wait, ascending ([] = as large as possible).',
        }),
        maxQueueDelayMicros: Type.Integer({
          minimum: 0,
          maximum: 1_000_000,
          default: 0,
          description: 'How long a call may wait for others to join (0: merge only while the model is busy).',
        }),
        maxQueueLength: Type.Integer({
          minimum: 1,
          default: 1024,
          description: 'Calls that may wait per model version; beyond it calls get 503 with Retry-After.',
        }),
        queueTimeoutMicros: Type.Integer({
          minimum: 0,
          maximum: 3_600_000_000,
          default: 30_000_000,
          description:
            'Longest a call may wait in a model queue before it gets 503 with Retry-After (0 = no limit); a request may ask for less.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type GalenConfig = Static<typeof ConfigSchema>;

export type EnvKind = 'string' | 'strings' | 'integer' | 'integers' | 'number' | 'boolean' | 'json';

/** Environment variables and the config path they set. Every setting has one. */
const ENV_VARS: Readonly<Record<string, { path: readonly string[]; kind: EnvKind }>> = {
  GALEN_HOST: { path: ['host'], kind: 'string' },
  GALEN_PORT: { path: ['port'], kind: 'integer' },
  GALEN_DATA_DIR: { path: ['dataDir'], kind: 'string' },
  GALEN_ADMIN_KEY: { path: ['adminKey'], kind: 'string' },
  GALEN_LOG_LEVEL: { path: ['logLevel'], kind: 'string' },
  GALEN_AUDIT_BUFFER_INFERENCE: { path: ['audit', 'bufferInference'], kind: 'boolean' },
  GALEN_DATABASE_URL: { path: ['database', 'url'], kind: 'string' },
  GALEN_DATABASE_POOL_SIZE: { path: ['database', 'poolSize'], kind: 'integer' },
  GALEN_ARTIFACTS_URL: { path: ['artifacts', 'url'], kind: 'string' },
  GALEN_S3_ENDPOINT: { path: ['artifacts', 's3', 'endpoint'], kind: 'string' },
  GALEN_S3_REGION: { path: ['artifacts', 's3', 'region'], kind: 'string' },
  GALEN_S3_FORCE_PATH_STYLE: { path: ['artifacts', 's3', 'forcePathStyle'], kind: 'boolean' },
  GALEN_ARTIFACTS_CACHE_MAX_BYTES: { path: ['artifacts', 'cacheMaxBytes'], kind: 'integer' },
  GALEN_ARTIFACTS_SWEEP_SECONDS: { path: ['artifacts', 'sweepSeconds'], kind: 'integer' },
  GALEN_JOBS_CONCURRENCY: { path: ['jobs', 'concurrency'], kind: 'integer' },
  GALEN_JOBS_RUN_IN_SERVER: { path: ['jobs', 'runInServer'], kind: 'boolean' },
  GALEN_JOBS_HEARTBEAT_SECONDS: { path: ['jobs', 'heartbeatSeconds'], kind: 'number' },
  GALEN_JOBS_STALE_SECONDS: { path: ['jobs', 'staleSeconds'], kind: 'number' },
  GALEN_JOBS_HEALTH_PORT: { path: ['jobs', 'healthPort'], kind: 'integer' },
  GALEN_JOBS_MAX_ATTEMPTS: { path: ['jobs', 'maxAttempts'], kind: 'integer' },
  GALEN_PYTHON: { path: ['jobs', 'python'], kind: 'string' },
  GALEN_CDS_CLIENTS: { path: ['cds', 'clients'], kind: 'json' },
  GALEN_CDS_PUBLIC_URL: { path: ['cds', 'publicUrl'], kind: 'string' },
  GALEN_MASTER_KEY: { path: ['encryption', 'masterKey'], kind: 'string' },
  GALEN_MASTER_KEY_FILE: { path: ['encryption', 'masterKeyFile'], kind: 'string' },
  GALEN_PREVIOUS_MASTER_KEYS: { path: ['encryption', 'previousKeys'], kind: 'strings' },
  GALEN_DEID_KEY_FILE: { path: ['deid', 'keyFile'], kind: 'string' },
  GALEN_MONITORING_SAMPLE_RATE: { path: ['monitoring', 'sampleRate'], kind: 'number' },
  GALEN_MONITORING_WINDOW: { path: ['monitoring', 'window'], kind: 'string' },
  GALEN_MONITORING_EVALUATE_SECONDS: { path: ['monitoring', 'evaluateSeconds'], kind: 'integer' },
  GALEN_MONITORING_RETENTION_DAYS: { path: ['monitoring', 'retentionDays'], kind: 'integer' },
  GALEN_MONITORING_ALLOW_PRIVATE_WEBHOOKS: { path: ['monitoring', 'allowPrivateWebhooks'], kind: 'boolean' },
  GALEN_OPTIMIZE_THREADS: { path: ['optimize', 'threads'], kind: 'integer' },
  GALEN_OPTIMIZE_MAX_QUEUED: { path: ['optimize', 'maxQueued'], kind: 'integer' },
  GALEN_OPTIMIZE_DEFAULT_SECONDS: { path: ['optimize', 'defaultSeconds'], kind: 'number' },
  GALEN_OPTIMIZE_MAX_SECONDS: { path: ['optimize', 'maxSeconds'], kind: 'number' },
  GALEN_OPTIMIZE_MAX_JOB_SECONDS: { path: ['optimize', 'maxJobSeconds'], kind: 'number' },
  GALEN_TLS_CERT_FILE: { path: ['tls', 'certFile'], kind: 'string' },
  GALEN_TLS_KEY_FILE: { path: ['tls', 'keyFile'], kind: 'string' },
  GALEN_OUTBOUND_ALLOW_PRIVATE_NETWORKS: { path: ['outbound', 'allowPrivateNetworks'], kind: 'strings' },
  GALEN_OUTBOUND_ALLOW_HTTP_HOSTS: { path: ['outbound', 'allowHttpHosts'], kind: 'strings' },
  GALEN_OUTBOUND_CONNECT_TIMEOUT_MS: { path: ['outbound', 'connectTimeoutMs'], kind: 'integer' },
  GALEN_OUTBOUND_TIMEOUT_MS: { path: ['outbound', 'timeoutMs'], kind: 'integer' },
  GALEN_OUTBOUND_MAX_RESPONSE_BYTES: { path: ['outbound', 'maxResponseBytes'], kind: 'integer' },
  GALEN_OIDC_ISSUER: { path: ['oidc', 'issuer'], kind: 'string' },
  GALEN_OIDC_AUDIENCE: { path: ['oidc', 'audience'], kind: 'string' },
  GALEN_OIDC_JWKS_URL: { path: ['oidc', 'jwksUrl'], kind: 'string' },
  GALEN_OIDC_ROLE_CLAIM: { path: ['oidc', 'roleClaim'], kind: 'string' },
  GALEN_OIDC_ROLE_MAP: { path: ['oidc', 'roleMap'], kind: 'json' },
  GALEN_GRPC_ENABLED: { path: ['grpc', 'enabled'], kind: 'boolean' },
  GALEN_GRPC_PORT: { path: ['grpc', 'port'], kind: 'integer' },
  GALEN_GRPC_MAX_MESSAGE_BYTES: { path: ['grpc', 'maxMessageBytes'], kind: 'integer' },
  GALEN_GRPC_MAX_CONCURRENT_STREAMS: { path: ['grpc', 'maxConcurrentStreams'], kind: 'integer' },
  GALEN_GRPC_MAX_CONTENTS_ELEMENTS: { path: ['grpc', 'maxContentsElements'], kind: 'integer' },
  GALEN_HTTP_BODY_LIMIT_BYTES: { path: ['http', 'bodyLimitBytes'], kind: 'integer' },
  GALEN_HTTP_UPLOAD_LIMIT_BYTES: { path: ['http', 'uploadLimitBytes'], kind: 'integer' },
  GALEN_HTTP_SHUTDOWN_DELAY_SECONDS: { path: ['http', 'shutdownDelaySeconds'], kind: 'number' },
  GALEN_HTTP_SHUTDOWN_TIMEOUT_SECONDS: { path: ['http', 'shutdownTimeoutSeconds'], kind: 'number' },
  GALEN_TENSORS_MAX_ELEMENTS: { path: ['tensors', 'maxElements'], kind: 'integer' },
  GALEN_TENSORS_MAX_BYTES_ELEMENTS: { path: ['tensors', 'maxBytesElements'], kind: 'integer' },
  GALEN_TENSORS_MAX_BYTES_ELEMENT_SIZE: { path: ['tensors', 'maxBytesElementSize'], kind: 'integer' },
  GALEN_TENSORS_MAX_DECODED_BYTES: { path: ['tensors', 'maxDecodedBytes'], kind: 'integer' },
  GALEN_IMAGE_ARCHIVES_MAX_ENTRIES: { path: ['imageArchives', 'maxEntries'], kind: 'integer' },
  GALEN_IMAGE_ARCHIVES_MAX_ENTRY_BYTES: { path: ['imageArchives', 'maxEntryBytes'], kind: 'integer' },
  GALEN_IMAGE_ARCHIVES_MAX_TOTAL_BYTES: { path: ['imageArchives', 'maxTotalBytes'], kind: 'integer' },
  GALEN_IMAGE_ARCHIVES_MAX_RATIO: { path: ['imageArchives', 'maxRatio'], kind: 'integer' },
  GALEN_IMAGE_ARCHIVES_MAX_IMAGES: { path: ['imageArchives', 'maxImages'], kind: 'integer' },
  GALEN_RUNTIME_MAX_CONCURRENT_PER_MODEL: { path: ['runtime', 'maxConcurrentPerModel'], kind: 'integer' },
  GALEN_RUNTIME_WORKERS: { path: ['runtime', 'workers'], kind: 'integer' },
  GALEN_RUNTIME_INTRA_OP_THREADS: { path: ['runtime', 'intraOpThreads'], kind: 'integer' },
  GALEN_RUNTIME_CPU_MEM_ARENA: { path: ['runtime', 'cpuMemArena'], kind: 'boolean' },
  GALEN_RUNTIME_INLINE_MAX_MICROS: { path: ['runtime', 'inlineMaxMicros'], kind: 'integer' },
  GALEN_RUNTIME_WARMUP: { path: ['runtime', 'warmup'], kind: 'boolean' },
  GALEN_RUNTIME_PRELOAD_ALIASED: { path: ['runtime', 'preloadAliased'], kind: 'boolean' },
  GALEN_RUNTIME_BATCHING: { path: ['runtime', 'batching'], kind: 'boolean' },
  GALEN_RUNTIME_MAX_BATCH_SIZE: { path: ['runtime', 'maxBatchSize'], kind: 'integer' },
  GALEN_RUNTIME_MAX_QUEUE_DELAY_MICROS: { path: ['runtime', 'maxQueueDelayMicros'], kind: 'integer' },
  GALEN_RUNTIME_MAX_QUEUE_LENGTH: { path: ['runtime', 'maxQueueLength'], kind: 'integer' },
  GALEN_RUNTIME_PREFERRED_BATCH_SIZES: { path: ['runtime', 'preferredBatchSizes'], kind: 'integers' },
  GALEN_RUNTIME_QUEUE_TIMEOUT_MICROS: { path: ['runtime', 'queueTimeoutMicros'], kind: 'integer' },
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function setPath(target: Record<string, Json>, path: readonly string[], value: Json): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, Json>;
  }
  node[path[path.length - 1]!] = value;
}

function parseEnv(name: string, raw: string, kind: EnvKind, problems: string[]): Json {
  if (kind === 'string') return raw;
  if (kind === 'strings')
    return raw
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  if (kind === 'json') {
    try {
      return JSON.parse(raw) as Json;
    } catch (err) {
      problems.push(`${name} must be JSON: ${(err as Error).message}`);
      return raw;
    }
  }
  if (kind === 'integers') {
    const items = raw.split(',').map((x) => x.trim());
    if (!items.every((x) => /^\d+$/.test(x)))
      problems.push(`${name}="${raw}" must be a comma-separated list of integers, e.g. 8,16,32`);
    return items.map(Number);
  }
  if (kind === 'number') {
    if (!/^-?\d+(\.\d+)?$/.test(raw.trim())) problems.push(`${name}="${raw}" must be a number`);
    return Number(raw);
  }
  if (kind === 'integer') {
    if (!/^-?\d+$/.test(raw.trim())) problems.push(`${name}="${raw}" must be an integer`);
    return Number(raw);
  }
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  problems.push(`${name}="${raw}" must be true or false`);
  return raw;
}

/** The value at a JSON pointer (`/runtime/maxBatchSize`), for naming a rejected choice. */
function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const key of pointer.split('/').slice(1)) {
    const name = key.replaceAll('~1', '/').replaceAll('~0', '~');
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[name] : undefined;
  }
  return node;
}

/**
 * Schema problems as `[setting path, message]`, one per problem. TypeBox stops at 8 errors by
 * default (which hid later bad settings), and a union of literals reports one "must be equal to
 * constant" per branch: lift the cap and fold each union into one line naming the allowed values.
 */
function schemaProblems(value: unknown): [where: string, message: string][] {
  const maxErrors = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: 1000 });
  let errors;
  try {
    errors = Value.Errors(ConfigSchema, value).filter((e) => e.keyword !== 'boolean'); // reported again, better, as additionalProperties
  } finally {
    Settings.Set({ maxErrors });
  }
  const branchesOf = (union: (typeof errors)[number]): typeof errors =>
    errors.filter(
      (e) => e.instancePath === union.instancePath && e.schemaPath.startsWith(`${union.schemaPath}/anyOf/`),
    );
  const folded = new Set(errors.filter((e) => e.keyword === 'anyOf').flatMap(branchesOf));
  const out = new Map<string, [string, string]>();
  for (const error of errors) {
    if (folded.has(error)) continue;
    const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
    let message = error.message;
    if (error.keyword === 'additionalProperties') {
      message += `: unknown setting(s) ${JSON.stringify((error.params as { additionalProperties?: unknown }).additionalProperties)}`;
    } else if (error.keyword === 'anyOf') {
      const branches = branchesOf(error);
      const allowed = branches.flatMap((b) =>
        b.keyword === 'const' ? [(b.params as { allowedValue?: unknown }).allowedValue] : [],
      );
      // Only a rejected choice among literals is quoted back: it is a setting name, never a secret.
      if (allowed.length > 0 && allowed.length === branches.length) {
        const given = JSON.stringify(valueAt(value, error.instancePath)) ?? 'undefined';
        message = `${given.length > 60 ? `${given.slice(0, 57)}...` : given} is not one of ${allowed.map(String).join(', ')}`;
      } else if (branches.length > 0) {
        message = [...new Set(branches.map((b) => b.message))].join(', or ');
      }
    }
    out.set(`${where}: ${message}`, [where, message]);
  }
  return [...out.values()];
}

/**
 * `url` with the password in it (`user:password@`, `?password=`) replaced by `***`, for messages
 * and logs. Whatever precedes the last `@` is taken as the user part, so a password holding an
 * unescaped `/` or `@` is hidden too.
 *
 * @example
 * redactUrl('postgres://galen:s3cret@db:5432/galen'); // 'postgres://galen:***@db:5432/galen'
 */
export function redactUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  let rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const user = rest.slice(0, at);
    const colon = user.indexOf(':');
    if (colon >= 0) rest = `${user.slice(0, colon)}:***${rest.slice(at)}`;
  }
  return scheme + rest.replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** The scheme of a URL-like text, for naming it back without anything after it. */
const schemeOf = (text: string): string | undefined => /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];

/** S3 bucket names: 3–63 of a-z 0-9 . -, a letter or digit at each end, no `..`, not an IP address. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The checks of the URL settings; each says what is allowed, and none repeats a password. */
const URL_CHECKS: Readonly<Record<string, (value: string) => string | undefined>> = {
  'database.url': (value) => {
    const scheme = schemeOf(value);
    const allowed =
      'use postgres://user:password@host:5432/database (or postgresql://…), or leave it unset for the embedded SQLite database';
    if (scheme === undefined || !value.startsWith(`${scheme}://`)) return `not a URL; ${allowed}`;
    if (!/^postgres(ql)?$/.test(scheme)) return `a ${scheme}:// URL is not allowed; ${allowed}`;
    try {
      new URL(value);
    } catch {
      return `${redactUrl(value)} is not a valid URL (characters such as @ / : in the password must be %-encoded); ${allowed}`;
    }
    return undefined;
  },
  'artifacts.url': (value) => {
    const allowed = 'use s3://bucket or s3://bucket/prefix, or leave it unset for files in dataDir';
    const scheme = schemeOf(value);
    if (scheme !== 's3' || !value.startsWith('s3://'))
      return `${scheme === undefined ? 'not a URL' : `a ${scheme}: URL is not allowed`}; ${allowed}`;
    const [bucket = '', ...prefix] = value.slice('s3://'.length).split('/');
    const shown = JSON.stringify(bucket.length > 70 ? `${bucket.slice(0, 67)}...` : bucket);
    if (!BUCKET.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket))
      return `bucket ${shown} is not a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit (not an IP address); ${allowed}`;
    const segments = prefix.join('/').replace(/\/$/, '');
    if (segments !== '' && segments.split('/').some((s) => s === '' || s === '.' || s === '..'))
      return `the prefix after the bucket has an empty, "." or ".." part; ${allowed}`;
    return undefined;
  },
};

/** Settings given in code: any top-level setting, and any part of a section (the rest defaults). */
export type ConfigOverrides = {
  [K in keyof GalenConfig]?: GalenConfig[K] extends readonly unknown[]
    ? GalenConfig[K]
    : GalenConfig[K] extends object
      ? Partial<GalenConfig[K]>
      : GalenConfig[K];
};

export interface LoadConfigOptions {
  /** Path of a JSON config file; `GALEN_CONFIG` names one when this is unset. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Settings that win over everything (CLI flags, tests); a section given replaces the file's and the environment's. */
  overrides?: ConfigOverrides;
}

/**
 * Loads and validates the configuration, throwing a `ConfigError` that lists every problem.
 *
 * @example
 * const config = loadConfig({ env: process.env });
 */
export function loadConfig(options: LoadConfigOptions = {}): GalenConfig {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  let merged: Record<string, Json> = {};

  const file = options.file ?? env['GALEN_CONFIG'];
  if (file) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Json;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`config file ${file} must hold a JSON object`);
      } else {
        merged = parsed;
      }
    } catch (err) {
      problems.push(`config file ${file} could not be read: ${(err as Error).message}`);
    }
  }
  const fromEnv = new Map<string, string>(); // setting path -> the variable that set it
  const badEnv = new Set<string>(); // setting paths whose variable was already reported
  for (const [name, spec] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const before = problems.length;
    setPath(merged, spec.path, parseEnv(name, raw, spec.kind, problems));
    fromEnv.set(spec.path.join('.'), name);
    if (problems.length > before) badEnv.add(spec.path.join('.'));
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) merged[key] = value as Json;
  }

  const withDefaults = Value.Default(ConfigSchema, merged);
  const badPaths = [...badEnv];
  for (const [where, message] of schemaProblems(withDefaults)) {
    // The URLs' own checks below say more than "must match pattern" (and never echo a password).
    if (where in URL_CHECKS && message.startsWith('must match pattern')) continue;
    badPaths.push(where);
    if (badEnv.has(where)) continue; // its variable's problem is already listed
    const name = fromEnv.get(where);
    problems.push(`${where}${name ? ` (${name})` : ''}: ${message}`);
  }
  // The checks across settings run whenever their own section is valid, so one bad setting
  // elsewhere does not hide them.
  const sectionValid = (section: string): boolean =>
    !badPaths.some((p) => p === section || p.startsWith(`${section}.`));
  if (sectionValid('runtime')) {
    const { preferredBatchSizes: sizes, maxBatchSize } = (withDefaults as GalenConfig).runtime;
    if (!sizes.every((s, i) => i === 0 || s > sizes[i - 1]!))
      problems.push(`runtime.preferredBatchSizes ${JSON.stringify(sizes)} must be in ascending order`);
    if (sizes.some((s) => s > maxBatchSize))
      problems.push(
        `runtime.preferredBatchSizes ${JSON.stringify(sizes)} has a size above runtime.maxBatchSize ${maxBatchSize}`,
      );
  }
  if (sectionValid('cds')) {
    for (const [i, client] of (withDefaults as GalenConfig).cds.clients.entries()) {
      if ((client.jwksUrl === undefined) === (client.jwks === undefined))
        problems.push(`cds.clients[${i}] (iss ${JSON.stringify(client.iss)}) needs one of jwksUrl or jwks`);
    }
    const { cds } = withDefaults as GalenConfig;
    // The aud of a CDS client JWT is checked against this; the Host header is the caller's to choose.
    if (cds.clients.length > 0 && cds.publicUrl === undefined)
      problems.push(
        'cds.publicUrl (GALEN_CDS_PUBLIC_URL) is required with cds.clients: the URL EHRs call Galen by (e.g. https://galen.example.org), which their JWTs must name as aud',
      );
  }
  const named = (path: string): string => `${path}${fromEnv.has(path) ? ` (${fromEnv.get(path)})` : ''}`;
  for (const [path, check] of Object.entries(URL_CHECKS)) {
    const value = valueAt(withDefaults, `/${path.replace('.', '/')}`);
    const problem = typeof value === 'string' ? check(value) : undefined;
    if (problem !== undefined) problems.push(`${named(path)}: ${problem}`);
  }
  if (sectionValid('artifacts')) {
    const { url, s3 } = (withDefaults as GalenConfig).artifacts;
    const without = (['endpoint', 'region', 'forcePathStyle'] as const).filter(
      (k) => s3[k] !== undefined && s3[k] !== false,
    );
    if (url === undefined && without.length > 0)
      problems.push(
        `${without.map((k) => named(`artifacts.s3.${k}`)).join(', ')} set without artifacts.url (GALEN_ARTIFACTS_URL): set it to s3://bucket/prefix, or remove ${without.length === 1 ? 'it' : 'them'} (artifacts stay in dataDir)`,
      );
  }
  if (sectionValid('jobs')) {
    const { heartbeatSeconds, staleSeconds } = (withDefaults as GalenConfig).jobs;
    if (staleSeconds < 3 * heartbeatSeconds)
      problems.push(
        `${named('jobs.staleSeconds')} ${staleSeconds} must be at least 3 × ${named('jobs.heartbeatSeconds')} ${heartbeatSeconds}: one late heartbeat must not make a running job look orphaned`,
      );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = withDefaults as GalenConfig;
  // Every path absolute from here on: nothing later (a job's child process, a model file naming a
  // relative path) depends on the folder the server was started in.
  const { encryption, deid, tls } = config;
  return {
    ...config,
    dataDir: resolve(config.dataDir),
    encryption: {
      ...encryption,
      ...(encryption.masterKeyFile !== undefined && { masterKeyFile: resolve(encryption.masterKeyFile) }),
    },
    deid: { ...deid, ...(deid.keyFile !== undefined && { keyFile: resolve(deid.keyFile) }) },
    ...(tls && { tls: { certFile: resolve(tls.certFile), keyFile: resolve(tls.keyFile) } }),
  };
}

/** The TLS certificate and key as configured, read from their files; undefined without `tls`. */
export function readTls(config: GalenConfig): { cert: Buffer; key: Buffer } | undefined {
  if (!config.tls) return undefined;
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError([`tls.${what} ${file} could not be read: ${(err as Error).message}`]);
    }
  };
  return { cert: read('certFile', config.tls.certFile), key: read('keyFile', config.tls.keyFile) };
}

/**
 * The master keys as configured: the current one (from `masterKey` or `masterKeyFile`) and any
 * earlier ones, each 32 bytes. Undefined current = no encryption at rest.
 */
export function readMasterKeys(config: GalenConfig): { current: Buffer | undefined; previous: Buffer[] } {
  const { masterKey, masterKeyFile, previousKeys } = config.encryption;
  const decode = (what: string, text: string): Buffer => {
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== 32) {
      throw new ConfigError([
        `${what} must be base64 of 32 random bytes (e.g. \`openssl rand -base64 32\`); it decodes to ${key.length} bytes`,
      ]);
    }
    return key;
  };
  if (masterKey !== undefined && masterKeyFile !== undefined) {
    throw new ConfigError(['set encryption.masterKey or encryption.masterKeyFile, not both']);
  }
  let current: Buffer | undefined;
  if (masterKey !== undefined) current = decode('encryption.masterKey (GALEN_MASTER_KEY)', masterKey);
  if (masterKeyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(masterKeyFile, 'utf8');
    } catch (err) {
      throw new ConfigError([
        `encryption.masterKeyFile ${masterKeyFile} could not be read: ${(err as Error).message}`,
      ]);
    }
    current = decode(`the master key in ${masterKeyFile}`, text);
  }
  if (!current && previousKeys.length > 0) {
    throw new ConfigError(['encryption.previousKeys are only read alongside a current master key']);
  }
  return { current, previous: previousKeys.map((k, i) => decode(`encryption.previousKeys[${i}]`, k)) };
}

/** The pseudonymisation key, read from `deid.keyFile`; undefined when unset. */
export function readDeidKey(config: GalenConfig): Buffer | undefined {
  if (!config.deid.keyFile) return undefined;
  let key: Buffer;
  try {
    key = readFileSync(config.deid.keyFile);
  } catch (err) {
    throw new ConfigError([
      `deid.keyFile ${config.deid.keyFile} could not be read: ${(err as Error).message}`,
    ]);
  }
  if (key.length < 16)
    throw new ConfigError([`deid.keyFile ${config.deid.keyFile} holds ${key.length} bytes; use at least 16`]);
  return key;
}

/**
 * Each `GALEN_*` variable with the setting it sets (a dot path such as `runtime.maxBatchSize`) and
 * how its text is read, for the configuration reference (docs/guides/configuration.md).
 */
export function environmentSettings(): readonly { name: string; setting: string; kind: EnvKind }[] {
  return Object.entries(ENV_VARS).map(([name, spec]) => ({
    name,
    setting: spec.path.join('.'),
    kind: spec.kind,
  }));
}

/** Every environment variable Galen reads, for documentation and `galen --help`. */
export function environmentVariables(): readonly string[] {
  return ['GALEN_CONFIG', ...Object.keys(ENV_VARS)];
}
