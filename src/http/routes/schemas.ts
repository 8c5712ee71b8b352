/** TypeBox schemas of the native API: they validate requests and document responses in OpenAPI. */
import Type from 'typebox';
import { DATATYPES, ROLES } from '../../core/index.js';

export const TensorSpecSchema = Type.Object({
  name: Type.String(),
  datatype: Type.Union(DATATYPES.map((d) => Type.Literal(d))),
  shape: Type.Array(Type.Integer(), { description: '-1 marks a dynamic dimension' }),
});

export const SignatureSchema = Type.Object({
  inputs: Type.Array(TensorSpecSchema),
  outputs: Type.Array(TensorSpecSchema),
  unservedOutputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), reason: Type.String() }))),
});

export const VersionSchema = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  sha256: Type.String(),
  sizeBytes: Type.Integer(),
  description: Type.String(),
  signature: SignatureSchema,
  lineage: Type.Record(Type.String(), Type.Unknown()),
  metrics: Type.Record(Type.String(), Type.Unknown()),
  aliases: Type.Array(Type.String()),
  createdAt: Type.String(),
  createdBy: Type.String(),
  archived: Type.Boolean(),
  archivedAt: Type.Union([Type.String(), Type.Null()]),
});

/** A model's serving settings; every field optional (absent = the server default). */
export const ServingSettingsSchema = Type.Object({
  batching: Type.Optional(Type.Boolean()),
  maxBatchSize: Type.Optional(Type.Integer()),
  preferredBatchSizes: Type.Optional(Type.Array(Type.Integer())),
  maxQueueDelayMicros: Type.Optional(Type.Integer()),
  maxQueueLength: Type.Optional(Type.Integer()),
  queueTimeoutMicros: Type.Optional(Type.Integer()),
});

export const EffectiveServingSchema = Type.Object({
  batching: Type.Boolean(),
  maxBatchSize: Type.Integer(),
  preferredBatchSizes: Type.Array(Type.Integer()),
  maxQueueDelayMicros: Type.Integer(),
  maxQueueLength: Type.Integer(),
  queueTimeoutMicros: Type.Integer(),
});

const modelFields = {
  name: Type.String(),
  description: Type.String(),
  tags: Type.Record(Type.String(), Type.String()),
  serving: ServingSettingsSchema,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  archived: Type.Boolean(),
  archivedAt: Type.Union([Type.String(), Type.Null()]),
  latestVersion: Type.Integer(),
  aliases: Type.Record(Type.String(), Type.Integer()),
};

export const ModelSchema = Type.Object(modelFields);
export const ModelDetailSchema = Type.Object({ ...modelFields, versions: Type.Array(VersionSchema) });

export const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  createdAt: Type.String(),
  createdBy: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

export const AuditRecordSchema = Type.Object({
  seq: Type.Integer(),
  time: Type.String(),
  keyId: Type.Union([Type.String(), Type.Null()]),
  role: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  model: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.Integer(), Type.Null()]),
  status: Type.Integer(),
  requestId: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Number(),
  detail: Type.Record(Type.String(), Type.Unknown()),
  prevHash: Type.String(),
  hash: Type.String(),
});

export const ErrorSchema = Type.Object({ error: Type.String(), code: Type.String() });

/** A person's correction of schema inference for one column. */
export const ColumnOverrideSchema = Type.Object(
  {
    kind: Type.Optional(
      Type.Union(['numeric', 'binary', 'categorical', 'ordinal', 'text'].map((k) => Type.Literal(k))),
    ),
    role: Type.Optional(Type.Union([Type.Literal('feature'), Type.Literal('ignored')])),
    categories: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

/** A job as answered: training or optimisation, its state, progress and result. */
export const JobSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  state: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  request: Type.Record(Type.String(), Type.Unknown()),
  progress: Type.Number({ description: '0 to 1' }),
  stage: Type.String(),
  result: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  attempts: Type.Integer(),
  cancelRequested: Type.Boolean(),
  createdAt: Type.String(),
  createdBy: Type.String(),
  createdRole: Type.String(),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});
