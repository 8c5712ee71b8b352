/**
 * Galen's serving state in the shapes Triton reports it, shared by the HTTP and gRPC edges (the
 * field names of Triton's JSON and of its protobuf messages are the same): a model version's
 * configuration (`model_config.proto`'s ModelConfig, derived from the signature and the serving
 * settings in force), per-version statistics, and the repository index.
 */
import type { Datatype, TensorSpec } from '../core/index.js';
import type { ModelRegistry } from '../registry/index.js';
import { canBatch } from '../runtime/index.js';
import type { DurationStat, ServingDefaults } from '../runtime/index.js';
import type { InferenceService, ModelMetadata, VersionStatistics } from './inference-service.js';
import type { ModelManager } from './model-manager.js';
import { servedInputs } from './validate-inputs.js';

/** `ModelInput` / `ModelOutput`: a tensor as Triton's configuration describes it. */
export interface TritonTensorConfig {
  name: string;
  data_type: string;
  dims: number[];
}

/** Triton's `ModelQueuePolicy`. */
export interface TritonQueuePolicy {
  timeout_action: 'REJECT';
  default_timeout_microseconds: number;
  allow_timeout_override: boolean;
  max_queue_size: number;
}

/** The subset of Triton's `ModelConfig` Galen fills (every other field reads as unset). */
export interface TritonModelConfig {
  name: string;
  platform: 'onnxruntime_onnx';
  backend: 'onnxruntime';
  version_policy: { all: Record<string, never> };
  max_batch_size: number;
  input: (TritonTensorConfig & {
    format: 'FORMAT_NONE';
    is_shape_tensor: false;
    allow_ragged_batch: false;
    optional: false;
  })[];
  output: (TritonTensorConfig & { label_filename: ''; is_shape_tensor: false })[];
  instance_group: { name: string; kind: 'KIND_CPU'; count: number; gpus: number[] }[];
  default_model_filename: 'model.onnx';
  dynamic_batching?: {
    preferred_batch_size: number[];
    max_queue_delay_microseconds: number;
    preserve_ordering: boolean;
    default_queue_policy: TritonQueuePolicy;
  };
  model_transaction_policy: { decoupled: false };
  response_cache: { enable: false };
}

/** Triton's name for a datatype: `TYPE_` and the OIP name, except BYTES, which Triton calls STRING. */
export function tritonDataType(datatype: Datatype): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

const dynamicFirst = (t: TensorSpec): boolean => t.shape.length > 0 && t.shape[0] === -1;

/**
 * A version's configuration as Triton reports it (GET /v2/models/{m}/config, gRPC ModelConfig).
 * A version whose inputs and outputs all have a dynamic first dimension is batchable: like
 * Triton, its `max_batch_size` is the largest merged batch and its dims leave the batch dimension
 * out; otherwise `max_batch_size` is 0 and dims are the full shapes. `dynamic_batching` appears
 * when the dynamic batcher runs for the version, with its settings and queue policy.
 *
 * @example
 * const meta = await galen.inference.metadata('breast-cancer');
 * const { effective } = await galen.inference.serving('breast-cancer');
 * tritonModelConfig(meta, effective, galen.config.runtime.maxConcurrentPerModel).max_batch_size; // 32
 */
