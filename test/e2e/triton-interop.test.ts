/**
 * What Triton's clients (tritonclient.http / tritonclient.grpc, perf_analyzer) ask a server for
 * beyond KServe's protocol, against the real server: the model configuration over HTTP and gRPC,
 * statistics and the repository index over gRPC (the same answers as HTTP), and repository
 * load/unload with the model name where Triton's proto puts it (field 2, after repository_name).
 */
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, status } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceServiceClass, unaryCall } from '../helpers/grpc-client.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

const TritonClient = inferenceServiceClass(
  fileURLToPath(new URL('../../proto/triton_grpc_extensions.proto', import.meta.url)),
  { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true },
);

/** Protobuf wire bytes of a string field. */
function str(field: number, s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
}

/** A pre-encoded unary call (the message as Triton's client would encode it). */
function callRaw(client: Client, method: string, message: Buffer): Promise<ServiceError | null> {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${ADMIN_KEY}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/inference.GRPCInferenceService/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      message,
      metadata,
      (err) => resolve(err),
    );
  });
}

/** The demo model's configuration, as Triton would describe an ONNX model batching up to 32. */
const BREAST_CANCER_CONFIG = {
  name: 'breast-cancer',
  platform: 'onnxruntime_onnx',
  backend: 'onnxruntime',
  version_policy: { all: {} },
  max_batch_size: 32,
  input: [
    {
      name: 'features',
      data_type: 'TYPE_FP32',
      format: 'FORMAT_NONE',
      dims: [30],
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
    },
  ],
  output: [
    { name: 'probabilities', data_type: 'TYPE_FP32', dims: [2], label_filename: '', is_shape_tensor: false },
    { name: 'label', data_type: 'TYPE_INT64', dims: [], label_filename: '', is_shape_tensor: false },
  ],
  instance_group: [{ name: 'breast-cancer', kind: 'KIND_CPU', count: 2, gpus: [] }],
  default_model_filename: 'model.onnx',
  dynamic_batching: {
    preferred_batch_size: [],
    max_queue_delay_microseconds: 0,
    preserve_ordering: false,
    default_queue_policy: {
      timeout_action: 'REJECT',
      default_timeout_microseconds: 30_000_000,
      allow_timeout_override: true,
      max_queue_size: 1024,
    },
  },
  model_transaction_policy: { decoupled: false },
  response_cache: { enable: false },
};

