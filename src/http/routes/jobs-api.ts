/**
 * Training jobs over HTTP: submit one (202 with the job; it runs in a child process), list and
 * read them, follow their log, cancel. A job's failure is part of the job (`state: failed`,
 * `error: { code, message }`); only a request that cannot become a job is refused with 4xx.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { DEEP_ARCHITECTURES, RecommenderOptionsSchema, isDeepArchitecture } from '../../jobs/index.js';
import type { TrainJobRequest } from '../../jobs/index.js';
import { ColumnOverrideSchema, ErrorSchema, JobSchema } from './schemas.js';

const IdParam = Type.Object({ id: Type.String() });

const PreprocessingSchema = Type.Object(
  {
    impute: Type.Optional(
      Type.Union(['mean', 'median', 'most_frequent', 'constant'].map((v) => Type.Literal(v))),
    ),
    imputeConstant: Type.Optional(Type.Number()),
    missingIndicators: Type.Optional(Type.Boolean()),
    scale: Type.Optional(Type.Union(['standard', 'minmax', 'robust', 'none'].map((v) => Type.Literal(v)))),
    clip: Type.Optional(
      Type.Object(
        {
          method: Type.Union([Type.Literal('zscore'), Type.Literal('iqr')]),
          k: Type.Number({ exclusiveMinimum: 0 }),
        },
        { additionalProperties: false },
      ),
    ),
    minCategoryCount: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

const GbdtSchema = Type.Object(
  {
    learningRate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    maxIterations: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    maxLeafNodes: Type.Optional(Type.Integer({ minimum: 2, maximum: 4096 })),
    maxDepth: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    minSamplesLeaf: Type.Optional(Type.Integer({ minimum: 1 })),
    l2Regularization: Type.Optional(Type.Number({ minimum: 0 })),
    maxBins: Type.Optional(Type.Integer({ minimum: 2, maximum: 255 })),
    earlyStopping: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Literal('auto'),
        Type.Object(
          {
            validationFraction: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })),
            patience: Type.Optional(Type.Integer({ minimum: 1 })),
            tolerance: Type.Optional(Type.Number({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
  },
  { additionalProperties: false },
);

const DeepOptionsSchema = Type.Object(
  {
    epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 20' })),
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'default 64' })),
    learningRate: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'AdamW; default 0.001' }),
    ),
    weightDecay: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'default 0.0001' })),
    patience: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 1000 }), Type.Null()], {
        description: 'epochs without validation improvement before stopping (default 5; null: never)',
      }),
    ),
    classWeight: Type.Optional(Type.Union([Type.Literal('balanced'), Type.Literal('none')])),
    imageSize: Type.Optional(
      Type.Integer({
        minimum: 8,
        maximum: 1024,
        description: "square side; default the dataset's, else 224",
      }),
    ),
    channels: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(3)])),
    augment: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Object(
          {
            horizontalFlip: Type.Optional(Type.Boolean()),
            verticalFlip: Type.Optional(Type.Boolean()),
            rotateDegrees: Type.Optional(Type.Number({ minimum: 0, maximum: 45 })),
            cropPixels: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
            intensity: Type.Optional(Type.Number({ minimum: 0, maximum: 0.9 })),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    network: Type.Optional(
      Type.Object(
        {
          width: Type.Optional(
            Type.Integer({ minimum: 4, maximum: 512, description: 'images: first block channels' }),
          ),
          hidden: Type.Optional(
            Type.Integer({ minimum: 4, maximum: 2048, description: 'sequences: hidden size' }),
          ),
          layers: Type.Optional(Type.Integer({ minimum: 1, maximum: 12, description: 'sequences: layers' })),
          heads: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 32, description: 'transformer: attention heads' }),
          ),
          dropout: Type.Optional(Type.Number({ minimum: 0, maximum: 0.9 })),
        },
        { additionalProperties: false },
      ),
    ),
    labelNames: Type.Optional(
      Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 200 }), {
        description: 'class names for the labels, e.g. {"0": "normal", "1": "pneumonia"}',
      }),
    ),
    maxLength: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000, description: 'sequences: steps used (the most recent)' }),
    ),
    validationFraction: Type.Optional(Type.Number({ minimum: 0.01, maximum: 0.5 })),
    testFraction: Type.Optional(Type.Number({ minimum: 0.01, maximum: 0.5 })),
    maxTrainSamples: Type.Optional(Type.Integer({ minimum: 2 })),
    threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  },
  { additionalProperties: false, description: 'deep architectures and the mlp only' },
);

const TrainJobBody = Type.Object(
  {
    kind: Type.Optional(Type.Literal('train')),
    model: Type.String({ description: 'the model to register a version of (created when new)' }),
    dataset: Type.String({ description: 'an uploaded dataset' }),
    datasetVersion: Type.Optional(Type.Integer({ minimum: 1, description: 'default: its latest version' })),
    testDataset: Type.Optional(
      Type.String({ description: 'held-out data with the same columns (default: a stratified 20% split)' }),
    ),
    target: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'the column to predict (tables; required), or "label" (images; the default)',
      }),
    ),
    positive: Type.Optional(Type.String({ description: 'for a two-class target: the positive class' })),
    threshold: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        description:
          'two-class targets: probability from which a row is positive in the threshold metrics (default 0.5)',
      }),
    ),
    modelKind: Type.Optional(
      Type.Union(
        ['auto', 'logistic', 'linear', 'gbdt', 'mlp', ...DEEP_ARCHITECTURES].map((k) => Type.Literal(k)),
        {
          description:
            'tables: auto (default) picks by cross-validation on the training rows; logistic for classes, linear for a number, gbdt for either, mlp (classes) a neural network trained by the PyTorch backend. Images: cnn or resnet18; sequences: gru, lstm or transformer; trained by the PyTorch backend',
        },
      ),
    ),
    overrides: Type.Optional(Type.Record(Type.String(), ColumnOverrideSchema)),
    deep: Type.Optional(DeepOptionsSchema),
    options: Type.Optional(
      Type.Object(
        {
          seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
          folds: Type.Optional(Type.Integer({ minimum: 2, maximum: 20 })),
          selectBy: Type.Optional(
            Type.Union(
              ['auroc', 'auprc', 'logLoss', 'brier', 'accuracy', 'rmse', 'mae'].map((m) => Type.Literal(m)),
              { description: 'what auto keeps the best by (default auroc / logLoss / rmse by task)' },
            ),
          ),
          testFraction: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })),
          l2: Type.Optional(
            Type.Number({ minimum: 0, description: 'L2 penalty of logistic/linear regression' }),
          ),
          l1: Type.Optional(
            Type.Number({
              minimum: 0,
              description: 'L1 penalty (elastic net), two-class logistic and linear',
            }),
          ),
          classWeight: Type.Optional(
            Type.Union([
              Type.Literal('balanced'),
              Type.Record(Type.String(), Type.Number({ exclusiveMinimum: 0 })),
            ]),
          ),
          oversample: Type.Optional(
            Type.Boolean({ description: 'repeat minority-class rows (training rows only)' }),
          ),
          preprocessing: Type.Optional(PreprocessingSchema),
          gbdt: Type.Optional(GbdtSchema),
        },
        { additionalProperties: false },
      ),
    ),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    sensitive: Type.Optional(
      Type.String({
        description: 'a column (e.g. sex, age band) whose groups get their own held-out metrics',
      }),
    ),
    intendedUse: Type.Optional(
      Type.String({ maxLength: 10_000, description: 'goes on the model card as given' }),
    ),
    limitations: Type.Optional(Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 50 })),
    deid: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'de-identify the table on the way in, by the rules of `galen deid csv`: {"columns": {"<column>": "keep|remove|pseudonymize|year|zip3|age|mask"}, "otherColumns"?, "quasiIdentifiers"?, "k"?, "lDiversity"?, "maxSuppression"?}',
      }),
    ),
    recommender: Type.Optional(RecommenderOptionsSchema),
    molecules: Type.Optional(
      Type.Object(
        {
          smiles: Type.String({ minLength: 1, description: 'The column of SMILES strings.' }),
          split: Type.Optional(Type.Union([Type.Literal('random'), Type.Literal('scaffold')])),
          testFraction: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 0.5 })),
          features: Type.Optional(
            Type.Record(Type.String(), Type.Unknown(), {
              description:
                '{"descriptors": [RDKit names], "counts": bool, "maccs": bool, "morgan"?: {"radius", "bits"}}; default: all 43 descriptors, counts, MACCS, Morgan r2 1024 bits',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'A molecule model: the served version takes SMILES (BYTES) and Galen computes RDKit features before the graph; `target` is the measured property.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

const LogsQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'only lines after this seq' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);

const WaitQuery = Type.Object(
  {
    wait: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 60,
        default: 0,
        description:
          'seconds to hold the answer until the job has ended (succeeded, failed or cancelled); the job as it is then, ended or not. 0 (default): at once',
      }),
    ),
  },
  { additionalProperties: false },
);

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

export function jobsApiRoutes(app: FastifyInstance, galen: Galen): void {
  // Long polls answer at once when the server closes, so they never hold its close up.
  const closing = new AbortController();
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });

  app.post(
    '/api/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Submit a training job: train, evaluate on held-out rows and register a model version',
        body: TrainJobBody,
        response: { 202: JobSchema, ...errors },
      },
      config: { permission: 'model:write', audit: 'job.submit' },
    },
    async (request, reply) => {
      const { kind: _kind, ...body } = request.body as Static<typeof TrainJobBody>;
      const modelKind = body.modelKind ?? 'auto';
      const train: TrainJobRequest = {
        ...body,
        modelKind,
        target: body.target ?? (isDeepArchitecture(modelKind) ? 'label' : ''),
      };
      const job = await galen.jobs.submitTraining(train, request.actor!);
      request.auditFacts = { model: body.model, detail: { job: job.id, dataset: body.dataset } };
      return reply.code(202).header('location', `/api/v1/jobs/${job.id}`).send(job);
    },
  );

  app.get(
    '/api/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Jobs, newest first',
        querystring: ListQuery,
        response: { 200: Type.Array(JobSchema), ...errors },
      },
      // Any key: it sees the jobs it submitted (every job with jobs:manage), see JobService.list.
      config: {},
    },
    async (request) => {
      const query = request.query as Static<typeof ListQuery>;
      return galen.jobs.list(query, request.actor!);
    },
  );

  app.get(
    '/api/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'One job; with `wait`, once it has ended or the wait is up (long polling)',
        params: IdParam,
        querystring: WaitQuery,
        response: { 200: JobSchema, ...errors },
      },
      config: {},
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParam>;
      const wait = (request.query as Static<typeof WaitQuery>).wait ?? 0;
      if (wait === 0) return galen.jobs.get(id, request.actor!);
      // A client that hangs up stops its wait.
      const left = new AbortController();
      reply.raw.once('close', () => left.abort());
      const job = await galen.jobs.wait(
        id,
        wait * 1000,
        request.actor!,
        AbortSignal.any([closing.signal, left.signal]),
      );
      // Kept alive, the connection would hold the close up until its keep-alive timeout.
      if (closing.signal.aborted) void reply.header('connection', 'close');
      return job;
    },
  );

  app.get(
    '/api/v1/jobs/:id/logs',
    {
      schema: {
        tags: ['jobs'],
        summary: "A job's log lines (stages, choices, outcome; never patient data)",
        params: IdParam,
        querystring: LogsQuery,
        response: errors,
      },
      config: {},
    },
    async (request) => {
      const query = request.query as Static<typeof LogsQuery>;
      return galen.jobs.logs(
        (request.params as Static<typeof IdParam>).id,
        { afterSeq: query.after, limit: query.limit },
        request.actor!,
      );
    },
  );

  app.post(
    '/api/v1/jobs/:id/cancel',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a queued or running job (a finished job is returned unchanged)',
        params: IdParam,
        response: { 200: JobSchema, ...errors },
      },
      config: { audit: 'job.cancel' },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      request.auditFacts = { detail: { job: id } };
      return galen.jobs.cancel(id, request.actor!);
    },
  );
}