export function tritonModelConfig(
  meta: ModelMetadata,
  serving: ServingDefaults,
  concurrentRuns: number,
): TritonModelConfig {
  const inputs = servedInputs(meta.signature);
  const outputs = meta.signature.outputs;
  const batchable = canBatch(meta.signature) && inputs.every(dynamicFirst);
  const dims = (t: TensorSpec): number[] => (batchable ? t.shape.slice(1) : [...t.shape]);
  const batcherRuns = batchable && serving.batching && serving.maxBatchSize >= 2;
  return {
    name: meta.name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    // Every version that is not archived can be called by number.
    version_policy: { all: {} },
    max_batch_size: batchable ? serving.maxBatchSize : 0,
    input: inputs.map((t) => ({
      name: t.name,
      data_type: tritonDataType(t.datatype),
      format: 'FORMAT_NONE',
      dims: dims(t),
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
    })),
    output: outputs.map((t) => ({
      name: t.name,
      data_type: tritonDataType(t.datatype),
      dims: dims(t),
      label_filename: '',
      is_shape_tensor: false,
    })),
    // Runs of one model at once: what Triton's instance count means.
    instance_group: [{ name: meta.name, kind: 'KIND_CPU', count: concurrentRuns, gpus: [] }],
    default_model_filename: 'model.onnx',
    ...(batcherRuns && {
      dynamic_batching: {
        preferred_batch_size: [...serving.preferredBatchSizes],
        max_queue_delay_microseconds: serving.maxQueueDelayMicros,
        preserve_ordering: false,
        default_queue_policy: {
          timeout_action: 'REJECT',
          default_timeout_microseconds: serving.queueTimeoutMicros,
          allow_timeout_override: true,
          max_queue_size: serving.maxQueueLength,
        },
      },
    }),
    model_transaction_policy: { decoupled: false },
    response_cache: { enable: false },
  };
}

/**
 * The configuration of `model` at `version` (a number or alias; omitted = the version inference
 * would use), with the serving settings in force for it.
 */
export async function modelConfigOf(
  inference: Pick<InferenceService, 'metadata' | 'serving'>,
  model: string,
  version: string | undefined,
  concurrentRuns: number,
): Promise<TritonModelConfig> {
  const meta = await inference.metadata(model, version);
  const { effective } = await inference.serving(model);
  return tritonModelConfig(meta, effective, concurrentRuns);
}

const stat = (s: DurationStat): { count: number; ns: number } => ({ count: s.count, ns: s.ns });
const ZERO = { count: 0, ns: 0 };

/** One version's statistics as Triton's `ModelStatistics`. */
export function tritonStatistics(s: VersionStatistics): Record<string, unknown> {
  return {
    name: s.model,
    version: String(s.version),
    last_inference: s.lastInference,
    inference_count: s.inferenceCount,
    execution_count: s.executionCount,
    inference_stats: {
      success: stat(s.success),
      fail: stat(s.fail),
      queue: stat(s.queue),
      compute_input: ZERO,
      compute_infer: stat(s.computeInfer),
      compute_output: ZERO,
      cache_hit: ZERO,
      cache_miss: ZERO,
    },
    batch_stats: Object.entries(s.batches).map(([size, d]) => ({
      batch_size: Number(size),
      compute_infer: stat(d),
    })),
  };
}

/** One entry of the repository index. */
export interface RepositoryIndexEntry {
  name: string;
  version: string;
  state: 'READY' | 'UNAVAILABLE';
  reason: string;
}

/**
 * Every model with its loaded versions (READY), or, for a model with none loaded, its latest
 * version (UNAVAILABLE, with the reason) unless only ready ones are asked for.
 */
export async function repositoryIndex(
  registry: Pick<ModelRegistry, 'listModels'>,
  models: Pick<ModelManager, 'loadedVersions' | 'isUnloaded'>,
  onlyReady: boolean,
): Promise<RepositoryIndexEntry[]> {
  const loaded = models.loadedVersions();
  const entries: RepositoryIndexEntry[] = [];
  for (const model of await registry.listModels()) {
    const versions = loaded.filter((l) => l.model === model.name).map((l) => l.version);
    for (const v of versions)
      entries.push({ name: model.name, version: String(v), state: 'READY', reason: '' });
    if (versions.length === 0 && !onlyReady) {
      const reason = models.isUnloaded(model.name) ? 'unloaded' : 'not loaded yet (loads on first use)';
      entries.push({ name: model.name, version: String(model.latestVersion), state: 'UNAVAILABLE', reason });
    }
  }
  return entries;
}