describe('Triton interoperability', () => {
  let server: TestServer;
  let client: Client;

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true, grpc: true });
    client = new TritonClient(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
    await uploadModel(server, 'fixed-int32', identityModel('INT32', [2, 3]));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('serves the model configuration over HTTP, as Triton answers GET /v2/models/{m}/config', async () => {
    for (const path of [
      '/v2/models/breast-cancer/config',
      '/v2/models/breast-cancer/versions/1/config',
      '/v2/models/breast-cancer/versions/production/config',
    ]) {
      const res = await server.call('GET', path);
      expect(res.status, path).toBe(200);
      expect(res.body).toEqual(BREAST_CANCER_CONFIG);
    }
  });

  it('describes a model without a batch dimension with max_batch_size 0 and full dims', async () => {
    const res = await server.call('GET', '/v2/models/fixed-int32/config');
    expect(res.body).toMatchObject({
      max_batch_size: 0,
      input: [{ name: 'x', data_type: 'TYPE_INT32', dims: [2, 3] }],
      output: [{ name: 'y', data_type: 'TYPE_INT32', dims: [2, 3] }],
    });
    expect(res.body).not.toHaveProperty('dynamic_batching');
  });

  it("reflects the model's serving settings in dynamic_batching", async () => {
    const put = await server.call('PUT', '/api/v1/models/breast-cancer/serving', {
      body: { maxBatchSize: 16, preferredBatchSizes: [4, 8], maxQueueDelayMicros: 500, maxQueueLength: 64 },
    });
    expect(put.status).toBe(200);
    try {
      const res = await server.call('GET', '/v2/models/breast-cancer/config');
      expect(res.body.max_batch_size).toBe(16);
      expect(res.body.dynamic_batching).toMatchObject({
        preferred_batch_size: [4, 8],
        max_queue_delay_microseconds: 500,
        default_queue_policy: { max_queue_size: 64 },
      });
      const off = await server.call('PUT', '/api/v1/models/breast-cancer/serving', {
        body: { batching: false },
      });
      expect(off.status).toBe(200);
      const unbatched = await server.call('GET', '/v2/models/breast-cancer/config');
      expect(unbatched.body).not.toHaveProperty('dynamic_batching');
      expect(unbatched.body.max_batch_size).toBe(32); // still batchable: the batch dimension is dynamic
    } finally {
      await server.call('PUT', '/api/v1/models/breast-cancer/serving', { body: {} });
    }
  });

  it('refuses the configuration without a key, and of an unknown model with 404', async () => {
    const anonymous = await server.call('GET', '/v2/models/breast-cancer/config', { key: null });
    expect(anonymous.status).toBe(401);
    const unknown = await server.call('GET', '/v2/models/no-such-model/config');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/model "no-such-model" is not registered/);
  });

  it('serves ModelConfig over gRPC with the same configuration', async () => {
    for (const version of ['', '1']) {
      const { config } = await unaryCall(client, 'ModelConfig', { name: 'breast-cancer', version });
      expect(config).toMatchObject({
        ...BREAST_CANCER_CONFIG,
        version_policy: { all: {}, policy_choice: 'all' },
        dynamic_batching: {
          ...BREAST_CANCER_CONFIG.dynamic_batching,
          max_queue_delay_microseconds: 0,
        },
        scheduling_choice: 'dynamic_batching',
      });
    }
    const err: ServiceError = await unaryCall(client, 'ModelConfig', { name: 'no-such-model' }).catch(
      (e) => e,
    );
    expect(err.code).toBe(status.NOT_FOUND);
    const anonymous: ServiceError = await unaryCall(
      client,
      'ModelConfig',
      { name: 'breast-cancer' },
      null,
    ).catch((e) => e);
    expect(anonymous.code).toBe(status.UNAUTHENTICATED);
  });

  it('serves ModelStatistics and RepositoryIndex over gRPC as HTTP answers them', async () => {
    const infer = await server.call('POST', '/v2/models/breast-cancer/infer', {
      body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: new Array(30).fill(1) }] },
    });
    expect(infer.status).toBe(200);

    const grpcStats = await unaryCall(client, 'ModelStatistics', { name: 'breast-cancer', version: '1' });
    const httpStats = await server.call('GET', '/v2/models/breast-cancer/versions/1/stats');
    expect(grpcStats.model_stats).toHaveLength(1);
    expect(grpcStats.model_stats[0]).toMatchObject(httpStats.body.model_stats[0]);
    expect(grpcStats.model_stats[0].inference_count).toBeGreaterThanOrEqual(1);

    const all = await unaryCall(client, 'ModelStatistics', {});
    expect(all.model_stats.map((s: any) => s.name)).toContain('breast-cancer');

    const grpcIndex = await unaryCall(client, 'RepositoryIndex', {});
    const httpIndex = await server.call('POST', '/v2/repository/index', { body: {} });
    expect(grpcIndex.models).toEqual(httpIndex.body);
    const ready = await unaryCall(client, 'RepositoryIndex', { ready: true });
    expect(ready.models.every((m: any) => m.state === 'READY')).toBe(true);
  });

  it("unloads and loads with the model name in field 2, as Triton's RepositoryModelLoad sends it", async () => {
    // Triton: repository_name = 1 (empty here, so not sent), model_name = 2.
    expect(await callRaw(client, 'RepositoryModelUnload', str(2, 'breast-cancer'))).toBeNull();
    expect(server.galen.models.isUnloaded('breast-cancer')).toBe(true);
    expect(
      await callRaw(
        client,
        'RepositoryModelLoad',
        Buffer.concat([str(1, 'models'), str(2, 'breast-cancer')]),
      ),
    ).toBeNull();
    expect(server.galen.models.isUnloaded('breast-cancer')).toBe(false);
    // KServe: model_name = 1.
    expect(await callRaw(client, 'RepositoryModelLoad', str(1, 'breast-cancer'))).toBeNull();
    const none = await callRaw(client, 'RepositoryModelLoad', Buffer.alloc(0));
    expect(none?.code).toBe(status.INVALID_ARGUMENT);
  });
});
